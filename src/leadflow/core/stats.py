"""Small statistics shared by the apps that run A/B tests (nurture's broadcasts, pages'
landing-page variants): pure functions, no database."""

import math
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Verdict:
    """What a test of several arms says: the best arm (by rate; ties by name), the p-value of
    best against the runner-up, and why there is no winner yet ('' when ``winner`` is set)."""

    best: str | None
    winner: str | None
    p: float
    why: str


def winner_pick(arms: dict[str, tuple[int, int]], *, confidence: float, min_sample: int) -> Verdict:
    """The winner among ``arms`` ({name: (successes, trials)}): the best rate wins when every
    arm has at least ``min_sample`` trials and the best beats the runner-up with a pooled
    two-proportion z-test at ``1 - confidence``, split over the comparisons (Bonferroni)."""
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
    small = sorted(name for name, (_, trials) in arms.items() if trials < min_sample)
    alpha = (1 - confidence) / (len(ranked) - 1)
    if small:
        return Verdict(best, None, p, f"Too few views for {', '.join(small)} (under {min_sample})")
    if p >= alpha:
        return Verdict(best, None, p, f"No significant difference yet (p = {p:.3f})")
    return Verdict(best, best, p, "")
