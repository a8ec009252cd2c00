"""Honest evaluation of a model family on a dataset, and the metrics' definitions.

For a score per row and the true outcomes:

- ``roc_auc``: the chance that a random converter scores above a random non-converter
  (ties count half); 0.5 is guessing.
- ``average_precision``: the mean, over converters, of the share of converters among the
  rows scoring at least as high (area under the precision-recall curve).
- ``brier``: the mean squared difference between the predicted probability and the 0/1
  outcome; ``base_rate_brier`` is the Brier score of predicting the base rate for everyone
  (``rate x (1 - rate)``): a useful probability scores below it.
- ``top10_capture`` / ``top20_capture``: the share of all converters found among the 10 % /
  20 % highest-scoring rows (rows tied at the cut count in proportion, as if the tie were
  broken at random); ``lift10`` / ``lift20``: the capture divided by 0.1 / 0.2 (how many
  times better than calling leads at random).
"""

import math
from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from .dataset import Dataset
from .families import calibrated_estimator, compute_threads

HOLDOUT_SHARE = 0.2
CALIBRATION_BINS = 10


def top_capture(y: np.ndarray, score: np.ndarray, share: float) -> float:
    """Share of all positives among the ``share`` highest scores (ties at the cut shared in
    proportion)."""
    y = np.asarray(y)
    score = np.asarray(score, dtype=np.float64)
    positives = y.sum()
    if positives == 0:
        return float("nan")
    take = math.ceil(share * len(y) - 1e-9)
    if take == 0:
        return 0.0
    cut = np.sort(score)[::-1][take - 1]
    above = score > cut
    tied = score == cut
    needed = take - above.sum()
    found = y[above].sum() + y[tied].sum() * needed / tied.sum()
    return float(found / positives)


def score_metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Every metric of the module docstring for these outcomes and predicted probabilities."""
    y = np.asarray(y)
    probability = np.asarray(probability, dtype=np.float64)
    rate = float(y.mean())
    both = 0 < y.sum() < len(y)
    capture10 = top_capture(y, probability, 0.1)
    capture20 = top_capture(y, probability, 0.2)
    return {
        "roc_auc": float(roc_auc_score(y, probability)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, probability))
        if both
        else float("nan"),
        "brier": float(np.mean((probability - y) ** 2)),
        "base_rate_brier": rate * (1 - rate),
        "top10_capture": capture10,
        "top20_capture": capture20,
        "lift10": capture10 / 0.1,
        "lift20": capture20 / 0.2,
    }


def calibration_bins(
    y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, float]]:
    """Rows sorted by predicted probability, cut into ``bins`` parts of equal size (so rare
    high scores get a bin of their own): each part's mean prediction, observed rate and
    row count."""
    order = np.argsort(probability, kind="stable")
    result = []
    for part in np.array_split(order, min(bins, len(order))):
        if part.size:
            result.append(
                {
                    "predicted": float(np.mean(probability[part])),
                    "observed": float(np.mean(y[part])),
                    "count": int(part.size),
                }
            )
    return result


def cv_folds(y: np.ndarray, random_state: int = 0, folds: int = 5) -> StratifiedKFold:
    """Stratified k-fold with k = ``folds``, fewer when either outcome is rarer than that."""
    positives = int(np.sum(y))
    k = max(2, min(folds, positives, len(y) - positives))
    return StratifiedKFold(k, shuffle=True, random_state=random_state)


def _fit_predict(family: str, train: Dataset, test: Dataset, random_state: int) -> np.ndarray:
    model = calibrated_estimator(
        family,
        train.specs,
        train.categories,
        rows=train.rows,
        positives=train.positives,
        random_state=random_state,
    )
    model.fit(train.X, train.y)
    return model.predict_proba(test.X)[:, 1]


def out_of_fold(
    dataset: Dataset,
    *,
    family: str,
    random_state: int = 0,
    on_fold: Callable[[], None] | None = None,
) -> np.ndarray:
    """Each row's probability from the calibrated ``family`` trained without its fold
    (``on_fold()`` called after each fold)."""
    predicted = np.zeros(dataset.rows)
    for train, test in cv_folds(dataset.y, random_state).split(dataset.X, dataset.y):
        predicted[test] = _fit_predict(
            family, dataset.subset(train), dataset.subset(test), random_state
        )
        if on_fold:
            on_fold()
    return predicted


def time_split(times: np.ndarray, share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the older ``1 - share`` and the newest ``share`` by time (no training
    row is newer than any test row)."""
    order = np.argsort(times, kind="stable")
    cut = len(order) - math.ceil(share * len(order))
    return order[:cut], order[cut:]


def holdout(dataset: Dataset, *, family: str, random_state: int = 0) -> dict | None:
    """Metrics of the calibrated ``family`` trained on the older 80 % of rows by time and
    tested on the newest 20 %; None without times, or when either part lacks outcomes of
    both kinds (three of each to train)."""
    if dataset.times is None:
        return None
    older, newer = time_split(dataset.times)
    train, test = dataset.subset(older), dataset.subset(newer)
    if (
        not (0 < test.positives < test.rows)
        or min(train.positives, train.rows - train.positives) < 2
    ):
        return None
    return score_metrics(test.y, _fit_predict(family, train, test, random_state))


def evaluate(
    dataset: Dataset,
    *,
    family: str,
    random_state: int = 0,
    threads: int | None = 1,
    on_fold: Callable[[], None] | None = None,
) -> dict:
    """The calibrated ``family``'s metrics on ``dataset`` (which needs outcomes):
    ``{"cv": metrics of the stratified-CV out-of-fold predictions, "holdout": metrics on the
    newest 20 % by time or None, "calibration": [{"predicted", "observed", "count"}] over
    10 bins of the out-of-fold predictions}``. The metrics are defined in this module's
    docstring. ``threads`` caps the compute threads (None: every core); ``on_fold()`` is
    called after each cross-validation fold and after the hold-out."""
    if dataset.y is None:
        raise ValueError("evaluation needs outcomes (y)")
    with compute_threads(threads):
        predicted = out_of_fold(dataset, family=family, random_state=random_state, on_fold=on_fold)
        held_out = holdout(dataset, family=family, random_state=random_state)
        if on_fold:
            on_fold()
        return {
            "cv": score_metrics(dataset.y, predicted),
            "holdout": held_out,
            "calibration": calibration_bins(dataset.y, predicted),
        }
