"""Sales reads, one module per concern; this package re-exports their public names, so callers
import from ``leadflow.sales.selectors`` whichever module a selector lives in."""

from leadflow.sales.selectors.followups import (
    BUCKETS,
    FollowUpFilters,
    assignee_time_zone,
    contact_followups,
    contact_logs,
    day_bounds,
    followup_counts,
    followup_get,
    followup_list,
    followups_visible,
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
    "BUCKETS",
    "OPEN_STAGES",
    "FollowUpFilters",
    "assigned_today",
    "assignee_time_zone",
    "contact_assignments",
    "contact_followups",
    "contact_logs",
    "day_bounds",
    "followup_counts",
    "followup_get",
    "followup_list",
    "followups_visible",
    "open_leads_by_owner",
    "rule_condition",
    "rule_get",
    "rule_list",
    "rules_matching",
    "team_get",
    "team_list",
    "team_member_get",
    "team_members_eligible",
]
