"""Reads of lead scoring, workspace first; one module per concern, re-exported here."""

from leadflow.scoring.selectors.engagement import (
    Breakdown,
    BreakdownLine,
    engagement_breakdown,
    engagement_rule_get,
    engagement_rules,
)
from leadflow.scoring.selectors.fit import (
    FitSummary,
    conditions_count,
    fit_matches,
    fit_rules,
    fit_summary,
)
from leadflow.scoring.selectors.predictions import (
    PredictionView,
    conversion_models,
    prediction_for,
)

__all__ = [
    "Breakdown",
    "BreakdownLine",
    "FitSummary",
    "PredictionView",
    "conditions_count",
    "conversion_models",
    "engagement_breakdown",
    "engagement_rule_get",
    "engagement_rules",
    "fit_matches",
    "fit_rules",
    "fit_summary",
    "prediction_for",
]
