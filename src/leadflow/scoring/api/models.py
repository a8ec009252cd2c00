"""REST endpoints of the conversion model: its versions with their metrics, training on
demand, and a contact's probability with the factors behind it. Reads stored rows only;
training runs in the worker (scikit-learn is never loaded by a request)."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from leadflow.contacts.selectors import contacts_visible
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import NotFound
from leadflow.core.models import ApiScope
from leadflow.scoring.models import ConversionModel
from leadflow.scoring.selectors.predictions import (
    conversion_model,
    conversion_models,
    family_label,
    prediction_for,
)
from leadflow.scoring.services.training import model_train_queue

router = Router(tags=["scoring"])


class CandidateOut(Schema):
    family: str
    cv_auc: float | None = Field(description="Mean cross-validated ROC AUC.")
    cv_auc_std: float | None = Field(description="Its standard deviation over the folds.")


class ModelSummaryOut(Schema):
    id: int
    version: int
    status: Literal["training", "active", "retired", "rejected", "failed"]
    family: str = Field(description="The family that won the cross-validation.")
    family_label: str
    low_data: bool = Field(description="Too few outcomes: the smoothed frequency model.")
    forced: bool
    rows: int = Field(description="Contacts with an outcome it was trained on.")
    positives: int = Field(description="Of which won.")
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ModelOut(ModelSummaryOut):
    candidates: list[CandidateOut]
    metrics: dict[str, Any] = Field(
        description="``cv`` and ``holdout`` (time hold-out, null when too few outcomes): "
        "roc_auc, average_precision, brier, base_rate_brier, top10_capture, "
        "top20_capture, lift10, lift20; ``calibration``: bins of predicted vs observed."
    )
    features: list[dict[str, str]]


class ModelPage(Schema):
    items: list[ModelSummaryOut]


class ModelFilters(Schema):
    limit: int = Field(50, ge=1, le=200)


class TrainIn(StrictSchema):
    force: bool = Field(
        False, description="Use the new model even if it does worse than the one in use."
    )


class FactorOut(Schema):
    text: str = Field(description="In words, e.g. 'visited pricing 3 times in 7 days'.")
    effect: float = Field(description="How much it moved the probability (signed, 0..1).")


class PredictionOut(Schema):
    contact_id: int
    probability: float
    family_label: str
    low_data: bool
    model_version: int
    computed_at: dt.datetime
    factors: list[FactorOut]


def _summary(model: ConversionModel) -> dict[str, Any]:
    return {
        "id": model.pk,
        "version": model.version,
        "status": model.status,
        "family": model.family,
        "family_label": family_label(model) if model.family else "",
        "low_data": model.low_data,
        "forced": model.forced,
        "rows": model.rows,
        "positives": model.positives,
        "message": model.message,
        "created_at": model.created_at,
        "finished_at": model.finished_at,
    }


@router.get("/scoring/models", response=ModelPage, summary="Conversion model versions")
def model_list(request: HttpRequest, filters: Query[ModelFilters]):
    """Every version, newest first, with its status (one is ``active`` at most)."""
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return {"items": [_summary(model) for model in conversion_models(workspace)[: filters.limit]]}


@router.post(
    "/scoring/models/train",
    response={202: ModelSummaryOut},
    summary="Train a new conversion model version",
)
def model_train_start(request: HttpRequest, payload: TrainIn):
    """Queues the training of a new version (``status: training``); asking while one is
    queued returns that one. It becomes ``active``, ``rejected`` (worse than the model in
    use, unless ``force``) or ``failed`` (too few outcomes)."""
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    model = model_train_queue(workspace=workspace, actor=actor, force=payload.force)
    return Status(202, _summary(model))


@router.get("/scoring/models/{model_id}", response=ModelOut, summary="One conversion model")
def model_get(request: HttpRequest, model_id: int):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    model = conversion_model(workspace, model_id)
    if model is None:
        raise NotFound("No such model.")
    metrics = dict(model.metrics or {})
    candidates = metrics.pop("candidates", {}) or {}
    metrics.pop("family_label", None)
    return {
        **_summary(model),
        "candidates": [
            {
                "family": family,
                "cv_auc": values.get("cv_auc"),
                "cv_auc_std": values.get("cv_auc_std"),
            }
            for family, values in sorted(candidates.items())
        ],
        "metrics": metrics,
        "features": model.features or [],
    }


@router.get(
    "/contacts/{contact_id}/prediction",
    response=PredictionOut,
    tags=["contacts"],
    summary="A contact's conversion probability and its reasons",
)
def contact_prediction(request: HttpRequest, contact_id: int):
    """404 when the contact is not visible, or has no prediction yet (no model in use)."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_READ)
    if not contacts_visible(workspace, actor).filter(pk=contact_id).exists():
        raise NotFound("No such contact.")
    view = prediction_for(workspace, contact_id)
    if view is None:
        raise NotFound("No prediction for this contact yet.", code="no_prediction")
    return {
        "contact_id": contact_id,
        "probability": view.probability,
        "family_label": view.family,
        "low_data": view.low_data,
        "model_version": view.model_version,
        "computed_at": view.computed_at,
        "factors": [
            {"text": str(factor.get("text", "")), "effect": float(factor.get("effect", 0))}
            for factor in view.factors
        ],
    }
