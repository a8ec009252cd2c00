"""Prediction reads: the workspace's trained models, and a contact's probability with the
factors behind it.

(Interface; filled in by the training work.)"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from leadflow.core.models import Workspace
from leadflow.scoring.models import ConversionModel


@dataclass
class PredictionView:
    probability: float  # 0..1
    family: str  # the model family's label, e.g. "Gradient boosting"
    low_data: bool  # the frequency model, for lack of outcomes
    model_version: int
    computed_at: dt.datetime
    # [{"text": "visited pricing 3 times in the last 7 days", "effect": 0.12}], strongest first
    factors: list[dict] = field(default_factory=list)


def conversion_models(workspace: Workspace) -> QuerySet[ConversionModel]:
    return ConversionModel.objects.filter(workspace=workspace).order_by("-version")


def prediction_for(workspace: Workspace, contact_id: int) -> PredictionView | None:
    """The contact's latest prediction, or None (no model yet, or not scored yet)."""
    return None
