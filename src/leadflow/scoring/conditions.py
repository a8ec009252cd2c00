"""The fields scoring adds to contacts' condition language (docs/conditions.md): the
engagement score, the fit grade (ranked: ``at_least: "B"`` is A or B), the conversion
probability (in percent in the language: ``gte: 30`` is 30 %; the column holds 0..1),
the funnel section and the outcome. Temperature is contacts' own field. Each is a column
of the contact, so a condition on them needs no join."""

from typing import Any

from django.db.models import Q

from leadflow.contacts.conditions import (
    ConditionContext,
    ConditionField,
    column_compile,
    condition_field_register,
)
from leadflow.contacts.models import FIT_GRADES, FunnelSection, Outcome

# The column behind the probability, compiled as a number in 0..1.
_PROBABILITY_COLUMN = ConditionField(
    key="conversion_probability",
    type="number",
    column="conversion_probability",
    nullable=True,
)


def _percent_to_share(value: Any) -> Any:
    if isinstance(value, list):
        return [_percent_to_share(part) for part in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 100
    return value


def probability_compile(context: ConditionContext, operator: str, value: Any) -> Q:
    """A condition on the probability in percent, on the 0..1 column."""
    return column_compile(_PROBABILITY_COLUMN, context, operator, _percent_to_share(value))


SCORING_FIELDS = (
    ConditionField(
        key="engagement_score",
        type="number",
        label="Engagement score",
        column="engagement_score",
    ),
    ConditionField(
        key="fit_grade",
        type="ordered",
        label="Fit grade",
        column="fit_grade",
        blank_empty=True,
        # Lowest first: at_least / at_most follow this order (F is the lowest, A the best).
        choices=tuple(reversed(FIT_GRADES)),
    ),
    ConditionField(
        key="conversion_probability",
        type="number",
        label="Conversion probability (%)",
        compile=probability_compile,
    ),
    ConditionField(
        key="funnel_section",
        type="choice",
        label="Funnel section",
        column="funnel_section",
        blank_empty=True,
        choices=tuple(FunnelSection.values),
    ),
    ConditionField(
        key="outcome",
        type="choice",
        label="Outcome",
        column="outcome",
        blank_empty=True,
        choices=tuple(Outcome.values),
    ),
)


def register() -> None:
    """Register scoring's condition fields (from ScoringConfig.ready)."""
    condition_field_register(*SCORING_FIELDS)
