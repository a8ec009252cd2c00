"""A check of the benchmark, not of the finder: can the target be reached at all?

A hand rule that knows how the generator decides what a duplicate is (`has_evidence`) and
its nickname table, but not the truth, judges the finder's own candidate pairs: a pair
matches when it passes `has_evidence` either way and the first names are compatible
(one readable in the other record, in any order, or an initial of it). If this rule
scored far below the issue's F1 target, the target would be unreachable on this set.

    PYTHONPATH=src python bench/dedupe_reference_rule.py [--people 20000]
"""

from __future__ import annotations

import argparse

import dedupe_quality
from dedupe_data import benchmark_set_generate
from dedupe_truth import ascii_fold, has_evidence, name_recognisable, true_pairs


def first_names_compatible(one: dict, other: dict) -> bool:
    if name_recognisable(one["first_name"], (other["first_name"], other["last_name"])):
        return True
    if name_recognisable(other["first_name"], (one["first_name"], one["last_name"])):
        return True
    first, second = (ascii_fold(r["first_name"]).lower().rstrip(".") for r in (one, other))
    return (len(first) == 1 and second.startswith(first)) or (
        len(second) == 1 and first.startswith(second)
    )


def rule_scores(*, people: int, seed: int, mix: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the rule over the finder's candidate pairs."""
    from leadflow.duplicates import engine, records

    generated = benchmark_set_generate(seed=seed, people=people, mix=mix)
    by_id = {record["id"]: record for record in generated.records}
    found = engine.duplicates_find_in(
        [records.person_normalise(record) for record in generated.records]
    )
    truth = true_pairs(generated.truth)
    hits = chosen = 0
    for left, right in zip(found.left_ids.tolist(), found.right_ids.tolist(), strict=True):
        one, other = by_id[left], by_id[right]
        evidence = has_evidence(one, other) or has_evidence(other, one)
        if evidence and first_names_compatible(one, other):
            chosen += 1
            hits += (min(left, right), max(left, right)) in truth
    precision = hits / chosen if chosen else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    arguments = parser.parse_args()
    for name, chosen in (("tuning", dedupe_quality.TUNING), ("test", dedupe_quality.TEST)):
        precision, recall, f1 = rule_scores(people=arguments.people, **chosen)
        print(f"{name}: reference rule precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
