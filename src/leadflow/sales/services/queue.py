"""The team queue's claim, giving many leads to one person at once, and what happens to a
member's leads when they leave the workspace.

Guarantees:

- ``lead_claim``: first claim wins. The contact row is locked and its owner read under the
  lock; a second claimer waits for the first to commit, then finds an owner and gets a
  ``Conflict`` (409 in the API, a message in the app). A claim is an ``Assignment`` (trigger
  ``claimed``) and a ``contact.assigned`` activity, as any routing.
- ``member_leads_release`` (a ``core.services.MEMBER_REMOVED_HOOKS`` hook, registered in
  ``SalesConfig.ready``): a departed member's open leads go to the successor chosen at the
  removal (set-based), or lose their owner and are routed again by the worker
  (``sales.tasks.leads_reroute``, by the rules, trigger ``owner_left``). The member leaves
  every team of the workspace. Why a hook and not a call from the removal page: core is the
  lowest layer and cannot import sales, and a hook runs on every path that removes a member
  (the app, the API, the CLI), in the removal's transaction, so a failure undoes both.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, PermissionDenied
from leadflow.core.models import Membership, Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.tasks import task_schedule
from leadflow.sales import selectors
from leadflow.sales.models import Assignment, Team, TeamMember, Trigger
from leadflow.sales.services.give import leads_give
from leadflow.sales.services.routing import Choice, assignment_record

CLAIM = "claim"
REROUTE_TASK = "leadflow.sales.tasks.leads_reroute"
REROUTE_CHUNK = 200


def lead_claim(
    *,
    workspace: Workspace,
    contact_id: int,
    user_id: int,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Assignment:
    """Give a lead waiting in a team's queue to ``user_id``, who must be a member of that
    team who may own leads, or an owner or admin of the workspace (PermissionDenied
    otherwise). NotFound for a contact not in the workspace; Conflict when it is not in a
    queue any more: someone claimed it first (it has an owner now) or it was routed."""
    now = now or timezone.now()
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .filter(workspace=workspace, pk=contact_id)
            .first()
        )
        if contact is None:
            raise NotFound("No such contact.")
        if contact.owner_id is not None:
            raise Conflict(
                "Someone claimed this lead first: it has an owner now.", code="already_claimed"
            )
        queued = selectors.contact_queued_in(workspace, contact.pk)
        if queued is None or queued.team is None:
            raise Conflict("This lead is not waiting in a team's queue.", code="not_queued")
        team = queued.team
        if not selectors.may_claim(workspace, team, user_id):
            raise PermissionDenied(f"Only members of {team.name} may claim its leads.")
        locked = Team.objects.select_for_update().get(pk=team.pk)  # capacity counts, as routing
        choice = Choice(user_id, locked, CLAIM, f"Claimed from {team.name}'s queue")
        # The claim itself is the permission: a salesperson who sees only own leads does not
        # see a queued lead before he owns it, so the owner change is not limited to those.
        by = Actor(user=actor.user, api_key=actor.api_key, label=actor.label)
        return assignment_record(workspace, contact, choice, queued.rule, Trigger.CLAIMED, by, now)


def member_leads_release(
    *, workspace: Workspace, user_id: int, successor_id: int | None, actor: Actor
) -> int:
    """A ``MEMBER_REMOVED_HOOKS`` hook: the departed member leaves every team of the
    workspace, and his open leads (``selectors.OPEN_STAGES``) go to ``successor_id``
    (set-based; the successor is not emailed once per lead) or, without one, lose their
    owner and are routed again after the commit (in chunks of ``REROUTE_CHUNK``; a lead
    no rule matches stays without owner). Returns how many leads moved. Safe inside the removal's
    transaction; a membership that still exists (a mistaken call) changes nothing."""
    if Membership.objects.filter(workspace=workspace, user_id=user_id).exists():
        return 0
    TeamMember.objects.filter(team__workspace=workspace, user_id=user_id).delete()
    ids = list(
        Contact.objects.filter(
            workspace=workspace, owner_id=user_id, lifecycle_stage__in=selectors.OPEN_STAGES
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    if successor_id is not None:
        if not is_member_id(workspace, successor_id, permission=LEAD_OWNER_PERMISSION):
            return 0  # core checked it; a guard for direct calls
        given = leads_give(
            workspace=workspace,
            contact_ids=ids,
            owner_id=successor_id,
            actor=actor,
            trigger=Trigger.OWNER_LEFT,
            reason="Their owner left the workspace: handed over",
        )  # told once in the app, and in one email listing the leads
        return len(given.contact_ids)
    released = leads_give(
        workspace=workspace,
        contact_ids=ids,
        owner_id=None,
        actor=actor,
        trigger=Trigger.OWNER_LEFT,
        reason="Their owner left the workspace",
    )
    ids = released.contact_ids
    for start in range(0, len(ids), REROUTE_CHUNK):
        task_schedule(REROUTE_TASK, workspace.pk, ids[start : start + REROUTE_CHUNK])
    return len(ids)
