"""The match probability of a pair: a Fellegi-Sunter model fitted by EM, refined by decisions.

Each comparison k at level g has three distributions over its levels:
  m[k][g] = P(level g | one person written twice),
  u[k][g] = P(level g | two people drawn at random),
  h[k][g] = P(level g | two related people: a household or family business sharing an
            address, often a landline and a last name, sometimes a birthday).
A pair's posterior is the share of the first class in
  prior * prod m  +  (1 - prior - prior_related) * prod u  +  prior_related * prod h
over the comparisons it has (a missing value, level -1, contributes nothing). With
`prior_related` = 0 it is the classic two-class Fellegi-Sunter model. The third class is
there because the fields a household shares are not independent: counted as independent
evidence of one person, an address, a landline and a last name outweighed two different
first names, and every spouse became a "duplicate" (484 of 822 false positives on the
benchmark's tuning set before, 5 after).

The population is every pair of contacts in the workspace, as in Splink: `u` is measured on
random pairs and the priors are the chances that two contacts drawn at random are one
person / related. Blocking does not change a pair's posterior when its keys are made of the
compared fields (a shared key is itself agreement the levels record), so candidates are
scored with the global model. We tried u and priors estimated among the candidates only:
there a non-match shares *some* key, so it agrees on names or on the date of birth far more
often than two random people do; "same name and same date of birth" stopped being strong
evidence, and EM drifted until duplicates who had moved were counted as strangers.

How `weights_fit` estimates the weights:
- **u** from random pairs (`u_from_random`; the engine samples up to 100,000, with one
  pseudo-count per level; without them `start.u`), plus the dismissals (below). u is fixed
  during EM, as in Splink.
- **m and h by MAP EM on the workspace's candidate pairs** (nearly every duplicate and every
  related pair is among them). m and h start from and are pulled towards Dirichlet priors
  centred on `start` (the defaults or the workspace's last weights): m by `prior_strength`
  pseudo-pairs, h by `RELATED_STRENGTH` times as many (left free, h drifted towards
  duplicates sharing an address). A workspace with twenty candidate pairs keeps sensible
  weights; a large one is governed by its data. Starting from `start` also keeps the
  classes from swapping.
- **priors** = the candidates' expected number of matches (related pairs) / all pairs
  (`pairs_total`), with one pseudo-pair at the start's prior; without `pairs_total` the
  start's priors stay.
- **Decisions.** `labels` marks rows a person decided: 1 merged, 0 "not a duplicate",
  -1 undecided. A decided row counts `LABEL_WEIGHT` times; a merge is fixed in the match
  class (its levels pull m), a dismissal is fixed out of it (shared between related and
  random by their posteriors), and its levels also enter u against `DECISION_U_PSEUDO`
  pseudo random pairs. Pairs like a dismissed one score lower afterwards, pairs like a
  merged one higher (tests/duplicates/test_engine.py pins both directions).
- **Speed.** EM runs over the distinct (levels, label) patterns with their counts (a scan's
  millions of pairs have a few thousand patterns), so fitting costs milliseconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from leadflow.duplicates.compare import (
    BASE_COMPARISONS,
    NAME_LEVELS,
    Comparison,
    pairs_compare,
)
from leadflow.duplicates.records import Person

MATCH_THRESHOLD = 0.9  # at or above: "likely duplicate" (and what automatic merging may use)
LIST_THRESHOLD = 0.5  # below: not worth a person's review
LABEL_WEIGHT = 5.0
PRIOR_STRENGTH = 50.0
# The random pairs a dismissal is weighed against in the global u: 20 dismissals (weight
# 5 each) make their pattern 2% of "two different people", enough to move it, not to
# drown what the random pairs measured.
DECISION_U_PSEUDO = 5000.0
# The related class's prior counts this many times more than m's: left free, it drifts
# towards duplicates that share an address (and then explains them away).
RELATED_STRENGTH = 100.0
# The highest probability of a pair that agrees on nothing but its names (see probabilities).
NAMES_ONLY_CAP = 0.8
NAME_COMPARISONS = frozenset({"first_name", "last_name", "names_swapped"})
# Share of contacts assumed to have a duplicate before a workspace is fitted.
DUPLICATE_SHARE = 0.05
_FLOOR = 1e-9

# Hand-set m per level (weakest first): how a true duplicate's field usually reads, typos,
# nicknames and moves included.
_M_DEFAULTS: dict[str, tuple[float, ...]] = {
    "first_name": (0.04, 0.04, 0.10, 0.06, 0.76),
    "last_name": (0.04, 0.04, 0.12, 0.005, 0.795),
    "email": (0.25, 0.05, 0.15, 0.55),
    "phone": (0.15, 0.05, 0.80),
    "date_of_birth": (0.05, 0.04, 0.03, 0.88),
    "street": (0.30, 0.10, 0.60),
    "city": (0.30, 0.05, 0.65),
    "postal_code": (0.30, 0.05, 0.65),
    "company": (0.40, 0.10, 0.50),
    "names_swapped": (0.95, 0.05),
}
# Hand-set u on random pairs: how rarely two different people agree by chance.
_U_DEFAULTS: dict[str, tuple[float, ...]] = {
    "first_name": (0.985, 0.005, 0.003, 0.002, 0.005),
    "last_name": (0.992, 0.003, 0.002, 0.0005, 0.0025),
    "email": (0.9996, 0.0003, 0.00005, 0.00005),
    "phone": (0.9998, 0.0001, 0.0001),
    "date_of_birth": (0.99515, 0.0047, 0.0001, 0.00005),
    "street": (0.9998, 0.0001, 0.0001),
    "city": (0.97, 0.005, 0.025),
    "postal_code": (0.99, 0.008, 0.002),
    "company": (0.97, 0.01, 0.02),
    "names_swapped": (0.95, 0.05),
}
# Hand-set h per level: how two *related* people read (a household or a family business:
# one address, often one landline and one last name, sometimes one birthday, twins; first
# names, personal emails and dates of birth that differ). Without this class every field a
# household shares counted as independent evidence of one person.
_H_DEFAULTS: dict[str, tuple[float, ...]] = {
    "first_name": (0.93, 0.03, 0.01, 0.005, 0.025),
    "last_name": (0.15, 0.02, 0.03, 0.0001, 0.7999),
    "email": (0.97, 0.02, 0.005, 0.005),
    "phone": (0.55, 0.05, 0.40),
    "date_of_birth": (0.90, 0.06, 0.01, 0.03),
    "street": (0.15, 0.05, 0.80),
    "city": (0.10, 0.02, 0.88),
    "postal_code": (0.10, 0.05, 0.85),
    "company": (0.85, 0.05, 0.10),
    "names_swapped": (0.95, 0.05),
}
# Comparisons that describe a pair but carry no weight (m = u): a swap is recorded so the
# reasons can say it, but the names' own levels already count the agreement, and two
# different people agreeing crosswise are about as rare as agreeing straight, so the swap
# itself tells nothing more (scored, it made every crosswise namesake a "duplicate").
UNSCORED = frozenset({"names_swapped"})
# Custom identifying fields by number of levels: (m, u, h).
_CUSTOM_DEFAULTS = {
    2: ((0.10, 0.90), (0.9999, 0.0001), (0.98, 0.02)),
    3: ((0.08, 0.07, 0.85), (0.999, 0.0009, 0.0001), (0.96, 0.02, 0.02)),
}


def _defaults(name: str, size: int) -> tuple[tuple[float, ...], ...]:
    if name in _M_DEFAULTS:
        return _M_DEFAULTS[name], _U_DEFAULTS[name], _H_DEFAULTS[name]
    return _CUSTOM_DEFAULTS[size]


@dataclass
class Weights:
    """Per comparison and level (weakest first): m (one person), u (two random people) and
    h (two related people sharing a household's details); the priors are the chances that
    two contacts drawn at random are one person (`prior`) or related (`prior_related`).
    `fitted_pairs` / `labelled_pairs` say what the fit saw."""

    comparisons: list[str]
    m: list[list[float]]
    u: list[list[float]]
    prior: float
    fitted_pairs: int = 0
    labelled_pairs: int = 0
    h: list[list[float]] | None = None
    prior_related: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Weights:
        return cls(**json.loads(text))

    def log_ratios(self) -> list[np.ndarray]:
        """log(m/u) per comparison and level: how strongly each level alone speaks.
        Computed once per set of m and u (a scan explains a hundred thousand pairs)."""
        key = (id(self.m), id(self.u))
        cached = self.__dict__.get("_ratios")
        if cached is None or cached[0] != key:
            ratios = [
                np.log(np.maximum(m, _FLOOR)) - np.log(np.maximum(u, _FLOOR))
                for m, u in zip(self.m, self.u, strict=True)
            ]
            cached = (key, ratios)
            self.__dict__["_ratios"] = cached
        return cached[1]


def prior_for(population: int, duplicate_share: float = DUPLICATE_SHARE) -> float:
    """P(two random contacts are one person) when `duplicate_share` of them have a twin."""
    population = max(population, 2)
    return min(0.5, duplicate_share * population / 2 / (population * (population - 1) / 2))


def weights_default(comparisons: Sequence[Comparison], *, population: int = 10_000) -> Weights:
    """Hand-set weights that already tell a duplicate from a namesake or a relative in a
    tiny workspace; the priors assume `DUPLICATE_SHARE` of `population` contacts have a
    duplicate, and as many a relative."""
    m, u, h = [], [], []
    for comparison in comparisons:
        m_row, u_row, h_row = _defaults(comparison.name, len(comparison.levels))
        m.append(list(m_row))
        u.append(list(u_row))
        h.append(list(h_row))
    prior = prior_for(population)
    return Weights([c.name for c in comparisons], m, u, prior, h=h, prior_related=prior)


def _aligned(start: Weights, n_comparisons: int) -> None:
    if len(start.m) != n_comparisons:
        raise ValueError(
            f"weights are for {len(start.m)} comparisons, the levels have {n_comparisons}"
        )


def _log_likelihood(levels: np.ndarray, rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Sum over the present comparisons of log P(level | class), per row of levels."""
    total = np.zeros(len(levels))
    for k, row in enumerate(rows):
        logs = np.log(np.maximum(np.asarray(row, dtype=np.float64), _FLOOR))
        column = levels[:, k]
        present = column >= 0
        total[present] += logs[column[present]]
    return total


def _posteriors(levels: np.ndarray, classes: Sequence[tuple[float, Sequence]]) -> np.ndarray:
    """P(class | levels) per row, for classes given as (prior, rows); shape (n, classes)."""
    scores = np.stack(
        [
            math.log(max(prior, 1e-300)) + _log_likelihood(levels, rows)
            if prior > 0
            else np.full(len(levels), -np.inf)
            for prior, rows in classes
        ],
        axis=1,
    )
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def probabilities(gammas: np.ndarray, weights: Weights) -> np.ndarray:
    """Posterior P(one person) per row of levels; at most `NAMES_ONLY_CAP` (listed, never
    "likely") for a pair whose only agreeing fields are its names."""
    gammas = np.asarray(gammas)
    _aligned(weights, gammas.shape[1] if gammas.ndim == 2 else 0)
    related = weights.prior_related if weights.h is not None else 0.0
    classes = [
        (weights.prior, weights.m),
        (1.0 - weights.prior - related, weights.u),
        (related, weights.h or weights.u),
    ]
    posterior = _posteriors(gammas, classes)[:, 0]
    # Names alone are never a likely duplicate: no reviewer could confirm one, and two
    # namesakes look exactly like it. Such a pair is listed for review at most.
    other = [k for k, name in enumerate(weights.comparisons) if name not in NAME_COMPARISONS]
    names_only = ~(gammas[:, other] >= 1).any(axis=1) if other else np.ones(len(gammas), bool)
    return np.where(names_only, np.minimum(posterior, NAMES_ONLY_CAP), posterior)


def _normalised(row: np.ndarray) -> list[float]:
    return np.maximum(row / row.sum(), _FLOOR).tolist()


def weights_fit(
    gammas: np.ndarray,
    *,
    start: Weights,
    labels: np.ndarray | None = None,
    u_random: Sequence[Sequence[float]] | None = None,
    pairs_total: int | None = None,
    iterations: int = 60,
    prior_strength: float = PRIOR_STRENGTH,
    label_weight: float = LABEL_WEIGHT,
    tolerance: float = 1e-7,
) -> Weights:
    """Weights refined on candidate pairs' levels and the team's decisions (see the
    module's docstring). `labels`: 1 merged, 0 dismissed, -1 undecided, per row;
    `u_random`: u measured on random pairs; `pairs_total`: how many pairs the workspace has.
    """
    gammas = np.asarray(gammas, dtype=np.int8)
    n_comparisons = len(start.m)
    if gammas.ndim != 2:
        gammas = gammas.reshape(0, n_comparisons)
    _aligned(start, gammas.shape[1])
    n_rows = len(gammas)
    labels = np.full(n_rows, -1, dtype=np.int8) if labels is None else np.asarray(labels, np.int8)
    keyed = np.concatenate([gammas, labels[:, None]], axis=1)
    patterns, counts = np.unique(keyed, axis=0, return_counts=True)
    levels, pattern_labels = patterns[:, :-1], patterns[:, -1]
    decided = pattern_labels >= 0
    counts = counts.astype(np.float64) * np.where(decided, label_weight, 1.0)
    sizes = [len(row) for row in start.m]
    defaults = [_defaults(name, size) for name, size in zip(start.comparisons, sizes, strict=True)]
    m0 = [np.asarray(row, dtype=np.float64) for row in start.m]
    h0 = [
        np.asarray(row, dtype=np.float64)
        for row in (start.h or [default[2] for default in defaults])
    ]

    # u: random pairs (or the start) plus the dismissals; fixed during EM, as in Splink.
    u_rows = []
    dismissed = pattern_labels == 0
    for k in range(n_comparisons):
        base = np.asarray(u_random[k] if u_random is not None else start.u[k], dtype=np.float64)
        column = levels[:, k]
        chosen = dismissed & (column >= 0)
        dismissal_counts = np.bincount(column[chosen], counts[chosen], minlength=sizes[k])
        u_rows.append(_normalised(base * DECISION_U_PSEUDO + dismissal_counts))

    # EM over the candidates with the global classes: one person (m), related (h), two
    # random people (u). Pairs never compared count as "two random people".
    prior = start.prior
    prior_related = start.prior_related or start.prior
    m_rows = [r.tolist() for r in m0]
    h_rows = [r.tolist() for r in h0]
    merged = decided & (pattern_labels == 1)
    responsibility = np.zeros((len(levels), 3))
    for _ in range(iterations if len(levels) else 0):
        classes = [(prior, m_rows), (1 - prior - prior_related, u_rows), (prior_related, h_rows)]
        responsibility = _posteriors(levels, classes)
        responsibility[merged] = (1.0, 0.0, 0.0)
        others = responsibility[dismissed, 1:]
        others = others / np.maximum(others.sum(axis=1, keepdims=True), 1e-300)
        responsibility[dismissed] = np.c_[np.zeros(len(others)), others]
        weighted = responsibility * counts[:, None]
        new_m, new_h = [], []
        for k in range(n_comparisons):
            column = levels[:, k]
            present = column >= 0
            for rows, anchor, cls, strength in (
                (new_m, m0, 0, prior_strength),
                (new_h, h0, 2, prior_strength * RELATED_STRENGTH),
            ):
                found = np.bincount(column[present], weighted[present, cls], minlength=sizes[k])
                rows.append(_normalised(found + strength * anchor[k]))
        m_rows, h_rows = new_m, new_h
        if not pairs_total:
            continue
        # One pseudo-pair at the start's prior: a workspace with no duplicates keeps a prior.
        new_prior = (weighted[:, 0].sum() + 1) / (pairs_total + 1 / start.prior)
        new_related = (weighted[:, 2].sum() + 1) / (
            pairs_total + 1 / (start.prior_related or start.prior)
        )
        converged = abs(new_prior - prior) < tolerance * prior
        prior, prior_related = min(new_prior, 0.4), min(new_related, 0.4)
        if converged:
            break
    for k, name in enumerate(start.comparisons):
        if name in UNSCORED:
            u_rows[k] = list(m_rows[k])
            h_rows[k] = list(m_rows[k])
    return Weights(
        list(start.comparisons),
        m_rows,
        u_rows,
        prior,
        fitted_pairs=int(n_rows),
        labelled_pairs=int((labels >= 0).sum()),
        h=h_rows,
        prior_related=prior_related,
    )


def u_from_random(
    persons: Sequence[Person],
    comparisons: Sequence[Comparison],
    n: int = 100_000,
    *,
    seed: int = 0,
) -> list[list[float]]:
    """u per comparison and level measured on `n` random pairs (almost all of them two
    different people), with one pseudo-count per level so no level has u = 0."""
    if len(persons) < 2:
        return [[1.0 / len(c.levels)] * len(c.levels) for c in comparisons]
    generator = np.random.default_rng(seed)
    left = generator.integers(0, len(persons), n)
    right = generator.integers(0, len(persons), n)
    keep = left != right
    gammas = pairs_compare(
        [persons[i] for i in left[keep]], [persons[i] for i in right[keep]], comparisons
    )
    rows = []
    for k, comparison in enumerate(comparisons):
        column = gammas[:, k]
        counts = np.bincount(column[column >= 0], minlength=len(comparison.levels)) + 1.0
        rows.append((counts / counts.sum()).tolist())
    return rows


# --- reasons in words ---------------------------------------------------------------------

# What a partly agreeing level says about the two values ("first names Jon / John ...").
_LEVEL_PHRASES = {
    "similar": "are similar",
    "very similar": "are very similar",
    "nicknames": "are nicknames of one name",
    "similar local parts": "have similar parts before the @",
    "same local part": "share the part before the @",
    "same last 7 digits": "end in the same 7 digits",
    "two of three parts equal": "share two of day, month and year",
    "day and month swapped": "have day and month swapped",
    "same area": "share the area",
}
REASON_MAX = 200

# Bit i of a pair's reason flags: comparison i agrees at its top or second level.
REASON_BITS: dict[str, int] = {c.name: 1 << i for i, c in enumerate(BASE_COMPARISONS)}
REASON_WORDS: dict[str, str] = {
    "first_name": "same or similar first name",
    "last_name": "same or similar last name",
    "email": "same email or part before the @",
    "phone": "same phone",
    "date_of_birth": "same date of birth",
    "street": "same street address",
    "city": "same city",
    "postal_code": "same postal code or area",
    "company": "same company",
    "names_swapped": "first and last names swapped",
}


def reason_bits_for(comparisons: Sequence[Comparison]) -> dict[str, int]:
    """Bits of every comparison, the custom ones included (after the base ones)."""
    return {c.name: 1 << i for i, c in enumerate(comparisons) if i < 63}


def reason_flag_level(comparison: Comparison) -> int:
    """The weakest level that sets the comparison's reason bit: its top two levels, and for
    names every level from "very similar" up (a nickname is not stronger than a typo)."""
    if comparison.levels == NAME_LEVELS:
        return NAME_LEVELS.index("very similar")
    return max(1, len(comparison.levels) - 2)


def reason_flags(levels_row: Sequence[int], comparisons: Sequence[Comparison]) -> int:
    """Bit i set when comparison i agrees at its top or second level (names: from "very
    similar" up; see `reason_flag_level`); never for "different" or missing."""
    flags = 0
    for i, (level, comparison) in enumerate(zip(levels_row, comparisons, strict=True)):
        if i < 63 and level >= reason_flag_level(comparison):
            flags |= 1 << i
    return flags


def _shown(person: Person, comparison: Comparison, *, crosswise: bool = False) -> str:
    """The person's value for the comparison (a swapped pair's right side crosswise)."""
    name = comparison.name
    if crosswise and name in ("first_name", "last_name"):
        name = "last_name" if name == "first_name" else "first_name"
    value = {
        "first_name": person.first.title(),
        "last_name": person.last.title(),
        "email": person.email,
        "phone": f"+{person.phone}" if person.phone else "",
        "date_of_birth": person.dob,
        "street": person.street,
        "city": person.city.title(),
        "postal_code": person.postal,
        "company": person.company or person.company_domain,
    }.get(name)
    if value is None and name.startswith("custom:"):
        value = dict(person.extra).get(name.removeprefix("custom:"), "")
    value = value or ""
    return value if len(value) <= 28 else value[:27] + "…"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def reasons_describe(
    levels_row: Sequence[int],
    left: Person,
    right: Person,
    comparisons: Sequence[Comparison],
    *,
    weights: Weights | None = None,
) -> str:
    """The evidence in words a person can check, strongest first and at most 200
    characters: "same postal code and date of birth; first names Jon / John are similar;
    names swapped (…); differ: email". Values are named whenever they differ."""
    weights = weights or weights_default(comparisons)
    ratios = weights.log_ratios()
    same: list[tuple[float, str]] = []
    partial: list[tuple[float, str]] = []
    differ: list[tuple[float, str]] = []
    swapped = ""
    names = [c.name for c in comparisons]
    crosswise = "names_swapped" in names and levels_row[names.index("names_swapped")] == 1
    for k, (level, comparison) in enumerate(zip(levels_row, comparisons, strict=True)):
        level = int(level)
        if level < 0:
            continue
        strength = float(ratios[k][level])
        if comparison.name == "names_swapped":
            if level == 1:
                swapped = (
                    f"names swapped ({left.first.title()} {left.last.title()} / "
                    f"{right.first.title()} {right.last.title()})"
                )
            continue
        if level == 0:
            differ.append((strength, comparison.noun))
        elif level == len(comparison.levels) - 1:
            same.append((strength, comparison.noun))
        else:
            phrase = _LEVEL_PHRASES.get(comparison.levels[level], comparison.levels[level])
            a = _shown(left, comparison)
            b = _shown(right, comparison, crosswise=crosswise)
            values = f" {a} / {b}" if a != b else ""
            partial.append((strength, f"{comparison.label}{values} {phrase}"))
    parts = []
    if same:
        parts.append("same " + _and([words for _, words in sorted(same, reverse=True)]))
    parts.extend(words for _, words in sorted(partial, reverse=True))
    if swapped:
        parts.append(swapped)
    if differ:
        parts.append("differ: " + ", ".join(words for _, words in sorted(differ)))
    text = ""
    for part in parts:
        candidate = f"{text}; {part}" if text else part
        if len(candidate) > REASON_MAX:
            if not text:
                text = candidate[: REASON_MAX - 1] + "…"
            break
        text = candidate
    return text or "no field agrees"
