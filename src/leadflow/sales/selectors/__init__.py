"""Sales reads, one module per concern; this package re-exports their public names, so callers
import from ``leadflow.sales.selectors`` whichever module a selector lives in."""

from leadflow.sales.selectors.queue import (
    contact_queued_in,
    may_claim,
    queue_counts,
    queue_teams,
    team_queue,
)
from leadflow.sales.selectors.routing import (
    OPEN_STAGES,
    assigned_today,
    assignments_loaded,
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
    "OPEN_STAGES",
    "assigned_today",
    "assignments_loaded",
    "contact_assignments",
    "contact_queued_in",
    "may_claim",
    "open_leads_by_owner",
    "queue_counts",
    "queue_teams",
    "rule_condition",
    "rule_get",
    "rule_list",
    "rules_matching",
    "team_get",
    "team_list",
    "team_member_get",
    "team_members_eligible",
    "team_queue",
]
