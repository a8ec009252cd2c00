"""Follow-ups, calls and meetings: the writes.

Guarantees:

- Every write is one transaction that locks the contact (``contact_for_write``: the actor
  must be able to see it) and writes its timeline activity (``followup.*``,
  ``call.logged``, ``meeting.logged``); a call or meeting that schedules the next follow-up
  writes both or neither.
- A follow-up's assignee is a member who may own leads and can see the contact (a sales
  member limited to own leads only gets follow-ups on leads they may open).
- Times: ``due_at`` and ``reminder_at`` are read in the assignee's time zone when given
  without an offset (``"2026-03-29T10:00"``; ``sales.selectors.assignee_time_zone``), as
  given when they carry one; stored in UTC. A wall-clock time that does not exist on a
  spring-forward day is read with the offset before the change (02:30 becomes 03:30).
- The reminder (``reminder_at``, by default the due time) goes once
  (``sales.tasks.followup_reminders_send``); moving the due time or the reminder, or
  reopening, makes it due again.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.audience import users_who_see
from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record, contact_for_write
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.sales import selectors
from leadflow.sales.followup_kinds import (
    CALL_LOGGED,
    CALL_OUTCOMES,
    FOLLOWUP_CHANGED,
    FOLLOWUP_COMPLETED,
    FOLLOWUP_DELETED,
    FOLLOWUP_REOPENED,
    FOLLOWUP_SCHEDULED,
    MEETING_LOGGED,
    MEETING_OUTCOMES,
    followup_data,
    log_data,
)
from leadflow.sales.models import FollowUp, FollowUpKind

FOLLOWUP_FIELDS = ("assignee_id", "kind", "title", "notes", "due_at", "reminder_at")
TITLE_MAX = 200
NOTES_MAX = 10_000
MAX_DURATION_MINUTES = 24 * 60


def _moment(value: object, zone: ZoneInfo, field: str, errors: list[FieldError]):
    """An aware datetime from a datetime or ISO 8601 text; naive ones read in ``zone``."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            errors.append(FieldError(field, "A date and time such as 2026-03-29T10:00."))
            return None
    else:
        errors.append(FieldError(field, "A date and time such as 2026-03-29T10:00."))
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)  # fold=0: see the module's guarantees
    if (
        not dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        <= moment
        <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
    ):
        errors.append(FieldError(field, "Out of range."))
        return None
    return moment.astimezone(dt.UTC)


def followup_input_clean(
    *,
    workspace: Workspace,
    contact: Contact,
    data: Mapping[str, Any],
    actor: Actor,
    current: FollowUp | None = None,
) -> tuple[dict[str, Any], str]:
    """The follow-up's fields from untrusted ``data`` (a partial change when ``current`` is
    given), and the assignee's zone name; ValidationFailed naming every bad field (unknown
    ones too)."""
    errors = [FieldError(key, "Unknown field.") for key in data if key not in FOLLOWUP_FIELDS]
    clean: dict[str, Any] = {}
    if "assignee_id" in data or current is None:
        assignee_id = data.get("assignee_id", actor.user_id)
        if not is_member_id(workspace, assignee_id, permission=LEAD_OWNER_PERMISSION):
            errors.append(
                FieldError("assignee_id", "Not a member of this workspace who may own leads.")
            )
        elif not users_who_see(workspace, contact.pk, [assignee_id]):
            errors.append(FieldError("assignee_id", "This member cannot see this lead."))
        else:
            clean["assignee_id"] = assignee_id
    assignee_id = clean.get("assignee_id", current.assignee_id if current else None)
    zone, zone_name = selectors.assignee_time_zone(workspace, assignee_id)
    if "kind" in data or current is None:
        kind = data.get("kind", FollowUpKind.CALL)
        if kind not in FollowUpKind.values:
            errors.append(FieldError("kind", f"One of {', '.join(FollowUpKind.values)}."))
        else:
            clean["kind"] = kind
    if "title" in data or current is None:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            errors.append(FieldError("title", "A follow-up needs a title."))
        elif len(title.strip()) > TITLE_MAX:
            errors.append(FieldError("title", f"At most {TITLE_MAX} characters."))
        else:
            clean["title"] = title.strip()
    if "notes" in data:
        notes = data.get("notes") or ""
        if not isinstance(notes, str) or len(notes) > NOTES_MAX:
            errors.append(FieldError("notes", f"Text of at most {NOTES_MAX:,} characters."))
        else:
            clean["notes"] = notes.strip()
    if "due_at" in data or current is None:
        due = _moment(data.get("due_at"), zone, "due_at", errors)
        if due is not None:
            clean["due_at"] = due
    if data.get("reminder_at") not in (None, ""):
        reminder = _moment(data["reminder_at"], zone, "reminder_at", errors)
        if reminder is not None:
            clean["reminder_at"] = reminder
    elif "reminder_at" in data:
        clean["reminder_at"] = None  # back to the default: the due time
    if errors:
        raise ValidationFailed(errors)
    return clean, zone_name


def _followup_write(
    *,
    workspace: Workspace,
    contact: Contact,
    data: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime,
) -> FollowUp:
    """Create the follow-up on the locked contact and record ``followup.scheduled``."""
    clean, zone_name = followup_input_clean(
        workspace=workspace, contact=contact, data=data, actor=actor
    )
    reminder = clean.pop("reminder_at", None) or clean["due_at"]
    followup = FollowUp.objects.create(
        workspace=workspace,
        contact=contact,
        reminder_at=reminder,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        **clean,
    )
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=FOLLOWUP_SCHEDULED,
        actor=actor,
        data=followup_data(followup, zone_name),
        occurred_at=now,
    )
    return followup


@transaction.atomic
def followup_create(
    *,
    workspace: Workspace,
    contact_id: int,
    data: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime | None = None,
) -> FollowUp:
    """Schedule a follow-up on the contact (``data``: title, due_at, and optionally kind
    (default call), notes, assignee_id (default the actor), reminder_at (default due_at)).
    NotFound for a contact the actor cannot see; ValidationFailed naming each bad field."""
    contact = contact_for_write(workspace, contact_id, actor)
    return _followup_write(
        workspace=workspace, contact=contact, data=data, actor=actor, now=now or timezone.now()
    )


def _locked(workspace: Workspace, actor: Actor, followup_id: int) -> tuple[FollowUp, Contact]:
    """The follow-up the actor may see and its contact, both locked (contact first, as
    every contact write locks)."""
    followup = selectors.followup_get(workspace, actor, followup_id)
    contact = contact_for_write(workspace, followup.contact_id, actor)
    followup = FollowUp.objects.select_for_update().get(pk=followup.pk)
    return followup, contact


@transaction.atomic
def followup_update(
    *,
    workspace: Workspace,
    followup_id: int,
    data: Mapping[str, Any],
    actor: Actor,
    now: dt.datetime | None = None,
) -> FollowUp:
    """Change some of a follow-up's fields (as in ``followup_create``), recorded as
    ``followup.changed``. A reminder that followed the due time moves with it; a moved due
    time or reminder is reminded again."""
    followup, contact = _locked(workspace, actor, followup_id)
    clean, zone_name = followup_input_clean(
        workspace=workspace, contact=contact, data=data, actor=actor, current=followup
    )
    reminder_followed_due = followup.reminder_at == followup.due_at
    if "reminder_at" in clean and clean["reminder_at"] is None:
        clean["reminder_at"] = clean.get("due_at", followup.due_at)
    elif "due_at" in clean and "reminder_at" not in clean and reminder_followed_due:
        clean["reminder_at"] = clean["due_at"]
    moved = any(
        name in clean and clean[name] != getattr(followup, name)
        for name in ("due_at", "reminder_at")
    )
    for name, value in clean.items():
        setattr(followup, name, value)
    if moved:
        followup.reminded_at = None
    followup.updated_at = now or timezone.now()
    followup.save()
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=FOLLOWUP_CHANGED,
        actor=actor,
        data=followup_data(followup, zone_name),
    )
    return followup


@transaction.atomic
def followup_complete(
    *, workspace: Workspace, followup_id: int, actor: Actor, now: dt.datetime | None = None
) -> FollowUp:
    """Mark the follow-up done (by the actor, now) and record ``followup.completed``; one
    already done is left as it was (no second activity)."""
    followup, contact = _locked(workspace, actor, followup_id)
    if followup.done_at is not None:
        return followup
    now = now or timezone.now()
    followup.done_at, followup.done_by_id, followup.updated_at = now, actor.user_id, now
    followup.save(update_fields=["done_at", "done_by", "updated_at"])
    _, zone_name = selectors.assignee_time_zone(workspace, followup.assignee_id)
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=FOLLOWUP_COMPLETED,
        actor=actor,
        data=followup_data(followup, zone_name),
        occurred_at=now,
    )
    return followup


@transaction.atomic
def followup_reopen(
    *, workspace: Workspace, followup_id: int, actor: Actor, now: dt.datetime | None = None
) -> FollowUp:
    """Open a done follow-up again (``followup.reopened``); its reminder is due again when
    its time has not passed. One already open is left as it was."""
    followup, contact = _locked(workspace, actor, followup_id)
    if followup.done_at is None:
        return followup
    now = now or timezone.now()
    followup.done_at = followup.done_by = None
    followup.updated_at = now
    if followup.reminder_at and followup.reminder_at > now:
        followup.reminded_at = None
    followup.save(update_fields=["done_at", "done_by", "updated_at", "reminded_at"])
    _, zone_name = selectors.assignee_time_zone(workspace, followup.assignee_id)
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=FOLLOWUP_REOPENED,
        actor=actor,
        data=followup_data(followup, zone_name),
        occurred_at=now,
    )
    return followup


@transaction.atomic
def followup_delete(*, workspace: Workspace, followup_id: int, actor: Actor) -> None:
    """Delete the follow-up; the timeline keeps ``followup.deleted`` with what it was."""
    followup, contact = _locked(workspace, actor, followup_id)
    _, zone_name = selectors.assignee_time_zone(workspace, followup.assignee_id)
    data = followup_data(followup, zone_name)
    followup.delete()
    activity_record(
        workspace=workspace, contact=contact, kind=FOLLOWUP_DELETED, actor=actor, data=data
    )


# --- calls and meetings -------------------------------------------------------------------------


def _log(
    *,
    kind: str,
    outcomes: Mapping[str, str],
    workspace: Workspace,
    contact_id: int,
    outcome: str,
    notes: str,
    duration_minutes: int | None,
    next_followup: Mapping[str, Any] | None,
    actor: Actor,
    now: dt.datetime | None,
):
    errors = []
    if outcome not in outcomes:
        errors.append(FieldError("outcome", f"One of {', '.join(outcomes)}."))
    if not isinstance(notes, str) or len(notes) > NOTES_MAX:
        errors.append(FieldError("notes", f"Text of at most {NOTES_MAX:,} characters."))
    if duration_minutes is not None and (
        isinstance(duration_minutes, bool)
        or not isinstance(duration_minutes, int)
        or not 0 <= duration_minutes <= MAX_DURATION_MINUTES
    ):
        errors.append(
            FieldError("duration_minutes", f"Whole minutes from 0 to {MAX_DURATION_MINUTES}.")
        )
    now = now or timezone.now()
    with transaction.atomic():
        contact = contact_for_write(workspace, contact_id, actor)
        followup = None
        if next_followup is not None:
            try:
                followup = _followup_write(
                    workspace=workspace, contact=contact, data=next_followup, actor=actor, now=now
                )
            except ValidationFailed as failure:
                errors += [
                    FieldError(f"next_followup.{error.field}", error.message)
                    for error in failure.errors
                ]
        if errors:
            raise ValidationFailed(errors)
        return activity_record(
            workspace=workspace,
            contact=contact,
            kind=kind,
            actor=actor,
            data=log_data(
                outcome=outcome,
                notes=notes.strip(),
                by=actor.user_id,
                duration_minutes=duration_minutes,
                followup_id=followup.pk if followup else None,
            ),
            occurred_at=now,
        )


def call_log(
    *,
    workspace: Workspace,
    contact_id: int,
    outcome: str,
    notes: str = "",
    duration_minutes: int | None = None,
    next_followup: Mapping[str, Any] | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
):
    """Record a call with the lead (``call.logged``; outcome connected, no_answer,
    left_voicemail or wrong_number) and, with ``next_followup`` (the fields of
    ``followup_create``), schedule the next follow-up in the same transaction. Bad fields
    of either are named together (the follow-up's as ``next_followup.<field>``) and
    nothing is written. Returns the activity."""
    return _log(
        kind=CALL_LOGGED,
        outcomes=CALL_OUTCOMES,
        workspace=workspace,
        contact_id=contact_id,
        outcome=outcome,
        notes=notes,
        duration_minutes=duration_minutes,
        next_followup=next_followup,
        actor=actor,
        now=now,
    )


def meeting_log(
    *,
    workspace: Workspace,
    contact_id: int,
    outcome: str,
    notes: str = "",
    duration_minutes: int | None = None,
    next_followup: Mapping[str, Any] | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
):
    """Record a meeting with the lead (``meeting.logged``; outcome held, no_show or
    rescheduled), with the next follow-up as in ``call_log``."""
    return _log(
        kind=MEETING_LOGGED,
        outcomes=MEETING_OUTCOMES,
        workspace=workspace,
        contact_id=contact_id,
        outcome=outcome,
        notes=notes,
        duration_minutes=duration_minutes,
        next_followup=next_followup,
        actor=actor,
        now=now,
    )
