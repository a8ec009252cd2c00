"""Reads of lead scoring, workspace first; one module per concern, re-exported here."""

from leadflow.scoring.selectors.engagement import (
    Breakdown,
    BreakdownLine,
    engagement_breakdown,
    engagement_rule_get,
    engagement_rules,
)
from leadflow.scoring.selectors.fit import fit_matches, fit_rules
from leadflow.scoring.selectors.predictions import (
    PredictionView,
    conversion_models,
    prediction_for,
)

__all__ = [
    "Breakdown",
    "BreakdownLine",
    "PredictionView",
    "conversion_models",
    "engagement_breakdown",
    "engagement_rule_get",
    "engagement_rules",
    "fit_matches",
    "fit_rules",
    "prediction_for",
]
