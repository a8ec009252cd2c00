"""Writes of lead scoring, one module per concern (engagement points, fit grades, the
lifecycle rules, training and predictions, the workspace's profile, and the pipeline that
runs them in order for some contacts or all); this package re-exports the public names."""

from leadflow.scoring.services.engagement import (
    engagement_profile_clean,
    engagement_profile_update,
    engagement_rule_clean,
    engagement_rule_create,
    engagement_rule_delete,
    engagement_rule_update,
    engagement_scores_write,
)
from leadflow.scoring.services.engagement_preview import Preview, engagement_preview
from leadflow.scoring.services.fit import (
    fit_grades_write,
    fit_rule_create,
    fit_rule_delete,
    fit_rule_update,
    fit_rules_default_install,
    rescore_schedule,
)
from leadflow.scoring.services.ledger import engagement_rebuild
from leadflow.scoring.services.lifecycle import (
    funnel_section_of,
    lifecycle_apply,
    mql_accept,
    mql_reject,
    temperature_of,
)
from leadflow.scoring.services.pipeline import contacts_rescore, workspace_rescore
from leadflow.scoring.services.profile import profile_get, profile_update
from leadflow.scoring.services.training import predictions_write

__all__ = [
    "Preview",
    "contacts_rescore",
    "engagement_preview",
    "engagement_profile_clean",
    "engagement_profile_update",
    "engagement_rebuild",
    "engagement_rule_clean",
    "engagement_rule_create",
    "engagement_rule_delete",
    "engagement_rule_update",
    "engagement_scores_write",
    "fit_grades_write",
    "fit_rule_create",
    "fit_rule_delete",
    "fit_rule_update",
    "fit_rules_default_install",
    "funnel_section_of",
    "lifecycle_apply",
    "mql_accept",
    "mql_reject",
    "predictions_write",
    "profile_get",
    "profile_update",
    "rescore_schedule",
    "temperature_of",
    "workspace_rescore",
]
