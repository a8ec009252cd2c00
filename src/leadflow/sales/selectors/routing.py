"""Routing's reads: teams, rules, which rule a contact matches, open leads and today's
assignments per salesperson. The workspace comes first; an id from another workspace finds
nothing."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, roles_with
from leadflow.sales.hours import local_day_start, time_zone_get
from leadflow.sales.models import Assignment, AssignmentRule, Team, TeamMember

# A lead is "open" (counts towards a salesperson's load) from lead to opportunity.
OPEN_STAGES = (
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
)


def team_list(workspace: Workspace) -> QuerySet[Team]:
    """The workspace's teams by name, each with its members and their users loaded."""
    members = TeamMember.objects.select_related("user").order_by("id")
    return Team.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("members", queryset=members)
    )


def team_get(workspace: Workspace, team_id: object) -> Team:
    """The team, or NotFound (also for another workspace's team and for junk ids)."""
    team = Team.objects.filter(workspace=workspace, pk=team_id).first() if _is_id(team_id) else None
    if team is None:
        raise NotFound("No such team.")
    return team


def team_member_get(workspace: Workspace, team_member_id: object) -> TeamMember:
    member = (
        TeamMember.objects.select_related("team", "user")
        .filter(team__workspace=workspace, pk=team_member_id)
        .first()
        if _is_id(team_member_id)
        else None
    )
    if member is None:
        raise NotFound("No such team member.")
    return member


def team_members_eligible(workspace: Workspace, team: Team) -> list[TeamMember]:
    """The team's members who may own leads now (still members of the workspace, with a role
    that may write), in the team's order (when they joined it)."""
    return list(
        TeamMember.objects.filter(
            team=team,
            user__memberships__workspace=workspace,
            user__memberships__role__in=roles_with(LEAD_OWNER_PERMISSION),
        )
        .select_related("user")
        .order_by("id")
    )


def rule_list(workspace: Workspace) -> QuerySet[AssignmentRule]:
    """The workspace's rules in evaluation order, with their team and fixed person."""
    return AssignmentRule.objects.filter(workspace=workspace).select_related("team", "owner")


def rule_get(workspace: Workspace, rule_id: object) -> AssignmentRule:
    rule = rule_list(workspace).filter(pk=rule_id).first() if _is_id(rule_id) else None
    if rule is None:
        raise NotFound("No such assignment rule.")
    return rule


def rule_condition(workspace: Workspace, rule: AssignmentRule) -> Q | None:
    """The rule's ``Q`` on Contact: an empty tree matches everyone (``Q()``); a tree that no
    longer compiles (a custom field it names was deleted) gives None: it matches nobody
    until it is fixed."""
    if not rule.conditions:
        return Q()
    try:
        return conditions_compile(
            tree_from_json(rule.conditions), ConditionContext(workspace=workspace)
        )
    except ValidationFailed:
        return None


def rules_matching(
    workspace: Workspace, contact_ids: Iterable[int]
) -> dict[int, AssignmentRule | None]:
    """For each contact, the first enabled rule (by position) it matches, or None: one query
    for all of them, each rule's tree evaluated on every contact's row."""
    ids = sorted(set(contact_ids))
    rules = [rule for rule in rule_list(workspace) if rule.enabled]
    flags = {}
    for rule in rules:
        condition = rule_condition(workspace, rule)
        if condition is None:
            continue
        flags[f"rule_{rule.pk}"] = (
            Value(True)
            if not condition
            else Case(When(condition, then=Value(True)), default=Value(False))
        )
    found: dict[int, AssignmentRule | None] = dict.fromkeys(ids)
    if not flags or not ids:
        return found
    rows = (
        Contact.objects.filter(workspace=workspace, pk__in=ids)
        .annotate(**flags)
        .values("pk", *flags)
    )
    for row in rows:
        found[row["pk"]] = next((rule for rule in rules if row.get(f"rule_{rule.pk}")), None)
    return found


def open_leads_by_owner(workspace: Workspace, user_ids: Iterable[int]) -> dict[int, int]:
    """How many open leads (``OPEN_STAGES``) each of these users owns (0 for none)."""
    ids = list(user_ids)
    counts = dict(
        Contact.objects.filter(
            workspace=workspace, owner_id__in=ids, lifecycle_stage__in=OPEN_STAGES
        )
        .order_by()
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    return {user_id: counts.get(user_id, 0) for user_id in ids}


def assigned_today(team: Team, members: Iterable[TeamMember], now: dt.datetime) -> dict[int, int]:
    """For each member (by member id): how many leads this team gave him since his local
    midnight, counted from the assignment rows (one query). Read under the team's lock,
    it includes every committed assignment and this transaction's own."""
    members = list(members)
    if not members:
        return {}
    counts = {
        f"m{member.pk}": Count(
            "pk",
            filter=Q(
                owner_id=member.user_id,
                assigned_at__gte=local_day_start(time_zone_get(member.time_zone) or dt.UTC, now),
            ),
        )
        for member in members
    }
    row = Assignment.objects.filter(team=team, queued=False).aggregate(**counts)
    return {member.pk: row[f"m{member.pk}"] for member in members}


def contact_assignments(workspace: Workspace, contact_id: int) -> QuerySet[Assignment]:
    """A contact's assignments, newest first, with owner, team and rule loaded."""
    return (
        Assignment.objects.filter(workspace=workspace, contact_id=contact_id)
        .select_related("owner", "team", "rule")
        .order_by("-assigned_at", "-id")
    )


def assignments_loaded(workspace: Workspace, assignment_ids: list[int]) -> list[Assignment]:
    """These assignments of the workspace (in the order given), with owner, team and rule."""
    found = Assignment.objects.filter(workspace=workspace, pk__in=assignment_ids).select_related(
        "owner", "team", "rule"
    )
    by_id = {assignment.pk: assignment for assignment in found}
    return [by_id[pk] for pk in assignment_ids if pk in by_id]


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**63 - 1
