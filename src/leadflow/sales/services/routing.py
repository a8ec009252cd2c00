"""Routing: give a lead an owner by the workspace's assignment rules, or by hand.

Guarantees:

- Automatic routing (``lead_route``, ``leads_route``) never touches a contact that has an
  owner: the contact row is locked and its owner read under the lock.
- The first enabled rule (by position) whose conditions the contact matches decides; no
  match leaves the contact as it is, and nothing is recorded.
- Who is available: a team member not away, inside his working hours (in his time zone),
  under his daily capacity from this team (counted from the assignment rows since his local
  midnight), and still a workspace member who may own leads. Nobody: the rule's fallback
  (the team's queue, or the next member not away and under capacity, outside hours too).
- Race safety: one transaction per call locks its contacts (id order), then the teams it
  needs (id order), then reads the round-robin position, the running weights and today's
  counts and writes the assignment. Leads routed at once to one team therefore take turns
  in a strict order and never pass a cap, and the fixed lock order cannot deadlock.
- Every decision is an ``Assignment`` row and a ``contact.assigned`` / ``contact.queued``
  activity; the owner itself changes through contacts' ``contact_update`` (its
  ``owner.changed``), in the same transaction, and so does the new owner's in-app
  notification (none for whoever gave the lead to themselves); the email follows after the
  commit (``sales.tasks.assignment_notify``).
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import contacts_visible
from leadflow.contacts.services import activity_record, contact_update
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import NotificationKind, Workspace
from leadflow.core.notifications import notifications_create
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.tasks import task_schedule
from leadflow.sales import selectors
from leadflow.sales.kinds import CONTACT_ASSIGNED, CONTACT_QUEUED, assignment_data
from leadflow.sales.models import (
    Assignment,
    AssignmentRule,
    Fallback,
    Strategy,
    Team,
    TeamMember,
    Trigger,
)
from leadflow.sales.services.first_touch import first_touch_start
from leadflow.sales.services.give import NOTIFY_TASK, leads_give

MANUAL = "manual"


@dataclass(frozen=True)
class Choice:
    """A routing decision before it is recorded: the owner (None: left in ``team``'s queue,
    or unassigned without a team), the strategy that chose and why."""

    owner_id: int | None
    team: Team | None
    strategy: str
    reason: str


def lead_route(
    *,
    workspace: Workspace,
    contact_id: int,
    trigger: str,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Assignment | None:
    """Route one contact that has no owner (see the module's guarantees); returns the
    assignment made, or None (it has an owner, or no rule matches it). NotFound for a
    contact not in the workspace."""
    if not Contact.objects.filter(workspace=workspace, pk=contact_id).exists():
        raise NotFound("No such contact.")
    made = leads_route(workspace=workspace, triggers={contact_id: trigger}, actor=actor, now=now)
    return made[0] if made else None


def leads_route(
    *,
    workspace: Workspace,
    triggers: Mapping[int, str],
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> list[Assignment]:
    """Route these contacts (``{contact id: trigger}``) that have no owner, in one
    transaction, in contact id order; ids of other workspaces are ignored. ``actor`` is
    recorded as the one who routed (default: the system, named after the rule)."""
    if trigger_bad := set(triggers.values()) - set(Trigger.values):
        raise ValidationFailed([FieldError("trigger", f"Unknown trigger {sorted(trigger_bad)}.")])
    if not AssignmentRule.objects.filter(workspace=workspace, enabled=True).exists():
        return []
    now = now or timezone.now()
    with transaction.atomic():
        contacts = _contacts_lock(Contact.objects.filter(workspace=workspace), triggers)
        unowned = [contact for contact in contacts if contact.owner_id is None]
        if not unowned:
            return []
        matched = selectors.rules_matching(workspace, [contact.pk for contact in unowned])
        teams = _teams_lock(workspace, {rule.team_id for rule in matched.values() if rule})
        made = []
        for contact in unowned:
            rule = matched[contact.pk]
            if rule is None:
                continue
            choice = _rule_choose(workspace, rule, teams.get(rule.team_id), now)
            by = actor or Actor.system(f"routing rule {rule.name}"[:200])
            made.append(
                assignment_record(workspace, contact, choice, rule, triggers[contact.pk], by, now)
            )
        return made


def leads_reassign(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int],
    actor: Actor,
    owner_id: int | None = None,
    team_id: int | None = None,
    exclude_user_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> list[Assignment]:
    """Reassign contacts by hand, whoever owns them now: to ``owner_id`` (a member who may
    own leads), or shared round robin among ``team_id``'s available members (not away,
    under capacity; outside hours when nobody is in them; the team's queue when nobody is
    left, which clears the owner; ``exclude_user_ids`` are passed over). Only contacts the
    actor sees are touched; one already owned by the chosen owner is left as it is.
    Recorded like routing, with the person as actor and the trigger "manual"; to a person
    it is set-based (``leads_give``), to a team per contact (each takes the next turn)."""
    if (owner_id is None) == (team_id is None):
        raise ValidationFailed([FieldError("owner_id", "Choose a person or a team.")])
    if owner_id is not None and not is_member_id(
        workspace, owner_id, permission=LEAD_OWNER_PERMISSION
    ):
        raise ValidationFailed(
            [FieldError("owner_id", "Not a member of this workspace who may own leads.")]
        )
    if team_id is not None:
        try:
            selectors.team_get(workspace, team_id)
        except NotFound:
            raise ValidationFailed(
                [FieldError("team_id", "No such team in this workspace.")]
            ) from None
    now = now or timezone.now()
    if owner_id is not None:  # one person: set-based, however many leads
        visible = contacts_visible(workspace, actor).filter(pk__in=_ids(contact_ids))
        return leads_give(
            workspace=workspace,
            contact_ids=list(visible.values_list("pk", flat=True)),
            owner_id=owner_id,
            actor=actor,
            trigger=Trigger.MANUAL,
            reason="Reassigned by hand",
            strategy=Strategy.FIXED_PERSON,
            now=now,
        ).assignments
    wanted = dict.fromkeys(_ids(contact_ids), MANUAL)
    with transaction.atomic():
        contacts = _contacts_lock(contacts_visible(workspace, actor), wanted)
        if not contacts:
            return []
        teams = _teams_lock(workspace, {team_id})
        made = []
        for contact in contacts:
            choice = _team_choose(
                workspace,
                teams[team_id],
                Strategy.ROUND_ROBIN,
                Fallback.NEXT_MEMBER,
                now,
                exclude=set(exclude_user_ids),
            )
            made.append(
                assignment_record(workspace, contact, choice, None, Trigger.MANUAL, actor, now)
            )
        return made


def _ids(values: Iterable[object]) -> list[int]:
    """The usable contact ids among ``values`` (ints an id column can hold), in order."""
    return sorted(
        {
            value
            for value in values
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**63 - 1
        }
    )


# --- locking ------------------------------------------------------------------------------------


def _contacts_lock(queryset, contact_ids: Iterable[int]) -> list[Contact]:
    """The contacts, locked in id order (every routing locks contacts before teams)."""
    ids = _ids(contact_ids)
    return list(queryset.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))


def _teams_lock(workspace: Workspace, team_ids: set[int | None]) -> dict[int, Team]:
    """The teams, locked in id order: the round-robin position, the running weights and
    today's counts are read only under this lock."""
    ids = sorted(pk for pk in team_ids if pk is not None)
    if not ids:
        return {}
    locked = Team.objects.select_for_update().filter(workspace=workspace, pk__in=ids)
    return {team.pk: team for team in locked.order_by("pk")}


# --- choosing -----------------------------------------------------------------------------------


def _rule_choose(
    workspace: Workspace, rule: AssignmentRule, team: Team | None, now: dt.datetime
) -> Choice:
    if rule.strategy == Strategy.FIXED_PERSON:
        if is_member_id(workspace, rule.owner_id, permission=LEAD_OWNER_PERMISSION):
            return Choice(rule.owner_id, None, rule.strategy, "The rule's fixed person")
        return Choice(
            None, team, rule.strategy, "The rule's person may no longer own leads: left unassigned"
        )
    if team is None:  # a team strategy always has a team (rule_input_clean); a guard
        return Choice(None, None, rule.strategy, "The rule has no team: left unassigned")
    return _team_choose(workspace, team, rule.strategy, rule.fallback, now)


def _team_choose(
    workspace: Workspace,
    team: Team,
    strategy: str,
    fallback: str,
    now: dt.datetime,
    exclude: set[int] = frozenset(),
) -> Choice:
    """A member of the locked ``team`` (but the ``exclude``d users) by ``strategy``, then
    ``fallback`` when nobody is available; the queue when nobody is left."""
    members = [
        member
        for member in selectors.team_members_eligible(workspace, team)
        if member.user_id not in exclude
    ]
    picked = _pick(workspace, team, members, strategy, now, outside_hours=False)
    if picked is not None:
        member, why = picked
        return Choice(member.user_id, team, strategy, f"{why} in {team.name}")
    if fallback == Fallback.NEXT_MEMBER:
        picked = _pick(workspace, team, members, strategy, now, outside_hours=True)
        if picked is not None:
            member, why = picked
            return Choice(
                member.user_id,
                team,
                strategy,
                f"Nobody in {team.name} within working hours: {why.lower()}, outside hours",
            )
    return Choice(
        None, team, strategy, f"Nobody in {team.name} available: left in the team's queue"
    )


def _pick(
    workspace: Workspace,
    team: Team,
    members: list[TeamMember],
    strategy: str,
    now: dt.datetime,
    *,
    outside_hours: bool,
) -> tuple[TeamMember, str] | None:
    """The available member this strategy picks now and why, moving the team's round-robin
    position or running weights (under the team's lock); None when nobody is available."""
    today = selectors.assigned_today(team, members, now)
    available = [
        member
        for member in members
        if not member.is_away(now)
        and (outside_hours or member.is_working(now))
        and (member.daily_capacity is None or today[member.pk] < member.daily_capacity)
    ]
    if not available:
        return None
    if strategy == Strategy.WEIGHTED_ROUND_ROBIN:
        return _smooth_weighted(available), "Weighted turn"
    # Round robin order: the members after the last one who got a lead, then from the top.
    last = team.round_robin_last_id or 0
    turn = [m for m in available if m.pk > last] + [m for m in available if m.pk <= last]
    chosen, why = turn[0], "Next in turn"
    if strategy == Strategy.LEAST_LOADED:
        loads = selectors.open_leads_by_owner(workspace, [m.user_id for m in turn])
        chosen = min(turn, key=lambda member: loads[member.user_id])  # first in turn on ties
        why = f"Fewest open leads ({loads[chosen.user_id]})"
    team.round_robin_last = chosen
    team.save(update_fields=["round_robin_last"])
    return chosen, why


def _smooth_weighted(available: list[TeamMember]) -> TeamMember:
    """Smooth weighted round robin (as nginx balances upstreams): every available member's
    running weight grows by his weight, the highest is chosen and loses the total. Over any
    run, each gets leads in proportion to his weight, interleaved rather than in bursts."""
    total = sum(member.weight for member in available)
    for member in available:
        member.current_weight += member.weight
    chosen = max(available, key=lambda member: (member.current_weight, -member.pk))
    chosen.current_weight -= total
    TeamMember.objects.bulk_update(available, ["current_weight"])
    return chosen


# --- recording ----------------------------------------------------------------------------------


def assignment_record(
    workspace: Workspace,
    contact: Contact,
    choice: Choice,
    rule: AssignmentRule | None,
    trigger: str,
    actor: Actor,
    now: dt.datetime,
) -> Assignment:
    """Record one decision in the caller's transaction (the contact locked): the
    ``Assignment``, the owner change through ``contact_update``, the timeline's
    ``contact.assigned`` / ``contact.queued``, and the new owner's email after the commit."""
    assignment = Assignment.objects.create(
        workspace=workspace,
        contact=contact,
        owner_id=choice.owner_id,
        queued=choice.owner_id is None,
        team=choice.team,
        rule=rule,
        strategy=choice.strategy,
        reason=choice.reason[:300],
        trigger=trigger,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:200],
        assigned_at=now,
    )
    if choice.owner_id is not None:  # the new owner hears of it after the commit
        task_schedule(NOTIFY_TASK, assignment.pk)
    first_touch_start(assignment=assignment, contact=contact, rule=rule, trigger=trigger, now=now)
    if contact.owner_id != choice.owner_id:
        contact = contact_update(
            workspace=workspace,
            contact_id=contact.pk,
            data={"owner_id": choice.owner_id},
            actor=actor,
        )
    if choice.owner_id is not None and choice.owner_id != actor.user_id:
        # The new owner sees it in the app at once (the email follows after the commit).
        notifications_create(
            workspace=workspace,
            user_ids=[choice.owner_id],
            kind=NotificationKind.ASSIGNED,
            title=f"New lead for you: {contact}",
            body=assignment.reason,
            link=reverse(
                "contact_detail",
                kwargs={"workspace_slug": workspace.slug, "contact_id": contact.pk},
            ),
            contact_id=contact.pk,
        )
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=CONTACT_QUEUED if assignment.queued else CONTACT_ASSIGNED,
        actor=actor,
        data=assignment_data(
            assignment_id=assignment.pk,
            owner_id=choice.owner_id,
            team_id=choice.team.pk if choice.team else None,
            team=choice.team.name if choice.team else "",
            rule_id=rule.pk if rule else None,
            rule=rule.name if rule else "",
            strategy=choice.strategy,
            trigger=trigger,
            reason=assignment.reason,
        ),
        occurred_at=now,
    )
    return assignment
