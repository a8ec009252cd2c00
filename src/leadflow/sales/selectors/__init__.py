"""Sales reads, one module per concern; this package re-exports their public names, so callers
import from ``leadflow.sales.selectors`` whichever module a selector lives in."""

from leadflow.sales.selectors.first_touch import (
    GROUPS,
    SpeedReport,
    SpeedRow,
    contact_first_touch,
    percentile,
    speed_to_lead_report,
)
from leadflow.sales.selectors.routing import (
    OPEN_STAGES,
    assigned_today,
    contact_assignments,
    open_leads_by_owner,
    rule_condition,
    rule_get,
    rule_list,
    rules_matching,
    team_get,
    team_list,
    team_member_get,
    team_members_eligible,
)

__all__ = [
    "GROUPS",
    "OPEN_STAGES",
    "SpeedReport",
    "SpeedRow",
    "assigned_today",
    "contact_assignments",
    "contact_first_touch",
    "open_leads_by_owner",
    "percentile",
    "rule_condition",
    "rule_get",
    "rule_list",
    "rules_matching",
    "speed_to_lead_report",
    "team_get",
    "team_list",
    "team_member_get",
    "team_members_eligible",
]
