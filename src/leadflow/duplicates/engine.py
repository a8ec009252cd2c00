"""The duplicate finder in memory: block, compare, fit, score (`duplicates_find_in`).

The whole-workspace scan does the same with blocking in SQL (the keys in a table, joined on
itself); this module is the reference it mirrors and what the benchmark measures.
`duplicates_find_in` guarantees: each candidate pair once, lower id on the left, never a
person with itself; a pair is a candidate when the two share a blocking key whose block has
at most `blocking.block_cap(key)` members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from leadflow.duplicates.blocking import BLOCK_CAP, BLOCK_CAPS, person_keys
from leadflow.duplicates.compare import PersonTable, comparisons_for, table_compare
from leadflow.duplicates.model import (
    Weights,
    probabilities,
    u_from_random,
    weights_default,
    weights_fit,
)
from leadflow.duplicates.records import Person

# Random pairs measured for u (Splink samples a few hundred thousand; 100,000 give each
# level's u to within a few per cent at the rates that matter).
RANDOM_PAIRS = 100_000
# Pairs are compared in batches of this many: memory stays flat on a large scan.
COMPARE_BATCH = 200_000


@dataclass
class FoundPairs:
    """Candidate pairs (left_ids[i] < right_ids[i]) with their levels and probabilities."""

    left_ids: np.ndarray
    right_ids: np.ndarray
    gammas: np.ndarray
    probabilities: np.ndarray
    weights: Weights

    def __len__(self) -> int:
        return len(self.left_ids)

    def above(self, threshold: float) -> FoundPairs:
        keep = self.probabilities >= threshold
        return FoundPairs(
            self.left_ids[keep],
            self.right_ids[keep],
            self.gammas[keep],
            self.probabilities[keep],
            self.weights,
        )


def _triangle(size: int, cache: dict[int, tuple[np.ndarray, np.ndarray]]):
    if size not in cache:
        cache[size] = np.triu_indices(size, k=1)
    return cache[size]


def candidate_pairs(
    keys_per_person: Sequence[Sequence[str]],
    *,
    block_cap: int = BLOCK_CAP,
    block_caps: Mapping[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of persons sharing a key in a block of 2..cap members, the cap
    being `block_caps[family]` for the key's family, else `block_cap` (defaults: blocking's
    `BLOCK_CAPS` and `BLOCK_CAP`).

    Blocks of one size are stacked into a matrix and expanded at once, so the work per
    block is numpy's, not Python's."""
    caps = BLOCK_CAPS if block_caps is None else block_caps
    key_ids: dict[str, int] = {}
    key_caps: list[int] = []
    owners: list[int] = []
    key_of: list[int] = []
    for index, keys in enumerate(keys_per_person):
        for key in keys:
            key_id = key_ids.setdefault(key, len(key_ids))
            if key_id == len(key_caps):
                key_caps.append(caps.get(key.split(":", 1)[0], block_cap))
            key_of.append(key_id)
            owners.append(index)
    if not owners:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    key_array = np.asarray(key_of, dtype=np.int64)
    owner_array = np.asarray(owners, dtype=np.int64)
    order = np.argsort(key_array, kind="stable")
    key_array, owner_array = key_array[order], owner_array[order]
    starts = np.flatnonzero(np.r_[True, key_array[1:] != key_array[:-1]])
    sizes = np.diff(np.r_[starts, len(key_array)])
    too_large = sizes > np.asarray(key_caps, dtype=np.int64)[key_array[starts]]
    sizes = np.where(too_large, 0, sizes)  # a skipped block: no pairs
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    lefts, rights = [], []
    for size in np.unique(sizes):
        if size < 2:
            continue
        block_starts = starts[sizes == size]
        members = owner_array[block_starts[:, None] + np.arange(size)[None, :]]
        first, second = _triangle(int(size), cache)
        lefts.append(members[:, first].ravel())
        rights.append(members[:, second].ravel())
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    left, right = np.concatenate(lefts), np.concatenate(rights)
    low, high = np.minimum(left, right), np.maximum(left, right)
    keep = low != high
    codes = np.unique(low[keep] * len(keys_per_person) + high[keep])
    return codes // len(keys_per_person), codes % len(keys_per_person)


def duplicates_find_in(
    persons: Sequence[Person],
    *,
    weights: Weights | None = None,
    fit: bool = True,
    identifying: Mapping[str, str] | None = None,
) -> FoundPairs:
    """Every candidate pair among `persons` with its levels and match probability.

    Weights start from `weights` (a workspace's last fit, decisions included) or the
    defaults; with `fit`, m is refined by MAP EM on these candidates, u measured on random
    pairs and the prior estimated (`model.weights_fit`)."""
    comparisons = comparisons_for(identifying)
    start = weights or weights_default(comparisons, population=len(persons))
    left, right = candidate_pairs([person_keys(p) for p in persons])
    table = PersonTable(persons)
    batches = [
        table_compare(
            table.take(left[i : i + COMPARE_BATCH]),
            table.take(right[i : i + COMPARE_BATCH]),
            comparisons,
        )
        for i in range(0, len(left), COMPARE_BATCH)
    ]
    gammas = np.concatenate(batches) if batches else np.zeros((0, len(comparisons)), dtype=np.int8)
    fitted = start
    if fit and len(gammas):
        pairs_total = len(persons) * (len(persons) - 1) // 2
        u_random = u_from_random(persons, comparisons, min(RANDOM_PAIRS, pairs_total))
        fitted = weights_fit(gammas, start=start, u_random=u_random, pairs_total=pairs_total)
    ids = np.fromiter((p.id for p in persons), dtype=np.int64, count=len(persons))
    left_ids, right_ids = ids[left], ids[right]
    swap = left_ids > right_ids
    left_ids, right_ids = np.where(swap, right_ids, left_ids), np.where(swap, left_ids, right_ids)
    return FoundPairs(left_ids, right_ids, gammas, probabilities(gammas, fitted), fitted)
