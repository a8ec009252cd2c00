"""Sales writes: teams and members, assignment rules, the routing itself, follow-ups,
calls and meetings.

One module per concern; this package re-exports their public names, so callers import from
``leadflow.sales.services`` whichever module a service lives in.
"""

from leadflow.sales.services.followups import (
    call_log,
    followup_complete,
    followup_create,
    followup_delete,
    followup_input_clean,
    followup_reopen,
    followup_update,
    meeting_log,
)
from leadflow.sales.services.routing import Choice, lead_route, leads_reassign, leads_route
from leadflow.sales.services.rules import (
    assignment_rule_create,
    assignment_rule_delete,
    assignment_rule_update,
    rule_input_clean,
)
from leadflow.sales.services.teams import (
    member_settings_clean,
    team_create,
    team_delete,
    team_member_add,
    team_member_remove,
    team_member_update,
    team_rename,
)

__all__ = [
    "Choice",
    "assignment_rule_create",
    "assignment_rule_delete",
    "assignment_rule_update",
    "call_log",
    "followup_complete",
    "followup_create",
    "followup_delete",
    "followup_input_clean",
    "followup_reopen",
    "followup_update",
    "lead_route",
    "leads_reassign",
    "leads_route",
    "meeting_log",
    "member_settings_clean",
    "rule_input_clean",
    "team_create",
    "team_delete",
    "team_member_add",
    "team_member_remove",
    "team_member_update",
    "team_rename",
]
