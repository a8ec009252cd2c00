"""Engagement reads: the rules, and a contact's breakdown (which rules gave how many
points, and what decay left of them)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.scoring.engagement_sql import Decayed
from leadflow.scoring.models import EngagementRule, ScorePoint, ScoringProfile

DELETED_RULE = "A rule since deleted"


@dataclass
class BreakdownLine:
    rule_id: int
    rule_name: str
    count: int  # source rows that gave points
    points: int  # their points as given
    decayed: float  # what is left of them now
    last_at: dt.datetime | None = None


@dataclass
class Breakdown:
    total: float = 0.0  # the engagement score (decayed)
    points: int = 0  # the points as given, before decay
    half_life_days: int = 30
    lines: list[BreakdownLine] = field(default_factory=list)


def engagement_rules(workspace: Workspace) -> QuerySet[EngagementRule]:
    return EngagementRule.objects.filter(workspace=workspace).order_by("position", "id")


def engagement_breakdown(
    workspace: Workspace, contact_id: int, *, now: dt.datetime | None = None
) -> Breakdown:
    """The contact's points by rule, as given and after decay, largest first (by what is
    left now). The caller checks the contact is one the asker may see; another
    workspace's contact simply has no points here."""
    now = now or timezone.now()
    profile = ScoringProfile.objects.filter(workspace=workspace).first()
    half_life = profile.half_life_days if profile else 30
    rows = (
        ScorePoint.objects.filter(workspace_id=workspace.pk, contact_id=contact_id)
        .order_by()
        .values("rule_id")
        .annotate(
            count=Count("id"),
            given=Sum("points"),
            decayed=Sum(Decayed(now, half_life)),
            last_at=Max("occurred_at"),
        )
    )
    rows = list(rows)
    names = dict(
        EngagementRule.objects.filter(
            workspace=workspace, pk__in=[row["rule_id"] for row in rows]
        ).values_list("pk", "name")
    )
    lines = [
        BreakdownLine(
            rule_id=row["rule_id"],
            rule_name=names.get(row["rule_id"], DELETED_RULE),
            count=row["count"],
            points=row["given"],
            decayed=round(row["decayed"], 2),
            last_at=row["last_at"],
        )
        for row in rows
    ]
    lines.sort(key=lambda line: (-abs(line.decayed), -abs(line.points), line.rule_id))
    return Breakdown(
        total=round(sum(row["decayed"] for row in rows), 2),
        points=sum(line.points for line in lines),
        half_life_days=half_life,
        lines=lines,
    )


def engagement_rule_get(workspace: Workspace, rule_id: int) -> EngagementRule:
    rule = EngagementRule.objects.filter(workspace=workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound("No such engagement rule.")
    return rule
