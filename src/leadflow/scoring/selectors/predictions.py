"""Prediction reads: the workspace's trained models, and a contact's probability with the
factors behind it.

No scikit-learn here: the web reads stored rows only."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from leadflow.core.models import Workspace
from leadflow.scoring.models import ConversionModel, ModelStatus, Prediction


@dataclass
class PredictionView:
    probability: float  # 0..1
    family: str  # the model family's label, e.g. "Gradient boosting"
    low_data: bool  # the frequency model, for lack of outcomes
    model_version: int
    computed_at: dt.datetime
    # [{"text": "visited pricing 3 times in the last 7 days", "effect": 0.12}], strongest first
    factors: list[dict] = field(default_factory=list)


FAMILY_LABELS = {
    "frequency": "Smoothed frequency model (naive Bayes)",
    "logistic": "Regularised logistic regression",
    "boosting": "Histogram gradient boosting",
}


def family_label(model: ConversionModel) -> str:
    """The words for a model's family (stored with its metrics, else the known names)."""
    stored = (model.metrics or {}).get("family_label")
    return stored or FAMILY_LABELS.get(model.family, model.family)


def conversion_models(workspace: Workspace) -> QuerySet[ConversionModel]:
    """The workspace's model versions, newest first, without their (large) artifacts."""
    return (
        ConversionModel.objects.filter(workspace=workspace).defer("artifact").order_by("-version")
    )


def conversion_model(workspace: Workspace, model_id: int) -> ConversionModel | None:
    """One version of the workspace's models (another workspace's id finds nothing)."""
    return conversion_models(workspace).filter(pk=model_id).first()


def active_model(workspace: Workspace) -> ConversionModel | None:
    return conversion_models(workspace).filter(status=ModelStatus.ACTIVE).first()


def prediction_for(workspace: Workspace, contact_id: int) -> PredictionView | None:
    """The contact's latest prediction, or None (no model yet, or not scored yet)."""
    prediction = Prediction.objects.filter(workspace_id=workspace.pk, contact_id=contact_id).first()
    if prediction is None:
        return None
    model = conversion_models(workspace).filter(pk=prediction.model_id).first()
    if model is None:
        return None
    return PredictionView(
        probability=prediction.probability,
        family=family_label(model),
        low_data=model.low_data,
        model_version=model.version,
        computed_at=prediction.computed_at,
        factors=list(prediction.factors or []),
    )
