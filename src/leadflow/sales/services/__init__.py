"""Sales writes: teams and members, assignment rules, the routing itself, one-to-one email
(templates, sending), follow-ups, calls and meetings.

One module per concern; this package re-exports their public names, so callers import from
``leadflow.sales.services`` whichever module a service lives in.
"""

from leadflow.sales.services.email import (
    SendResult,
    email_template_create,
    email_template_delete,
    email_template_update,
    personal_email_send,
)
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
from leadflow.sales.services.give import Given, leads_give
from leadflow.sales.services.my_leads import (
    lead_disqualify,
    lead_hand_back,
    lead_snooze,
    lead_unsnooze,
)
from leadflow.sales.services.queue import lead_claim, member_leads_release
from leadflow.sales.services.routing import Choice, lead_route, leads_reassign, leads_route
from leadflow.sales.services.rules import (
    assignment_rule_create,
    assignment_rule_delete,
    assignment_rule_move,
    assignment_rule_update,
    assignment_rules_reorder,
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
    "Given",
    "SendResult",
    "assignment_rule_create",
    "assignment_rule_delete",
    "assignment_rule_move",
    "assignment_rule_update",
    "assignment_rules_reorder",
    "call_log",
    "email_template_create",
    "email_template_delete",
    "email_template_update",
    "followup_complete",
    "followup_create",
    "followup_delete",
    "followup_input_clean",
    "followup_reopen",
    "followup_update",
    "lead_claim",
    "lead_disqualify",
    "lead_hand_back",
    "lead_route",
    "lead_snooze",
    "lead_unsnooze",
    "leads_give",
    "leads_reassign",
    "leads_route",
    "meeting_log",
    "member_leads_release",
    "member_settings_clean",
    "personal_email_send",
    "rule_input_clean",
    "team_create",
    "team_delete",
    "team_member_add",
    "team_member_remove",
    "team_member_update",
    "team_rename",
]
