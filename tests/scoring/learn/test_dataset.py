"""Datasets check their shapes and codes; feature values read in a salesperson's words."""

import numpy as np
import pytest

from leadflow.scoring.learn.dataset import Dataset, FeatureSpec
from leadflow.scoring.learn.explain import factor_text
from leadflow.scoring.learn.families import FrequencyModel

SPECS = [
    FeatureSpec("visits", "number", "Pricing page visits, last 7 days", unit="visits"),
    FeatureSpec("size", "category", "Company size"),
    FeatureSpec("director", "flag", "Job title contains director"),
]
CATEGORIES = {"size": ["1-10", "201-1,000"]}


def test_a_dataset_refuses_wrong_shapes_and_codes():
    with pytest.raises(ValueError, match="columns"):
        Dataset(SPECS, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="flag"):
        Dataset(SPECS, np.array([[1.0, 0.0, 2.0]]))
    with pytest.raises(ValueError, match="no value"):
        Dataset(SPECS, np.array([[1.0, 2.0, 0.0]]), categories=CATEGORIES)
    with pytest.raises(ValueError, match="one outcome per row"):
        Dataset(SPECS, np.zeros((2, 3)), y=np.array([1]))
    with pytest.raises(ValueError, match="0 or 1"):
        Dataset(SPECS, np.zeros((2, 3)), y=np.array([1, 2]))


def test_a_subset_keeps_rows_outcomes_and_times_together():
    data = Dataset(
        SPECS,
        np.array([[1.0, 0.0, 1.0], [2.0, 1.0, 0.0], [3.0, np.nan, 1.0]]),
        y=np.array([1, 0, 1]),
        times=np.array([10.0, 20.0, 30.0]),
        categories=CATEGORIES,
    )
    part = data.subset([2, 0])
    assert part.X[:, 0].tolist() == [3.0, 1.0]
    assert part.y.tolist() == [1, 1] and part.times.tolist() == [30.0, 10.0]
    assert part.positives == 2 and part.rows == 2


def test_factor_text_speaks_a_salespersons_words():
    assert factor_text(SPECS[0], 3.0, CATEGORIES) == "Pricing page visits, last 7 days: 3"
    assert factor_text(SPECS[1], 1.0, CATEGORIES) == "Company size: 201-1,000"
    assert factor_text(SPECS[2], 1.0, CATEGORIES) == "Job title contains director: yes"
    assert factor_text(SPECS[2], 0.0, CATEGORIES) == "Job title contains director: no"
    days = FeatureSpec("idle", "number", "Since last visit", unit="days")
    assert factor_text(days, 40.0, {}) == "Since last visit: 40 days"
    assert factor_text(days, 2.5, {}) == "Since last visit: 2.5 days"
    assert factor_text(days, float("nan"), {}) == "Since last visit: unknown"
    assert factor_text(FeatureSpec("amount", "number", "Budget"), 12000.0, {}) == "Budget: 12,000"


def test_the_frequency_model_smooths_each_values_rate_towards_the_base_rate():
    # A category: value 0 converts 3 of 4, value 1 converts 0 of 4; base rate 3/8.
    X = np.array([[0.0]] * 4 + [[1.0]] * 4)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    model = FrequencyModel(kinds=("category",), smoothing=2.0).fit(X, y)
    probability = model.predict_proba(np.array([[0.0], [1.0], [7.0], [np.nan]]))[:, 1]
    base = 3 / 8
    assert probability[0] == pytest.approx((3 + 2 * base) / (4 + 2))
    assert probability[1] == pytest.approx((0 + 2 * base) / (4 + 2))
    assert probability[2] == pytest.approx(base)  # a value never seen adds nothing
    assert probability[3] == pytest.approx(base)  # unknown was never seen in training either


def test_the_frequency_model_bins_numbers_into_quantiles():
    X = np.arange(100.0).reshape(-1, 1)
    y = (np.arange(100) >= 80).astype(int)
    model = FrequencyModel(kinds=("number",), bins=5).fit(X, y)
    low, high = model.predict_proba(np.array([[5.0], [95.0]]))[:, 1]
    assert high > 0.5 > 0.2 > low
