"""The team queue's reads: which leads wait in a team's queue, which teams a member may
open the queue of and claim from. The workspace comes first; another workspace's ids find
nothing.

A lead waits in a team's queue when its latest assignment left it queued for that team and
it still has no owner. Team members see these leads in the queue even when they see only
their own leads elsewhere: the queue is where they pick them up (``lead_claim``)."""

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from leadflow.core.models import Membership, Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, roles_with
from leadflow.sales.models import Assignment, Team

QUEUE_ALL_TEAMS_PERMISSION = "manage_settings"  # owners and admins open every team's queue


def _latest() -> Exists:
    newer = Assignment.objects.filter(contact_id=OuterRef("contact_id"), pk__gt=OuterRef("pk"))
    return Exists(newer)


def team_queue(workspace: Workspace, team: Team) -> QuerySet[Assignment]:
    """The team's waiting leads as their queueing assignments, newest first, each with its
    contact (and company) and rule loaded."""
    return (
        Assignment.objects.filter(
            workspace=workspace, team=team, queued=True, contact__owner__isnull=True
        )
        .exclude(_latest())
        .select_related("contact", "contact__company", "rule")
        .order_by("-assigned_at", "-id")
    )


def contact_queued_in(workspace: Workspace, contact_id: int) -> Assignment | None:
    """The contact's latest assignment when it left the contact queued for a team, else
    None (never queued, or routed, claimed or reassigned since)."""
    latest = (
        Assignment.objects.filter(workspace=workspace, contact_id=contact_id)
        .select_related("team", "rule")
        .order_by("-assigned_at", "-id")
        .first()
    )
    return latest if latest is not None and latest.queued and latest.team_id else None


def _membership(workspace: Workspace, user_id: int | None) -> Membership | None:
    if user_id is None:
        return None
    return Membership.objects.filter(workspace=workspace, user_id=user_id).first()


def queue_teams(workspace: Workspace, user_id: int | None) -> QuerySet[Team]:
    """The teams whose queue this user may open and claim from: every team for an owner or
    admin, his own teams for anyone else who may own leads, none for others."""
    return membership_queue_teams(workspace, _membership(workspace, user_id))


def membership_queue_teams(workspace: Workspace, membership: Membership | None) -> QuerySet[Team]:
    """``queue_teams`` for a membership already loaded (no query until evaluated)."""
    user_id = membership.user_id if membership is not None else None
    teams = Team.objects.filter(workspace=workspace).order_by("name", "id")
    if (
        membership is None
        or membership.workspace_id != workspace.pk
        or membership.role not in roles_with(LEAD_OWNER_PERMISSION)
    ):
        return teams.none()
    if membership.can(QUEUE_ALL_TEAMS_PERMISSION):
        return teams
    return teams.filter(members__user_id=user_id)


def may_claim(workspace: Workspace, team: Team, user_id: int | None) -> bool:
    """Whether this user may claim the team's queued leads (``queue_teams``)."""
    return queue_teams(workspace, user_id).filter(pk=team.pk).exists()


def queue_counts(workspace: Workspace, teams: list[Team]) -> dict[int, int]:
    """How many leads wait in each of these teams' queues (one query)."""
    rows = (
        Assignment.objects.filter(
            workspace=workspace, team__in=teams, queued=True, contact__owner__isnull=True
        )
        .exclude(_latest())
        .order_by()
        .values_list("team_id")
        .annotate(n=Count("pk"))
    )
    counts = dict(rows.values_list("team_id", "n"))
    return {team.pk: counts.get(team.pk, 0) for team in teams}


def member_queue_counts(workspace: Workspace, membership: Membership) -> list[Team]:
    """The teams whose queue this member may open (``queue_teams``), each annotated with
    ``waiting``: how many leads wait in its queue (as ``queue_counts`` counts them). One
    query, whatever the number of teams."""
    waiting = (
        Assignment.objects.filter(
            workspace=workspace, team=OuterRef("pk"), queued=True, contact__owner__isnull=True
        )
        .exclude(_latest())
        .order_by()
        .values("team")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        membership_queue_teams(workspace, membership).annotate(
            waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)
        )
    )
