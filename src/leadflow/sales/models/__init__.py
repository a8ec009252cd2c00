"""The sales app's data, one module per concern; this package re-exports every model, so
callers import from ``leadflow.sales.models`` whichever module defines it."""

from leadflow.sales.models.followups import FollowUp, FollowUpKind
from leadflow.sales.models.routing import (
    TEAM_STRATEGIES,
    Assignment,
    AssignmentNotice,
    AssignmentRule,
    Fallback,
    Strategy,
    Team,
    TeamMember,
    Trigger,
)

__all__ = [
    "TEAM_STRATEGIES",
    "Assignment",
    "AssignmentNotice",
    "AssignmentRule",
    "Fallback",
    "FollowUp",
    "FollowUpKind",
    "Strategy",
    "Team",
    "TeamMember",
    "Trigger",
]
