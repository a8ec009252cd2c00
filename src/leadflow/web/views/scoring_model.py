"""Settings → Conversion model: the model in use (family, "low data", when and on how
many outcomes it was trained), the candidates' cross-validated ROC AUC, the evaluation
(cross-validation and the hold-out by time), a calibration chart (inline SVG), every
version with its status, "Train now" and "Force" for a version that was not used.

Reads stored rows only: training runs in the worker (scikit-learn is never loaded here).
"""

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST, require_safe

from leadflow.scoring.models import ConversionModel, ModelStatus
from leadflow.scoring.selectors.predictions import conversion_models, family_label
from leadflow.scoring.services.training import model_activate, model_train_queue
from leadflow.web.access import workspace_view
from leadflow.web.views.common import render_page

VERSIONS_SHOWN = 30
# The calibration chart's square, in SVG units.
SIZE = 240
PAD = 32

METRIC_ROWS = (
    ("roc_auc", "ROC AUC", "ratio", "0.5 is chance, 1 is perfect ranking"),
    ("average_precision", "Average precision", "ratio", "precision over every threshold"),
    ("top10_capture", "Converters in the top 10 %", "percent", "of all who converted"),
    ("top20_capture", "Converters in the top 20 %", "percent", "of all who converted"),
    ("lift10", "Lift at 10 %", "times", "vs picking leads at random"),
    ("lift20", "Lift at 20 %", "times", "vs picking leads at random"),
    ("brier", "Brier score", "score", "lower is better"),
    ("base_rate_brier", "Brier score of the base rate", "score", "to beat"),
)


@dataclass
class MetricRow:
    label: str
    note: str
    cv: str
    holdout: str


@dataclass
class Candidate:
    family: str
    label: str
    auc: str
    spread: str
    width: float  # of a 0..1 bar, in percent
    chosen: bool


@dataclass
class CalibrationPoint:
    x: float
    y: float
    r: float
    predicted: str
    observed: str
    count: int


def _shown(value, shape: str) -> str:
    if not isinstance(value, int | float):
        return "—"
    if shape == "percent":
        return f"{value:.0%}"
    if shape == "times":
        return f"{value:.2f}×"
    if shape == "score":
        return f"{value:.4f}"
    return f"{value:.3f}"


def _metric_rows(metrics: dict) -> list[MetricRow]:
    cv, holdout = metrics.get("cv") or {}, metrics.get("holdout") or {}
    return [
        MetricRow(label, note, _shown(cv.get(key), shape), _shown(holdout.get(key), shape))
        for key, label, shape, note in METRIC_ROWS
    ]


def _candidates(model: ConversionModel) -> list[Candidate]:
    from leadflow.scoring.selectors.predictions import FAMILY_LABELS

    rows = []
    for family, values in sorted((model.metrics or {}).get("candidates", {}).items()):
        auc = values.get("cv_auc")
        rows.append(
            Candidate(
                family=family,
                label=FAMILY_LABELS.get(family, family),
                auc=_shown(auc, "ratio"),
                spread=_shown(values.get("cv_auc_std"), "ratio"),
                width=round(max(0.0, min(1.0, auc or 0)) * 100, 1),
                chosen=family == model.family,
            )
        )
    return rows


def _calibration(metrics: dict) -> list[CalibrationPoint]:
    """Each bin as a dot: predicted along x, observed up y, area by contacts."""
    bins = [row for row in metrics.get("calibration") or [] if row.get("count")]
    most = max((row["count"] for row in bins), default=1)
    span = SIZE - 2 * PAD
    return [
        CalibrationPoint(
            x=round(PAD + float(row["predicted"]) * span, 1),
            y=round(SIZE - PAD - float(row["observed"]) * span, 1),
            r=round(3 + 7 * (row["count"] / most) ** 0.5, 1),
            predicted=f"{float(row['predicted']):.0%}",
            observed=f"{float(row['observed']):.0%}",
            count=int(row["count"]),
        )
        for row in bins
    ]


@workspace_view("read")
@require_safe
def scoring_model(request: HttpRequest) -> HttpResponse:
    versions = list(conversion_models(request.workspace)[:VERSIONS_SHOWN])
    active = next((model for model in versions if model.status == ModelStatus.ACTIVE), None)
    metrics = (active.metrics or {}) if active else {}
    context = {
        "settings_section": "scoring_model",
        "active": active,
        "active_label": family_label(active) if active else "",
        "candidates": _candidates(active) if active else [],
        "metric_rows": _metric_rows(metrics),
        "has_holdout": bool(metrics.get("holdout")),
        "calibration": _calibration(metrics),
        "chart": {"size": SIZE, "pad": PAD, "far": SIZE - PAD},
        "versions": [(model, family_label(model) if model.family else "") for model in versions],
        "pending": any(model.status == ModelStatus.TRAINING for model in versions),
        "may_train": request.membership.can("manage_settings"),
    }
    return render_page(request, "web/scoring/model.html", context)


@workspace_view("manage_settings")
@require_POST
def scoring_model_train(request: HttpRequest) -> HttpResponse:
    """Queue a training (the same task as ``POST /api/v1/scoring/models/train`` and
    ``leadflow scoring train``); one queued already is not queued again."""
    model = model_train_queue(workspace=request.workspace, actor=request.actor)
    messages.success(
        request,
        f"Version {model.version} is queued for training. Reload the page to see how it did.",
    )
    return redirect("scoring_model", request.workspace.slug)


@workspace_view("manage_settings")
@require_POST
def scoring_model_force(request: HttpRequest, model_id: int) -> HttpResponse:
    """Put a version that was not used (worse than the model in use) into use anyway."""
    model = model_activate(workspace=request.workspace, model_id=model_id, actor=request.actor)
    messages.success(request, f"Version {model.version} is now in use; contacts are rescored.")
    return redirect("scoring_model", request.workspace.slug)
