"""Model selection, calibration and explanations on generated histories with known truth."""

import io
from collections import Counter

import joblib
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from leadflow.scoring.learn.evaluate import cv_folds, evaluate, holdout
from leadflow.scoring.learn.families import plain_logistic
from leadflow.scoring.learn.select import model_fit
from leadflow.scoring.learn.synthetic import history_with_drivers, wide_rare


@pytest.fixture(scope="module")
def history():
    return history_with_drivers(4000, seed=1)


@pytest.fixture(scope="module")
def history_fit(history):
    dataset, _ = history
    steps = []
    result = model_fit(dataset, progress=lambda step, done, total: steps.append((done, total)))
    return result, steps


@pytest.fixture(scope="module")
def wide():
    return wide_rare(3000, p=100, positive_rate=0.05, seed=2)


@pytest.fixture(scope="module")
def wide_fit(wide):
    return model_fit(wide)


def test_the_chosen_model_beats_the_frequency_model(history_fit):
    result, _ = history_fit
    assert result.family in {"logistic", "boosting"}
    assert not result.low_data
    assert set(result.candidates) == {"frequency", "logistic", "boosting"}
    chosen = result.candidates[result.family]["cv_auc"]
    assert chosen == max(candidate["cv_auc"] for candidate in result.candidates.values())
    assert chosen > result.candidates["frequency"]["cv_auc"] + 0.005


def test_the_calibrated_probability_beats_the_base_rate(history_fit):
    result, _ = history_fit
    for part in ("cv", "holdout"):
        metrics = result.metrics[part]
        assert metrics["brier"] < metrics["base_rate_brier"]
        assert metrics["roc_auc"] > 0.7 and metrics["lift10"] > 2
    bins = result.metrics["calibration"]
    assert len(bins) == 10 and sum(part["count"] for part in bins) == result.rows
    # Calibrated: each tenth's mean prediction is near its observed rate.
    assert all(abs(part["predicted"] - part["observed"]) < 0.1 for part in bins)


def test_progress_runs_from_zero_to_done(history_fit):
    _, steps = history_fit
    assert steps[0][0] == 0 and steps[-1][0] == steps[-1][1]
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)


def test_the_reasons_name_the_true_drivers_more_often_than_noise(history, history_fit):
    dataset, truth = history
    result, _ = history_fit
    factors = result.model.explain(dataset.X[:1000])
    named = Counter(factor.feature for row in factors for factor in row[:3])
    drivers = sum(named[name] for name in truth.drivers)
    noise = sum(named[name] for name in truth.noise)
    # Four drivers, six noise features (one a group of three flags): the drivers take most
    # of the top-3 mentions, and each is named more often than an average noise feature.
    assert drivers > 2 * noise
    assert min(named[name] for name in truth.drivers) > noise / len(truth.noise)
    assert all(len(row) <= 5 for row in factors)
    assert np.mean([3 <= len(row) <= 5 for row in factors]) > 0.9
    for row in factors:
        effects = [abs(factor.effect) for factor in row]
        assert effects == sorted(effects, reverse=True)


def test_a_drivers_effect_has_the_sign_of_the_truth(history, history_fit):
    dataset, truth = history
    result, _ = history_fit
    model = result.model
    columns = {spec.name: index for index, spec in enumerate(dataset.specs)}
    X = dataset.X[:1000]
    checked = agreed = 0
    for row, factors in zip(X, model.explain(X), strict=True):
        for factor in factors:
            if factor.feature not in truth.drivers or np.isnan(row[columns[factor.feature]]):
                continue
            column = columns[factor.feature]
            direction = np.sign(row[column] - model.references[column])
            checked += 1
            agreed += np.sign(factor.effect) == direction * truth.drivers[factor.feature]
    assert checked > 500
    assert agreed / checked > 0.95


def test_factors_speak_in_words(history, history_fit):
    dataset, _ = history
    result, _ = history_fit
    texts = [factor.text for row in result.model.explain(dataset.X[:300]) for factor in row]
    assert any(text.startswith("Pricing page visits, last 7 days: ") for text in texts)
    assert any(text.startswith("Company size: ") for text in texts)
    assert "Job title contains director: yes" in texts


def test_a_pickled_model_predicts_and_explains_the_same(history, history_fit):
    dataset, _ = history
    result, _ = history_fit
    buffer = io.BytesIO()
    joblib.dump(result.model, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    X = dataset.X[:500]
    assert np.array_equal(loaded.predict_proba(X), result.model.predict_proba(X))
    assert loaded.explain(X) == result.model.explain(X)


def test_model_selection_matches_or_beats_plain_logistic_regression_on_wide_rare_data(
    wide, wide_fit
):
    assert 0.03 < wide.positives / wide.rows < 0.07
    result = wide_fit
    scores = []
    for train, test in cv_folds(wide.y).split(wide.X, wide.y):
        baseline = plain_logistic().fit(wide.X[train], wide.y[train])
        scores.append(roc_auc_score(wide.y[test], baseline.decision_function(wide.X[test])))
    assert result.candidates[result.family]["cv_auc"] >= np.mean(scores) - 0.005
    assert result.metrics["cv"]["brier"] < result.metrics["cv"]["base_rate_brier"]


def test_few_positives_fall_back_to_the_frequency_model_labelled_low_data(history):
    dataset, _ = history
    positives = np.flatnonzero(dataset.y == 1)[:12]
    negatives = np.flatnonzero(dataset.y == 0)[:400]
    small = dataset.subset(np.concatenate([positives, negatives]))
    result = model_fit(small)
    assert result.family == "frequency" and result.low_data
    assert set(result.candidates) == {"frequency"}
    assert result.rows == 412 and result.positives == 12
    probability = result.model.predict_proba(small.X)
    assert probability.shape == (412,) and ((probability >= 0) & (probability <= 1)).all()
    # Rare non-converters are as little to learn from as rare converters.
    mostly_won = dataset.subset(
        np.concatenate([np.flatnonzero(dataset.y == 1)[:200], negatives[:10]])
    )
    assert model_fit(mostly_won).low_data


def test_training_refuses_a_history_without_both_outcomes(history):
    dataset, _ = history
    two_positives = np.concatenate(
        [np.flatnonzero(dataset.y == 1)[:2], np.flatnonzero(dataset.y == 0)[:100]]
    )
    with pytest.raises(ValueError, match="three converted"):
        model_fit(dataset.subset(two_positives))


def test_the_holdout_trains_on_older_outcomes_and_tests_on_newer(history):
    dataset, _ = history
    shuffled = dataset.subset(np.random.default_rng(0).permutation(dataset.rows)[:1500])
    metrics = holdout(shuffled, family="frequency")
    assert metrics is not None and metrics["roc_auc"] > 0.6
    # Newest fifth with no positive: no honest hold-out.
    order = np.argsort(shuffled.times)
    no_recent_positive = shuffled.y.copy()
    no_recent_positive[order[-300:]] = 0
    changed = shuffled.subset(np.arange(shuffled.rows))
    changed.y = no_recent_positive
    assert holdout(changed, family="frequency") is None
    without_times = shuffled.subset(np.arange(shuffled.rows))
    without_times.times = None
    assert evaluate(without_times, family="frequency")["holdout"] is None


def test_no_rows_give_no_predictions_and_no_factors(history_fit):
    result, _ = history_fit
    empty = np.zeros((0, len(result.model.specs)))
    assert result.model.predict_proba(empty).shape == (0,)
    assert result.model.explain(empty) == []


def test_factors_are_sought_among_the_groups_that_matter_most_overall(wide, wide_fit):
    from leadflow.scoring.learn.explain import EXPLAIN_MAX_GROUPS

    result = wide_fit
    importance = result.model.importance
    assert len(importance) == 100
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    explained = result.model.explained_groups()
    assert len(explained) == EXPLAIN_MAX_GROUPS
    assert set(explained) == set(list(importance)[:EXPLAIN_MAX_GROUPS])
    # The linear drivers (fields 0, 1 and the log of field 5) are among them.
    assert {"field_0", "field_1", "field_5"} <= set(explained)
    named = {factor.feature for row in result.model.explain(wide.X[:200]) for factor in row}
    assert named <= set(explained)


def _model_and_rows(request, fitted: str, data: str):
    """A fitted model (the history's or the wide set's) and 600 rows of its data."""
    result = request.getfixturevalue(fitted)
    dataset = request.getfixturevalue(data)
    result = result[0] if isinstance(result, tuple) else result
    dataset = dataset[0] if isinstance(dataset, tuple) else dataset
    return result.model, dataset.X[:600]


@pytest.mark.parametrize("fitted, data", [("history_fit", "history"), ("wide_fit", "wide")])
def test_skipping_the_groups_a_lead_has_typical_values_in_changes_no_effect(request, fitted, data):
    model, X = _model_and_rows(request, fitted, data)
    probability, full, names = model.effects(X)
    quick_probability, quick, quick_names = model.effects(X, differing_only=True)
    assert quick_names == names and np.array_equal(quick_probability, probability)
    assert np.allclose(quick, full, rtol=0, atol=1e-12)
    # Something was skipped (a typical value's effect is exactly 0) and something was not.
    assert 0 < (quick == 0).mean() < 1


@pytest.mark.parametrize("fitted, data", [("history_fit", "history"), ("wide_fit", "wide")])
def test_the_stored_factors_are_the_explained_ones_with_their_probabilities(request, fitted, data):
    model, X = _model_and_rows(request, fitted, data)
    probabilities, stored = model.explain_records(X, top=4)
    assert probabilities == model.predict_proba(X).tolist()
    explained = model.explain(X, top=4)
    assert stored == [
        [{"text": f.text, "effect": round(f.effect, 4), "feature": f.feature} for f in row]
        for row in explained
    ]
    assert any(row for row in stored)


def test_boosting_fits_when_a_column_is_empty_in_the_rows_it_learns_from(history):
    """One cross-validation fold can hold no value of a sparse column; scikit-learn's
    histogram boosting could not bin it and training failed."""
    from leadflow.scoring.learn.families import family_estimator

    history, _ = history
    numeric = next(i for i, spec in enumerate(history.specs) if spec.kind != "category")
    X = np.array(history.X, dtype=float, copy=True)
    train, test = slice(0, len(X) // 2), slice(len(X) // 2, None)
    X[train, numeric] = np.nan
    model = family_estimator(
        "boosting", history.specs, history.categories, rows=len(X) // 2, random_state=0
    )
    model.fit(X[train], history.y[train])
    scores = model.decision_function(X[test])
    assert np.isfinite(scores).all()
    assert roc_auc_score(history.y[test], scores) > 0.6  # it still learns from the rest
