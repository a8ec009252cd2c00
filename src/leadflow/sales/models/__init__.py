"""The sales app's data, one module per concern; this package re-exports every model, so
callers import from ``leadflow.sales.models`` whichever module defines it."""

from leadflow.sales.models.email import (
    EmailTemplate,
    PersonalEmail,
    PersonalEmailStatus,
)
from leadflow.sales.models.first_touch import TOUCH_KINDS, FirstTouch, FirstTouchNotice
from leadflow.sales.models.followups import FollowUp, FollowUpKind
from leadflow.sales.models.routing import (
    TEAM_STRATEGIES,
    Assignment,
    AssignmentNotice,
    AssignmentRule,
    Escalation,
    Fallback,
    Strategy,
    Team,
    TeamMember,
    Trigger,
)
from leadflow.sales.models.snooze import LeadSnooze

__all__ = [
    "TEAM_STRATEGIES",
    "TOUCH_KINDS",
    "Assignment",
    "AssignmentNotice",
    "AssignmentRule",
    "EmailTemplate",
    "Escalation",
    "Fallback",
    "FirstTouch",
    "FirstTouchNotice",
    "FollowUp",
    "FollowUpKind",
    "LeadSnooze",
    "PersonalEmail",
    "PersonalEmailStatus",
    "Strategy",
    "Team",
    "TeamMember",
    "Trigger",
]
