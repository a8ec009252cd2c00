"""Choosing, fitting and calibrating a workspace's conversion model by evidence."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from .dataset import Dataset
from .evaluate import cv_folds, evaluate
from .explain import TrainedModel
from .families import FAMILIES, calibrated_estimator, compute_threads, family_estimator

Progress = Callable[[str, int, int], None]
# Fewer rows of either outcome leave a cross-validation fold nothing to calibrate on.
MIN_EACH_OUTCOME = 3


@dataclass
class FitResult:
    """The chosen, calibrated model and the evidence for it.

    ``candidates``: each family tried -> ``{"cv_auc", "cv_auc_std"}`` (mean and standard
    deviation of ROC AUC over the same stratified folds); ``metrics``: :func:`evaluate` of
    the chosen family; ``low_data``: fewer positives than ``min_positives``, so the
    frequency model was used without a contest."""

    model: TrainedModel
    family: str
    family_label: str
    low_data: bool
    candidates: dict[str, dict[str, float]]
    metrics: dict
    rows: int
    positives: int


def cross_validated_auc(
    dataset: Dataset,
    family: str,
    *,
    random_state: int = 0,
    on_fold: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Mean and standard deviation of the uncalibrated ``family``'s ROC AUC over stratified
    folds (:func:`~leadflow.scoring.learn.evaluate.cv_folds`; the same folds for every family
    with the same ``random_state``). Calibration is monotonic, so it cannot change the
    ranking this measures."""
    scores = []
    for train, test in cv_folds(dataset.y, random_state).split(dataset.X, dataset.y):
        model = family_estimator(
            family, dataset.specs, dataset.categories, rows=len(train), random_state=random_state
        )
        model.fit(dataset.X[train], dataset.y[train])
        scores.append(roc_auc_score(dataset.y[test], model.decision_function(dataset.X[test])))
        if on_fold:
            on_fold()
    return {"cv_auc": float(np.mean(scores)), "cv_auc_std": float(np.std(scores))}


def model_fit(
    dataset: Dataset,
    *,
    families: Sequence[str] | None = None,
    progress: Progress | None = None,
    random_state: int = 0,
    min_positives: int = 30,
    threads: int | None = 1,
) -> FitResult:
    """Cross-validate each candidate family (default: all of ``FAMILIES``) on ``dataset``,
    choose the best mean ROC AUC (the first listed wins a tie: frequency, logistic, boosting),
    evaluate it (:func:`evaluate`), then fit it on every row and calibrate it (isotonic with
    at least 1,000 rows and 100 positives, else sigmoid). With fewer than ``min_positives``
    positives (or negatives, when they are the rarer outcome) the frequency model is used
    and ``low_data`` set. Needs outcomes with at least three rows of each kind (ValueError
    otherwise). ``progress(step, done, total)`` is called
    as the work advances. ``threads`` caps the compute threads (None: every core; see
    :func:`~leadflow.scoring.learn.families.compute_threads`); the model keeps it for
    scoring."""
    with compute_threads(threads):
        result = _model_fit(dataset, families, progress, random_state, min_positives)
    result.model.threads = threads
    return result


def _model_fit(dataset, families, progress, random_state, min_positives) -> FitResult:
    if dataset.y is None:
        raise ValueError("training needs outcomes (y)")
    positives = dataset.positives
    rarer = min(positives, dataset.rows - positives)
    if rarer < MIN_EACH_OUTCOME:
        raise ValueError("training needs at least three converted and three unconverted rows")
    low_data = rarer < min_positives
    chosen_families = ["frequency"] if low_data else list(families or FAMILIES)
    for family in chosen_families:
        if family not in FAMILIES:
            raise ValueError(f"unknown model family {family!r}; one of {', '.join(FAMILIES)}")
    folds = cv_folds(dataset.y, random_state).get_n_splits()
    # Each family's folds, the winner's evaluation (its folds and the hold-out), the final fit.
    total = len(chosen_families) * folds + folds + 2
    done = 0

    def advance(step: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(step, done, total)

    if progress:
        progress("cross-validating", 0, total)
    candidates = {}
    for family in chosen_families:
        candidates[family] = cross_validated_auc(
            dataset,
            family,
            random_state=random_state,
            on_fold=lambda family=family: advance(f"cross-validating {FAMILIES[family]}"),
        )
    best = max(chosen_families, key=lambda family: candidates[family]["cv_auc"])
    metrics = evaluate(
        dataset,
        family=best,
        random_state=random_state,
        threads=None,  # model_fit already caps the threads
        on_fold=lambda: advance(f"evaluating {FAMILIES[best]}"),
    )
    calibrated = calibrated_estimator(
        best,
        dataset.specs,
        dataset.categories,
        rows=dataset.rows,
        positives=positives,
        random_state=random_state,
    ).fit(dataset.X, dataset.y)
    model = TrainedModel.from_fitted(
        calibrated,
        family=best,
        specs=dataset.specs,
        categories=dataset.categories,
        X=dataset.X,
        y=dataset.y,
    )
    advance("fitting the chosen model")
    return FitResult(
        model=model,
        family=best,
        family_label=FAMILIES[best],
        low_data=low_data,
        candidates=candidates,
        metrics=metrics,
        rows=dataset.rows,
        positives=positives,
    )
