"""The evaluation metrics on tiny hand-made arrays, where the right answer is known."""

import math

import numpy as np
import pytest

from leadflow.scoring.learn.evaluate import (
    calibration_bins,
    cv_folds,
    score_metrics,
    time_split,
    top_capture,
)


def test_top_capture_counts_the_positives_among_the_highest_scores():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert top_capture(y, score, 0.1) == pytest.approx(1 / 3)  # one row: the 0.9, a positive
    assert top_capture(y, score, 0.2) == pytest.approx(1 / 3)
    assert top_capture(y, score, 0.3) == pytest.approx(2 / 3)
    assert top_capture(y, score, 1.0) == pytest.approx(1.0)


def test_rows_tied_at_the_cut_count_in_proportion():
    # Top 20 % of 10 rows = 2 rows; one clear winner (a negative), then four tied rows
    # holding two positives: one of the four is taken, worth 2/4 of a positive.
    y = np.array([0, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert top_capture(y, score, 0.2) == pytest.approx(0.5 / 2)


def test_score_metrics_define_brier_lift_and_auc():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    probability = np.array([0.8, 0.1, 0.2, 0.1, 0.6, 0.3, 0.1, 0.2, 0.1, 0.1])
    metrics = score_metrics(y, probability)
    assert metrics["roc_auc"] == 1.0  # both positives above every negative
    assert metrics["average_precision"] == 1.0
    assert metrics["brier"] == pytest.approx(np.mean((probability - y) ** 2))
    assert metrics["base_rate_brier"] == pytest.approx(0.2 * 0.8)
    assert metrics["top10_capture"] == pytest.approx(0.5)
    assert metrics["lift10"] == pytest.approx(5.0)
    assert metrics["top20_capture"] == pytest.approx(1.0)
    assert metrics["lift20"] == pytest.approx(5.0)


def test_a_reversed_ranking_has_auc_zero_and_captures_nothing_at_the_top():
    y = np.array([0, 0, 0, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    metrics = score_metrics(y, score)
    assert metrics["roc_auc"] == 0.0
    assert metrics["top20_capture"] == 0.0


def test_calibration_bins_hold_equal_counts_with_their_mean_and_observed_rate():
    probability = np.array([0.1, 0.1, 0.2, 0.2, 0.9, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    bins = calibration_bins(y, probability, bins=3)
    assert bins == [
        {"predicted": 0.1, "observed": 0.0, "count": 2},
        {"predicted": 0.2, "observed": 0.5, "count": 2},
        {"predicted": 0.9, "observed": 1.0, "count": 2},
    ]


def test_the_time_split_trains_on_nothing_newer_than_it_tests():
    times = np.random.default_rng(3).permutation(np.arange(100.0))
    older, newer = time_split(times)
    assert len(newer) == 20 and len(older) == 80
    assert times[older].max() < times[newer].min()


def test_folds_shrink_when_positives_are_few():
    assert cv_folds(np.array([1, 1, 1] + [0] * 50)).get_n_splits() == 3
    assert cv_folds(np.array([1] * 10 + [0] * 50)).get_n_splits() == 5


def test_metrics_without_any_positive_are_not_numbers():
    metrics = score_metrics(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    assert math.isnan(metrics["roc_auc"]) and math.isnan(metrics["top10_capture"])
