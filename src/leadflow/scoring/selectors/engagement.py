"""Engagement reads: the rules, and a contact's breakdown (which rules gave how many
points, and what decay left of them).

(Interface; filled in by the engagement work.)"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from leadflow.core.models import Workspace
from leadflow.scoring.models import EngagementRule


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
    """The contact's points by rule, as given and after decay, largest first."""
    return Breakdown()
