"""The A/B tests' statistics (core.stats): the Bayesian probability of being the best
against seeded high-sample Monte Carlo, the closed form against the grid, and the verdicts of
both methods with the minimum sample. Pure functions: no database."""

import math

import numpy as np
import pytest

from leadflow.core import stats
from leadflow.core.stats import best_probabilities, probability_b_beats_a, winner_pick


def _monte_carlo(arms, draws=1_000_000, seed=16):
    """P(best) per arm from ``draws`` samples of each Beta(1 + s, 1 + n - s) posterior."""
    rng = np.random.default_rng(seed)
    samples = np.array([rng.beta(1 + s, 1 + n - s, draws) for s, n in arms.values()])
    wins = np.bincount(samples.argmax(axis=0), minlength=len(arms)) / draws
    return dict(zip(arms, wins, strict=True))


@pytest.mark.parametrize(
    "arms",
    [
        {"A": (50, 1000), "B": (55, 1000)},
        {"A": (3, 40), "B": (0, 12)},
        {"A": (120, 900), "B": (100, 1000)},
    ],
)
def test_two_variants_in_closed_form_agree_with_a_million_draws(arms):
    exact = best_probabilities(arms)
    sampled = _monte_carlo(arms)
    # A million draws: the standard error is at most 0.0005.
    assert all(abs(exact[name] - sampled[name]) < 0.003 for name in arms)
    assert math.isclose(sum(exact.values()), 1.0)


def test_three_variants_by_integration_agree_with_a_million_draws():
    arms = {"A": (50, 1000), "B": (55, 1000), "C": (60, 1200)}
    exact = best_probabilities(arms)
    sampled = _monte_carlo(arms)
    assert all(abs(exact[name] - sampled[name]) < 0.003 for name in arms)
    assert exact == best_probabilities(arms), "the same counts, the same answer"


def test_the_closed_form_and_the_grid_agree_and_large_counts_match_the_normal_limit(
    monkeypatch,
):
    arms = {"A": (50_000, 1_000_000), "B": (50_500, 1_000_000)}
    closed = best_probabilities(arms)["B"]
    monkeypatch.setattr(stats, "CLOSED_FORM_TERMS", 0)  # two arms through the grid
    assert abs(best_probabilities(arms)["B"] - closed) < 1e-6
    # A million views each: nearly normal posteriors, P(B > A) = Phi(difference / spread).
    a, b = 50_001 / 1_000_002, 50_501 / 1_000_002
    sigma = math.sqrt(a * (1 - a) / 1_000_003 + b * (1 - b) / 1_000_003)
    assert abs(closed - 0.5 * math.erfc(-(b - a) / sigma / math.sqrt(2))) < 1e-3


def test_equal_arms_are_even_and_the_order_of_arms_does_not_matter():
    assert best_probabilities({"A": (10, 100), "B": (10, 100)}) == pytest.approx(
        {"A": 0.5, "B": 0.5}, abs=1e-9
    )
    assert probability_b_beats_a((7, 50), (12, 60)) == pytest.approx(
        1 - probability_b_beats_a((12, 60), (7, 50)), abs=1e-12
    )
    three = best_probabilities({"A": (5, 80), "B": (9, 80), "C": (7, 80)})
    turned = best_probabilities({"C": (7, 80), "A": (5, 80), "B": (9, 80)})
    assert three == pytest.approx(turned, abs=1e-9)
    assert best_probabilities({"A": (1, 10)}) == {"A": 1.0}
    tie = winner_pick(
        {"A": (0, 200), "B": (0, 200)}, confidence=0.95, min_sample=10, method="bayesian"
    )
    assert tie.best == "A" and tie.winner is None  # equal chances: by name, as the z-test
    assert best_probabilities({}) == {}


def test_a_bayesian_winner_needs_the_minimum_sample_and_the_confidence():
    few = winner_pick(
        {"A": (2, 20), "B": (15, 20)}, confidence=0.95, min_sample=100, method="bayesian"
    )
    assert few.winner is None and few.why.startswith("Too few views for A, B")
    assert few.best == "B" and few.chances["B"] > 0.99  # shown, not decided
    close = winner_pick(
        {"A": (50, 1000), "B": (55, 1000)}, confidence=0.95, min_sample=100, method="bayesian"
    )
    assert close.winner is None and close.best == "B"
    assert close.why == "No variant is best with 95% probability yet (B: 69.1%)"
    # P(B best) is about 0.975 here: a winner at 95%, not at 99%.
    arms = {"A": (100, 1000), "B": (128, 1000)}
    assert 0.97 < best_probabilities(arms)["B"] < 0.99
    assert winner_pick(arms, confidence=0.95, min_sample=100, method="bayesian").winner == "B"
    assert winner_pick(arms, confidence=0.99, min_sample=100, method="bayesian").winner is None
    # Three arms: the winner is the arm most likely best, once it reaches the confidence.
    three = winner_pick(
        {"A": (100, 1000), "B": (160, 1000), "C": (90, 1000)},
        confidence=0.95,
        min_sample=100,
        method="bayesian",
    )
    assert three.winner == "B" and three.method == "bayesian"
    assert sum(three.chances.values()) == pytest.approx(1.0)
    # The z-test stays the default and carries no probabilities.
    assert winner_pick(arms, confidence=0.95, min_sample=100).chances == {}
    with pytest.raises(ValueError):
        winner_pick(arms, confidence=0.95, min_sample=100, method="bayes")
