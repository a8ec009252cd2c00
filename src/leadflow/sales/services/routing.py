"""Routing: give a lead an owner by the workspace's assignment rules, or by hand.

Guarantees:

- Automatic routing (``lead_route``, ``leads_route``) never touches a contact that has an
  owner: the contact row is locked and its owner read under the lock.
- The first enabled rule (by position) whose conditions the contact matches decides; no
  match leaves the contact as it is, and nothing is recorded. The account-owner strategy
  gives the lead to its company's account owner (a member who may own leads, whatever his
  availability, as a fixed person), else shares it in the rule's team, if it has one.
- Who is available: a team member not away, inside his working hours (in his time zone),
  under his daily capacity from this team (counted from the assignment rows since his local
  midnight), and still a workspace member who may own leads. Nobody: the rule's fallback
  (the team's queue, or the next member not away and under capacity, outside hours too).
- Race safety: one transaction per call locks its contacts (id order), then the teams it
  needs (id order), then reads the round-robin position, the running weights and today's
  counts (once per team and call, then kept in memory as it gives leads) and writes the
  assignments. Leads routed at once to one team therefore take turns in a strict order and
  never pass a cap, and the fixed lock order cannot deadlock.
- Every decision is an ``Assignment`` row, an ``owner.changed`` activity when the owner
  changes and a ``contact.assigned`` / ``contact.queued`` activity, all written set-based
  in the same transaction (``assignments_record``: a batch of leads costs about the same
  queries as one), with the new owners' in-app notifications (none for whoever gave the
  lead to themselves) and the first-touch clocks; one task emails the new owners after
  the commit (``sales.tasks.assignments_notify``).
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.kind_writers import owner_changed_data
from leadflow.contacts.models import Activity, ActivityKind, Company, Contact
from leadflow.contacts.selectors import contacts_visible
from leadflow.contacts.services import activities_record_many, actor_columns
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import NotificationKind, Workspace
from leadflow.core.notifications import NotificationDraft, notifications_write
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
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
from leadflow.sales.services.first_touch import first_touches_start
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
    exclude_user_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> list[Assignment]:
    """Route these contacts (``{contact id: trigger}``) that have no owner, in one
    transaction, in contact id order; ids of other workspaces are ignored. ``actor`` is
    recorded as the one who routed (default: the system, named after the rule). A team
    strategy passes over ``exclude_user_ids`` (a lead handed back does not go straight back
    to whoever handed it back)."""
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
        teams = _Teams(
            workspace, _teams_lock(workspace, {r.team_id for r in matched.values() if r}), now
        )
        teams.company_ids = {contact.company_id for contact in unowned if contact.company_id}
        decisions = []
        for contact in unowned:
            rule = matched[contact.pk]
            if rule is None:
                continue
            choice = _rule_choose(
                workspace, rule, teams, now, exclude=set(exclude_user_ids), contact=contact
            )
            by = actor or Actor.system(f"routing rule {rule.name}"[:200])
            decisions.append(Decision(contact, choice, rule, triggers[contact.pk], by))
        teams.save()
        return assignments_record(workspace, decisions, now)


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
        teams = _Teams(workspace, _teams_lock(workspace, {team_id}), now)
        decisions = []
        for contact in contacts:
            choice = _team_choose(
                teams,
                teams.teams[team_id],
                Strategy.ROUND_ROBIN,
                Fallback.NEXT_MEMBER,
                now,
                exclude=set(exclude_user_ids),
            )
            decisions.append(Decision(contact, choice, None, Trigger.MANUAL, actor))
        teams.save()
        return assignments_record(workspace, decisions, now)


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


class _Teams:
    """The locked teams of one call and what choosing reads about them: each team's
    eligible members and their counts since local midnight, and the members' open leads
    (least loaded), each read once, then kept current in memory as leads are given; the
    round-robin positions and running weights are written back once (``save``)."""

    def __init__(self, workspace: Workspace, teams: dict[int, Team], now: dt.datetime) -> None:
        self.workspace, self.teams, self.now = workspace, teams, now
        self._members: dict[int, list[TeamMember]] = {}
        self._today: dict[int, dict[int, int]] = {}
        self._loads: dict[int, int] = {}
        self._moved: set[int] = set()
        self._weighted: dict[int, TeamMember] = {}
        self._fixed: dict[int, bool] = {}
        self._companies: dict[int, int | None] | None = None
        self.company_ids: set[int] = set()

    def get(self, team_id: int | None) -> Team | None:
        return self.teams.get(team_id) if team_id is not None else None

    def members(self, team: Team) -> list[TeamMember]:
        if team.pk not in self._members:
            members = list(selectors.team_members_eligible(self.workspace, team))
            self._members[team.pk] = members
            self._today[team.pk] = dict(selectors.assigned_today(team, members, self.now))
        return self._members[team.pk]

    def today(self, team: Team) -> dict[int, int]:
        return self._today[team.pk]

    def loads(self, user_ids: list[int]) -> dict[int, int]:
        missing = [user_id for user_id in user_ids if user_id not in self._loads]
        if missing:
            self._loads.update(selectors.open_leads_by_owner(self.workspace, missing))
        return self._loads

    def account_owner(self, contact: Contact | None) -> int | None:
        """The account owner of the contact's company, when a member who may own leads
        (the companies of the call read in one query, on first need)."""
        if contact is None or contact.company_id is None:
            return None
        if self._companies is None:
            self._companies = dict(
                Company.objects.filter(
                    workspace=self.workspace, pk__in=self.company_ids
                ).values_list("pk", "owner_id")
            )
        owner_id = self._companies.get(contact.company_id)
        return owner_id if owner_id is not None and self.may_own(owner_id) else None

    def may_own(self, user_id: int | None) -> bool:
        if user_id not in self._fixed:
            self._fixed[user_id] = is_member_id(
                self.workspace, user_id, permission=LEAD_OWNER_PERMISSION
            )
        return self._fixed[user_id]

    def given(self, team: Team, member: TeamMember, *, moved: bool, weighted: list) -> None:
        self._today[team.pk][member.pk] = self._today[team.pk].get(member.pk, 0) + 1
        if member.user_id in self._loads:
            self._loads[member.user_id] += 1
        if moved:
            team.round_robin_last = member
            self._moved.add(team.pk)
        for changed in weighted:
            self._weighted[changed.pk] = changed

    def save(self) -> None:
        moved = [self.teams[pk] for pk in sorted(self._moved)]
        if moved:
            Team.objects.bulk_update(moved, ["round_robin_last"])
        if self._weighted:
            TeamMember.objects.bulk_update(list(self._weighted.values()), ["current_weight"])


def _rule_choose(
    workspace: Workspace,
    rule: AssignmentRule,
    teams: _Teams,
    now: dt.datetime,
    exclude: set[int] = frozenset(),
    contact: Contact | None = None,
) -> Choice:
    team = teams.get(rule.team_id)
    if rule.strategy == Strategy.FIXED_PERSON:
        if teams.may_own(rule.owner_id):
            return Choice(rule.owner_id, None, rule.strategy, "The rule's fixed person")
        return Choice(
            None, team, rule.strategy, "The rule's person may no longer own leads: left unassigned"
        )
    if rule.strategy == Strategy.ACCOUNT_OWNER:
        account_owner = teams.account_owner(contact)
        if account_owner is not None and account_owner not in exclude:
            return Choice(account_owner, None, rule.strategy, "The account owner of its company")
        if team is None:
            return Choice(
                None, None, rule.strategy, "No account owner who may own leads: left unassigned"
            )
        # No account owner: the rule's team shares it in turn.
        return _team_choose(teams, team, Strategy.ROUND_ROBIN, rule.fallback, now, exclude=exclude)
    if team is None:  # a team strategy always has a team (rule_input_clean); a guard
        return Choice(None, None, rule.strategy, "The rule has no team: left unassigned")
    return _team_choose(teams, team, rule.strategy, rule.fallback, now, exclude=exclude)


def _team_choose(
    teams: _Teams,
    team: Team,
    strategy: str,
    fallback: str,
    now: dt.datetime,
    exclude: set[int] = frozenset(),
) -> Choice:
    """A member of the locked ``team`` (but the ``exclude``d users) by ``strategy``, then
    ``fallback`` when nobody is available; the queue when nobody is left."""
    members = [member for member in teams.members(team) if member.user_id not in exclude]
    picked = _pick(teams, team, members, strategy, now, outside_hours=False)
    if picked is not None:
        member, why = picked
        return Choice(member.user_id, team, strategy, f"{why} in {team.name}")
    if fallback == Fallback.NEXT_MEMBER:
        picked = _pick(teams, team, members, strategy, now, outside_hours=True)
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
    teams: _Teams,
    team: Team,
    members: list[TeamMember],
    strategy: str,
    now: dt.datetime,
    *,
    outside_hours: bool,
) -> tuple[TeamMember, str] | None:
    """The available member this strategy picks now and why, moving the team's round-robin
    position or running weights (under the team's lock); None when nobody is available."""
    today = teams.today(team)
    available = [
        member
        for member in members
        if not member.is_away(now)
        and (outside_hours or member.is_working(now))
        and (member.daily_capacity is None or today.get(member.pk, 0) < member.daily_capacity)
    ]
    if not available:
        return None
    if strategy == Strategy.WEIGHTED_ROUND_ROBIN:
        chosen = _smooth_weighted(available)
        teams.given(team, chosen, moved=False, weighted=available)
        return chosen, "Weighted turn"
    # Round robin order: the members after the last one who got a lead, then from the top.
    last = team.round_robin_last_id or 0
    turn = [m for m in available if m.pk > last] + [m for m in available if m.pk <= last]
    chosen, why = turn[0], "Next in turn"
    if strategy == Strategy.LEAST_LOADED:
        loads = teams.loads([m.user_id for m in turn])
        chosen = min(turn, key=lambda member: loads[member.user_id])  # first in turn on ties
        why = f"Fewest open leads ({loads[chosen.user_id]})"
    teams.given(team, chosen, moved=True, weighted=[])
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
    return chosen


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One routing decision to record: the (locked) contact, the choice, the rule that
    chose (None: by hand), the trigger and who acted."""

    contact: Contact
    choice: Choice
    rule: AssignmentRule | None
    trigger: str
    actor: Actor


def assignment_record(
    workspace: Workspace,
    contact: Contact,
    choice: Choice,
    rule: AssignmentRule | None,
    trigger: str,
    actor: Actor,
    now: dt.datetime,
) -> Assignment:
    """Record one decision (``assignments_record`` of one)."""
    return assignments_record(workspace, [Decision(contact, choice, rule, trigger, actor)], now)[0]


def assignments_record(
    workspace: Workspace, decisions: list[Decision], now: dt.datetime
) -> list[Assignment]:
    """Record these decisions in the caller's transaction (their contacts locked),
    set-based: one INSERT of the ``Assignment`` rows, one UPDATE of the owners per new
    owner, one INSERT of the activities (``owner.changed`` where the owner changes, and
    ``contact.assigned`` / ``contact.queued``) announced once, one of the new owners' in-app
    notifications, the first-touch clocks, and one task that emails the new owners after
    the commit. Returns the assignments, in the decisions' order."""
    if not decisions:
        return []
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                workspace=workspace,
                contact=decision.contact,
                owner_id=decision.choice.owner_id,
                queued=decision.choice.owner_id is None,
                team=decision.choice.team,
                rule=decision.rule,
                strategy=decision.choice.strategy,
                reason=decision.choice.reason[:300],
                trigger=decision.trigger,
                actor_user_id=decision.actor.user_id,
                actor_label=decision.actor.label[:200],
                assigned_at=now,
            )
            for decision in decisions
        ]
    )
    new_owners: dict[int | None, list[int]] = {}
    activities, drafts = [], []
    for decision, assignment in zip(decisions, assignments, strict=True):
        contact, choice, actor = decision.contact, decision.choice, decision.actor
        by = {
            "workspace": workspace,
            "contact_id": contact.pk,
            "occurred_at": now,
            **actor_columns(actor),
        }
        if contact.owner_id != choice.owner_id:
            new_owners.setdefault(choice.owner_id, []).append(contact.pk)
            activities.append(
                Activity(
                    kind=ActivityKind.OWNER_CHANGED,
                    data=owner_changed_data(before=contact.owner_id, after=choice.owner_id),
                    **by,
                )
            )
            contact.owner_id = choice.owner_id
        activities.append(
            Activity(
                kind=CONTACT_QUEUED if assignment.queued else CONTACT_ASSIGNED,
                data=assignment_data(
                    assignment_id=assignment.pk,
                    owner_id=choice.owner_id,
                    team_id=choice.team.pk if choice.team else None,
                    team=choice.team.name if choice.team else "",
                    rule_id=decision.rule.pk if decision.rule else None,
                    rule=decision.rule.name if decision.rule else "",
                    strategy=choice.strategy,
                    trigger=decision.trigger,
                    reason=assignment.reason,
                ),
                **by,
            )
        )
        if choice.owner_id is not None and choice.owner_id != actor.user_id:
            # The new owner sees it in the app at once (the email follows after the commit).
            drafts.append(
                NotificationDraft(
                    user_id=choice.owner_id,
                    kind=NotificationKind.ASSIGNED,
                    title=f"New lead for you: {contact}",
                    body=assignment.reason,
                    link=reverse(
                        "contact_detail",
                        kwargs={"workspace_slug": workspace.slug, "contact_id": contact.pk},
                    ),
                    contact_id=contact.pk,
                )
            )
    for owner_id, contact_ids in new_owners.items():
        Contact.objects.filter(pk__in=contact_ids).update(owner_id=owner_id, updated_at=now)
    activities_record_many(activities)
    notifications_write(workspace=workspace, drafts=drafts)
    told = [assignment.pk for assignment in assignments if assignment.owner_id is not None]
    if told:  # the new owners hear of it after the commit
        task_schedule(NOTIFY_TASK, told)
    first_touches_start(
        [
            (assignment, decision.contact, decision.rule, decision.trigger)
            for decision, assignment in zip(decisions, assignments, strict=True)
        ],
        now,
    )
    if new_owners:
        audit_record(
            workspace=workspace,
            actor=decisions[0].actor,
            action="sales.leads_routed",
            changes={
                "owners": {
                    str(owner_id): ids for owner_id, ids in sorted(new_owners.items(), key=str)
                }
            },
        )
    return assignments
