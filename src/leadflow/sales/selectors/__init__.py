"""Sales reads, one module per concern; this package re-exports their public names, so callers
import from ``leadflow.sales.selectors`` whichever module a selector lives in."""

from leadflow.sales.selectors.email import (
    EmailPreview,
    contact_emails,
    custom_field_keys,
    email_merge,
    email_template_get,
    email_template_list,
    merge_field_choices,
    personal_email_preview,
    recipient_errors,
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
    "OPEN_STAGES",
    "EmailPreview",
    "assigned_today",
    "contact_assignments",
    "contact_emails",
    "custom_field_keys",
    "email_merge",
    "email_template_get",
    "email_template_list",
    "merge_field_choices",
    "open_leads_by_owner",
    "personal_email_preview",
    "recipient_errors",
    "rule_condition",
    "rule_get",
    "rule_list",
    "rules_matching",
    "team_get",
    "team_list",
    "team_member_get",
    "team_members_eligible",
]
