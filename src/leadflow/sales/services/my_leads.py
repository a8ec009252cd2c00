"""The salesperson's queue ("My leads"): snoozing a lead, giving it back to routing, and
disqualifying it. (Calls, emails, follow-ups, MQL accept / reject and the deal conversion
the queue offers are their own apps' services, called as they are.)

Guarantees:

- Every service checks that the actor may see the contact (``contacts_visible``: another
  workspace's id, or a lead a salesperson may not open, is NotFound) and writes its
  timeline row in the same transaction as its change.
- ``lead_snooze``: at most one snooze per (lead, member): a second one moves its time. A
  snoozed lead leaves that member's queue (``selectors.my_leads``) until ``until`` and
  comes back by itself then (the queue compares with the clock; nothing runs at ``until``).
- ``lead_hand_back``: the lead loses its owner (``leads_give``: ``owner.changed``), the
  reason goes on the timeline (``lead.handed_back``), and routing runs again at once in the
  same transaction with the trigger ``handed_back`` (``leads_route``): a rule may give it
  to someone else in its team (never straight back to whoever handed it back; a fixed-
  person rule names its person whoever that is), leave it in a team's queue, or, when no
  rule matches, leave it without owner. Snoozes of the lead end with its owner.
- ``lead_disqualify``: an open lead (``selectors.OPEN_STAGES``) moves to disqualified
  through contacts' ``contacts_stage_advance``, whose ``stage.changed`` carries the reason
  (and the contact's outcome becomes lost, as docs/lifecycle.md says).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.contacts.selectors import contacts_visible
from leadflow.contacts.services import activity_record, contacts_stage_advance
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.sales import selectors
from leadflow.sales.models import Assignment, LeadSnooze, Trigger
from leadflow.sales.queue_kinds import (
    LEAD_HANDED_BACK,
    LEAD_SNOOZED,
    LEAD_UNSNOOZED,
    hand_back_data,
    snooze_data,
)
from leadflow.sales.services.give import leads_give
from leadflow.sales.services.routing import leads_route

MAX_REASON = 500
MAX_SNOOZE = dt.timedelta(days=366)


def _contact_lock(workspace: Workspace, actor: Actor, contact_id: int) -> Contact:
    contact = (
        contacts_visible(workspace, actor)
        .select_for_update(of=("self",))
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def reason_clean(reason: object, *, what: str) -> str:
    """A required reason, spaces folded, at most ``MAX_REASON`` characters."""
    if not isinstance(reason, str) or "\x00" in reason:
        raise ValidationFailed([FieldError("reason", "Must be text.")])
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed([FieldError("reason", f"Say why the lead is {what}.")])
    if len(reason) > MAX_REASON:
        raise ValidationFailed([FieldError("reason", f"At most {MAX_REASON} characters.")])
    return reason


def _member_or_error(workspace: Workspace, user_id: object) -> int:
    if (
        isinstance(user_id, bool)
        or not isinstance(user_id, int)
        or not is_member_id(workspace, user_id, permission=LEAD_OWNER_PERMISSION)
    ):
        raise ValidationFailed(
            [FieldError("user_id", "Not a member of this workspace who may own leads.")]
        )
    return user_id


def lead_snooze(
    *,
    workspace: Workspace,
    contact_id: int,
    user_id: int,
    until: dt.datetime,
    actor: Actor,
    now: dt.datetime | None = None,
) -> LeadSnooze:
    """Hide the lead from ``user_id``'s queue until ``until`` (aware, in the future, within
    a year; ValidationFailed on ``until`` otherwise); replaces the member's earlier snooze
    of it. Writes ``lead.snoozed``."""
    now = now or timezone.now()
    if not isinstance(until, dt.datetime) or timezone.is_naive(until):
        raise ValidationFailed([FieldError("until", "A date and time with its time zone.")])
    with transaction.atomic():
        contact = _contact_lock(workspace, actor, contact_id)
        user_id = _member_or_error(workspace, user_id)
        if until <= now:
            raise ValidationFailed([FieldError("until", "Must be in the future.")])
        if until > now + MAX_SNOOZE:
            raise ValidationFailed([FieldError("until", "At most a year from now.")])
        snooze, _ = LeadSnooze.objects.update_or_create(
            contact=contact,
            user_id=user_id,
            defaults={"workspace": workspace, "until": until, "created_at": now},
        )
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=LEAD_SNOOZED,
            actor=actor,
            data=snooze_data(user_id=user_id, until=until),
            occurred_at=now,
        )
    return snooze


def lead_unsnooze(*, workspace: Workspace, contact_id: int, user_id: int, actor: Actor) -> bool:
    """Bring the lead back into ``user_id``'s queue now. True when a snooze still running
    ended (and ``lead.unsnoozed`` is written); False when there was none (nothing written:
    safe to repeat)."""
    now = timezone.now()
    with transaction.atomic():
        contact = _contact_lock(workspace, actor, contact_id)
        user_id = _member_or_error(workspace, user_id)
        running = LeadSnooze.objects.filter(contact=contact, user_id=user_id, until__gt=now)
        ended = bool(running.exists())
        LeadSnooze.objects.filter(contact=contact, user_id=user_id).delete()
        if ended:
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=LEAD_UNSNOOZED,
                actor=actor,
                data=snooze_data(user_id=user_id, until=None),
            )
    return ended


def lead_hand_back(
    *, workspace: Workspace, contact_id: int, reason: str, actor: Actor
) -> Assignment | None:
    """Give an owned lead back to routing (see the module's guarantees). Returns routing's
    new assignment (None: no rule matched, the lead stays without owner). Conflict when the
    lead has no owner; ValidationFailed on ``reason`` when it is empty."""
    reason = reason_clean(reason, what="handed back")
    with transaction.atomic():
        contact = _contact_lock(workspace, actor, contact_id)
        owner_id = contact.owner_id
        if owner_id is None:
            raise Conflict("This lead has no owner to hand it back.", code="no_owner")
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=LEAD_HANDED_BACK,
            actor=actor,
            data=hand_back_data(owner_id=owner_id, reason=reason),
        )
        leads_give(
            workspace=workspace,
            contact_ids=[contact.pk],
            owner_id=None,
            actor=actor,
            trigger=Trigger.HANDED_BACK,
            reason=reason,
        )
        LeadSnooze.objects.filter(contact=contact).delete()
        made = leads_route(
            workspace=workspace,
            triggers={contact.pk: Trigger.HANDED_BACK},
            actor=None,
            exclude_user_ids={owner_id},
        )
    return made[0] if made else None


def lead_disqualify(*, workspace: Workspace, contact_id: int, reason: str, actor: Actor) -> Contact:
    """Disqualify an open lead with a reason (see the module's guarantees). Conflict when
    the lead is not open (a customer, nurtured, already disqualified)."""
    reason = reason_clean(reason, what="disqualified")
    with transaction.atomic():
        contact = _contact_lock(workspace, actor, contact_id)
        moved = contacts_stage_advance(
            workspace=workspace,
            stage=LifecycleStage.DISQUALIFIED,
            from_stages=selectors.OPEN_STAGES,
            actor=actor,
            reason=reason,
            contact_ids=[contact.pk],
        )
        if not moved:
            raise Conflict("Only an open lead can be disqualified.", code="not_open")
        contact.refresh_from_db()
    return contact
