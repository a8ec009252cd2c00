"""Small statistics shared by the apps that run A/B tests (nurture's broadcasts, pages'
landing-page variants): pure functions, no database.

Two ways to pick a winner (``winner_pick``): a pooled two-proportion z-test of the best arm
against the runner-up, or a Bayesian test, where each arm's rate has a Beta(1 + successes,
1 + failures) posterior (a uniform prior) and an arm wins when the probability that it is
the best is at least the confidence. Both are deterministic: the same counts give the same
verdict on every run and machine (docs/pages/landing-pages.md).
"""

import math
from dataclasses import dataclass, field

Z_TEST = "z_test"
BAYESIAN = "bayesian"
METHODS = (Z_TEST, BAYESIAN)
# Points per arm of the integration grid (more arms: see ``best_probabilities``).
GRID_POINTS = 2001
# The closed form for two arms sums one term per success of the smaller side; beyond this
# many the grid (as for more arms) is as exact and cheaper.
CLOSED_FORM_TERMS = 200_000


def two_proportion_p(clicks_a: int, sent_a: int, clicks_b: int, sent_b: int) -> float:
    """The two-sided p-value of a two-proportion z-test (pooled); 1.0 when it cannot tell."""
    if not sent_a or not sent_b:
        return 1.0
    pooled = (clicks_a + clicks_b) / (sent_a + sent_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / sent_a + 1 / sent_b))
    if spread == 0:
        return 1.0
    z = abs(clicks_a / sent_a - clicks_b / sent_b) / spread
    return math.erfc(z / math.sqrt(2))


def _posterior(successes: int, trials: int) -> tuple[float, float]:
    """Beta(alpha, beta) of a rate after ``successes`` of ``trials`` from a uniform prior."""
    successes = max(0, min(successes, trials))
    return 1.0 + successes, 1.0 + trials - successes


def probability_b_beats_a(a: tuple[int, int], b: tuple[int, int]) -> float:
    """P(rate of B > rate of A) under Beta posteriors, in closed form (Evan Miller's sum over
    B's successes, done in logarithms; exact up to floating point). ``a`` and ``b`` are
    (successes, trials). The sum runs over the arm with fewer successes (by symmetry)."""
    import numpy as np
    from scipy.special import betaln

    alpha_a, beta_a = _posterior(*a)
    alpha_b, beta_b = _posterior(*b)
    if alpha_b > alpha_a:  # P(B > A) = 1 - P(A > B): sum over the shorter side
        return 1.0 - probability_b_beats_a(b, a)
    i = np.arange(int(alpha_b), dtype=float)
    terms = (
        betaln(alpha_a + i, beta_a + beta_b)
        - np.log(beta_b + i)
        - betaln(1 + i, beta_b)
        - betaln(alpha_a, beta_a)
    )
    return float(min(1.0, max(0.0, np.exp(terms).sum())))


def best_probabilities(arms: dict[str, tuple[int, int]]) -> dict[str, float]:
    """For each arm ({name: (successes, trials)}), the probability that its rate is the
    highest, under independent Beta posteriors from a uniform prior. Two arms: the closed
    form (up to ``CLOSED_FORM_TERMS`` successes). Otherwise P(j best), the integral of
    pdf_j(x) times the product of the other arms' cdf_i(x), by the trapezoid rule on a grid
    that puts ``GRID_POINTS`` points across each arm's own ±12 standard deviations (so a
    narrow posterior is as finely sampled as a wide one), normalised to sum to 1.
    Deterministic: no random draws."""
    import numpy as np
    from scipy.special import betainc, betaln, xlog1py, xlogy

    names = list(arms)
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: 1.0}
    posteriors = [_posterior(*arms[name]) for name in names]
    if len(names) == 2 and min(alpha for alpha, _ in posteriors) <= CLOSED_FORM_TERMS:
        second = probability_b_beats_a(arms[names[0]], arms[names[1]])
        return {names[0]: 1.0 - second, names[1]: second}
    pieces = []
    for alpha, beta in posteriors:
        mean = alpha / (alpha + beta)
        spread = math.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
        low, high = max(0.0, mean - 12 * spread), min(1.0, mean + 12 * spread)
        pieces.append(np.linspace(low, high, GRID_POINTS))
    grid = np.unique(np.concatenate([*pieces, np.array([0.0, 1.0])]))
    cdfs = np.array([betainc(alpha, beta, grid) for alpha, beta in posteriors])
    chances = []
    for j, (alpha, beta) in enumerate(posteriors):
        density = np.exp(xlogy(alpha - 1, grid) + xlog1py(beta - 1, -grid) - betaln(alpha, beta))
        others = np.prod(np.delete(cdfs, j, axis=0), axis=0)
        chances.append(float(np.trapezoid(density * others, grid)))
    total = sum(chances) or 1.0
    return {name: chance / total for name, chance in zip(names, chances, strict=True)}


@dataclass(frozen=True)
class Verdict:
    """What a test of several arms says: the best arm (by rate; ties by name), the p-value of
    best against the runner-up (the z-test's, whatever the method), each arm's probability
    of being the best (``chances``; Bayesian tests only), and why there is no winner yet
    ('' when ``winner`` is set)."""

    best: str | None
    winner: str | None
    p: float
    why: str
    method: str = Z_TEST
    chances: dict[str, float] = field(default_factory=dict)


def winner_pick(
    arms: dict[str, tuple[int, int]],
    *,
    confidence: float,
    min_sample: int,
    method: str = Z_TEST,
) -> Verdict:
    """The winner among ``arms`` ({name: (successes, trials)}), never before every arm has at
    least ``min_sample`` trials. ``z_test``: the best rate wins when it beats the runner-up
    with a pooled two-proportion z-test at ``1 - confidence``, split over the comparisons
    (Bonferroni). ``bayesian``: the arm most likely to be the best wins when that probability
    (``best_probabilities``) is at least ``confidence``."""
    if method not in METHODS:
        raise ValueError(f"unknown test method {method!r}")
    if method == BAYESIAN:
        return _bayesian_pick(arms, confidence=confidence, min_sample=min_sample)
    if not arms:
        return Verdict(None, None, 1.0, "No variants")
    ranked = sorted(
        arms.items(), key=lambda item: (-(item[1][0] / item[1][1] if item[1][1] else 0), item[0])
    )
    best = ranked[0][0]
    if len(ranked) < 2:
        return Verdict(best, None, 1.0, "Only one variant")
    (_, (wins_a, n_a)), (_, (wins_b, n_b)) = ranked[0], ranked[1]
    p = two_proportion_p(wins_a, n_a, wins_b, n_b)
    small = _too_few(arms, min_sample)
    alpha = (1 - confidence) / (len(ranked) - 1)
    if small:
        return Verdict(best, None, p, small)
    if p >= alpha:
        return Verdict(best, None, p, f"No significant difference yet (p = {p:.3f})")
    return Verdict(best, best, p, "")


def _too_few(arms: dict[str, tuple[int, int]], min_sample: int) -> str:
    small = sorted(name for name, (_, trials) in arms.items() if trials < min_sample)
    return f"Too few views for {', '.join(small)} (under {min_sample})" if small else ""


def _bayesian_pick(
    arms: dict[str, tuple[int, int]], *, confidence: float, min_sample: int
) -> Verdict:
    if not arms:
        return Verdict(None, None, 1.0, "No variants", BAYESIAN)
    chances = best_probabilities(arms)
    # Rounded so that equal arms (their chances equal up to floating point) go by name.
    best = sorted(arms, key=lambda name: (-round(chances[name], 9), name))[0]
    if len(arms) < 2:
        return Verdict(best, None, 1.0, "Only one variant", BAYESIAN, chances)
    ranked = sorted(
        arms.items(), key=lambda item: (-(item[1][0] / item[1][1] if item[1][1] else 0), item[0])
    )
    (_, (wins_a, n_a)), (_, (wins_b, n_b)) = ranked[0], ranked[1]
    p = two_proportion_p(wins_a, n_a, wins_b, n_b)
    small = _too_few(arms, min_sample)
    if small:
        return Verdict(best, None, p, small, BAYESIAN, chances)
    if chances[best] < confidence:
        why = (
            f"No variant is best with {confidence:.0%} probability yet "
            f"({best}: {chances[best]:.1%})"
        )
        return Verdict(best, None, p, why, BAYESIAN, chances)
    return Verdict(best, best, p, "", BAYESIAN, chances)
