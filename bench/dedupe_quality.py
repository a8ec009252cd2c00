"""How well the duplicate finder finds duplicates: precision, recall and F1 of its pairs on
benchmark sets with known truth (bench/dedupe_data.py), for tuning and for the record.

    PYTHONPATH=src python bench/dedupe_quality.py                 # both sets, 20,000 people
    PYTHONPATH=src python bench/dedupe_quality.py --people 2000 --seed 2 --mix test

A pair is found when its probability is at least the threshold (the finder's own
`MATCH_THRESHOLD` unless --threshold says otherwise). True pairs are all pairs of records
of one person; a true pair the finder never compared counts as missed. "Blocking recall"
is the share of true pairs among the candidate pairs the finder compared at all (the
ceiling of its recall). By default the tuning set (seed 1, mix "tuning") and the test set
(seed 2, mix "test") are both reported; only the test set says how the finder does on data
nobody tuned it on.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedupe_data
import dedupe_tables
import dedupe_truth

TUNING = {"seed": 1, "mix": "tuning"}
TEST = {"seed": 2, "mix": "test"}


@dataclass
class Evaluation:
    """The figures for one set, and the errors worth reading."""

    people: int
    seed: int
    mix: str
    threshold: float
    records: int
    true_pairs: int
    candidate_pairs: int
    found_pairs: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    blocking_recall: float
    normalise_seconds: float
    find_seconds: float
    # The same figures for the pairs a merge of every found pair would join (its
    # transitive closure): a copy linked to the first record by one pair and to a second
    # copy by another ends in one contact even when the two copies share nothing.
    closure_precision: float = 0.0
    closure_recall: float = 0.0
    closure_f1: float = 0.0
    # (probability, left record, right record, what the generator did) — worst first
    false_positives: list[tuple] = field(default_factory=list)
    false_negatives: list[tuple] = field(default_factory=list)
    never_compared: list[tuple] = field(default_factory=list)
    recall_by_corruption: dict[str, tuple[int, int]] = field(default_factory=dict)
    false_positives_by_kind: dict[str, int] = field(default_factory=dict)
    # hard-negative kind -> what the two records of its false positives share or contradict
    false_positive_profile: dict[str, dict[str, int]] = field(default_factory=dict)

    def figures(self) -> dict:
        """The numbers alone, rounded, for `make bench` and the notes."""
        return {
            "people": self.people,
            "records": self.records,
            "true_pairs": self.true_pairs,
            "candidate_pairs": self.candidate_pairs,
            "found_pairs": self.found_pairs,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "blocking_recall": round(self.blocking_recall, 4),
            "closure_f1": round(self.closure_f1, 4),
            "threshold": self.threshold,
            "seconds_normalise": round(self.normalise_seconds, 2),
            "seconds_find": round(self.find_seconds, 2),
        }


def _pair_keys(left: np.ndarray, right: np.ndarray, size: int) -> np.ndarray:
    low = np.minimum(left, right).astype(np.int64)
    high = np.maximum(left, right).astype(np.int64)
    return low * (size + 1) + high


def evaluate(
    *, people: int, seed: int, mix: str, threshold: float | None = None, worst: int = 20
) -> Evaluation:
    """Generate a set, run the finder over all of it, score its pairs against the truth."""
    from leadflow.duplicates import engine, model, records

    generated = dedupe_data.benchmark_set_generate(seed=seed, people=people, mix=mix)
    threshold = model.MATCH_THRESHOLD if threshold is None else threshold
    by_id = {record["id"]: record for record in generated.records}
    size = len(generated.records)

    started = time.perf_counter()
    persons = [records.person_normalise(record) for record in generated.records]
    normalised = time.perf_counter()
    found = engine.duplicates_find_in(persons)
    finished = time.perf_counter()

    left = np.asarray(found.left_ids, dtype=np.int64)
    right = np.asarray(found.right_ids, dtype=np.int64)
    probabilities = np.asarray(found.probabilities, dtype=np.float64)
    candidate_keys = _pair_keys(left, right, size)
    truth_pairs = sorted(dedupe_truth.true_pairs(generated.truth))
    true_keys = np.array([low * (size + 1) + high for low, high in truth_pairs], dtype=np.int64)

    candidate_is_true = np.isin(candidate_keys, true_keys)
    chosen = probabilities >= threshold
    true_positives = int(np.count_nonzero(chosen & candidate_is_true))
    found_pairs = int(np.count_nonzero(chosen))
    compared_true = int(np.count_nonzero(np.isin(true_keys, candidate_keys)))
    precision = true_positives / found_pairs if found_pairs else 1.0
    recall = true_positives / len(true_keys) if len(true_keys) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    closure_precision, closure_recall = _closure_scores(
        left[chosen].tolist(), right[chosen].tolist(), truth_pairs
    )
    closure_f1 = (
        2 * closure_precision * closure_recall / (closure_precision + closure_recall)
        if closure_precision + closure_recall
        else 0.0
    )

    def described(record_id: int) -> dict:
        return {
            "record": by_id[record_id],
            "person": generated.truth[record_id],
            "corruptions": generated.corruptions[record_id],
            "hard_negative": generated.hard_negatives.get(generated.truth[record_id]),
        }

    false_positive_rows = np.flatnonzero(chosen & ~candidate_is_true)
    false_positive_rows = false_positive_rows[np.argsort(-probabilities[false_positive_rows])]
    false_positives = [
        (float(probabilities[row]), described(int(left[row])), described(int(right[row])))
        for row in false_positive_rows[:worst]
    ]
    false_positives_by_kind: collections.Counter = collections.Counter()
    profile: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in false_positive_rows:
        kinds = {
            generated.hard_negatives.get(generated.truth[int(record_id)], ("other",))[0]
            for record_id in (left[row], right[row])
        }
        kinds.discard("other")
        kind = " + ".join(sorted(kinds)) or "other"
        false_positives_by_kind[kind] += 1
        profile[kind].update(_shared(by_id[int(left[row])], by_id[int(right[row])]))

    probability_of = dict(zip(candidate_keys.tolist(), probabilities.tolist(), strict=True))
    missed_compared, missed_never = [], []
    recall_by_corruption: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for (low, high), key in zip(truth_pairs, true_keys.tolist(), strict=True):
        probability = probability_of.get(key)
        hit = probability is not None and probability >= threshold
        kinds = set(generated.corruptions[low]) | set(generated.corruptions[high])
        for kind in kinds or {"(none)"}:
            recall_by_corruption[kind][0] += hit
            recall_by_corruption[kind][1] += 1
        if hit:
            continue
        if probability is None:
            missed_never.append((None, described(low), described(high)))
        else:
            missed_compared.append((probability, described(low), described(high)))
    missed_compared.sort(key=lambda row: row[0])

    return Evaluation(
        people=people,
        seed=seed,
        mix=mix,
        threshold=threshold,
        records=size,
        true_pairs=len(true_keys),
        candidate_pairs=len(candidate_keys),
        found_pairs=found_pairs,
        true_positives=true_positives,
        precision=precision,
        recall=recall,
        f1=f1,
        blocking_recall=compared_true / len(true_keys) if len(true_keys) else 1.0,
        normalise_seconds=normalised - started,
        find_seconds=finished - normalised,
        closure_precision=closure_precision,
        closure_recall=closure_recall,
        closure_f1=closure_f1,
        false_positives=false_positives,
        false_negatives=missed_compared[:worst],
        never_compared=missed_never[:worst],
        recall_by_corruption={kind: tuple(v) for kind, v in sorted(recall_by_corruption.items())},
        false_positives_by_kind=dict(false_positives_by_kind.most_common()),
        false_positive_profile={
            kind: dict(profile[kind]) for kind, _ in false_positives_by_kind.most_common()
        },
    )


def _shared(one: dict, other: dict) -> list[str]:
    """What two records share and what they contradict, in words for the profile."""

    def same(key: str) -> bool:
        return bool(one[key]) and one[key] == other[key]

    def differ(key: str) -> bool:
        return bool(one[key]) and bool(other[key]) and one[key] != other[key]

    def names(record: dict) -> tuple[str, str]:
        fold = dedupe_truth.ascii_fold
        return fold(record["first_name"]).lower(), fold(record["last_name"]).lower()

    facts = {
        "same first and last name": names(one) == names(other),
        "same last name only": names(one)[1] == names(other)[1] and names(one) != names(other),
        "same phone": same("phone"),
        "same street and postal code": same("street_address")
        and one["postal_code"] == other["postal_code"],
        "same date of birth": same("date_of_birth"),
        "same email local part": bool(one["email"])
        and bool(other["email"])
        and one["email"].split("@")[0] == other["email"].split("@")[0],
        "same company": same("company_domain"),
        "dates of birth differ": differ("date_of_birth"),
        "countries differ": differ("country"),
        "phones differ": differ("phone"),
    }
    return ["pairs", *(fact for fact, holds in facts.items() if holds)]


def _closure_scores(
    left: list[int], right: list[int], truth_pairs: list[tuple[int, int]]
) -> tuple[float, float]:
    """(precision, recall) of the pairs joined when every found pair is merged."""
    parent: dict[int, int] = {}

    def root(record_id: int) -> int:
        parent.setdefault(record_id, record_id)
        while parent[record_id] != record_id:
            parent[record_id] = parent[parent[record_id]]
            record_id = parent[record_id]
        return record_id

    for one, other in zip(left, right, strict=True):
        parent[root(one)] = root(other)
    sizes = collections.Counter(root(record_id) for record_id in list(parent))
    joined = sum(size * (size - 1) // 2 for size in sizes.values())
    hits = sum(
        1
        for one, other in truth_pairs
        if one in parent and other in parent and root(one) == root(other)
    )
    precision = hits / joined if joined else 1.0
    recall = hits / len(truth_pairs) if truth_pairs else 1.0
    return precision, recall


def record_line(described: dict) -> str:
    """One record as a reviewer would skim it, with what the generator did to it."""
    record = described["record"]
    address = ", ".join(
        part for part in (record["street_address"], record["postal_code"], record["city"]) if part
    )
    parts = [
        f"#{record['id']} p{described['person']}",
        f"{record['first_name']} {record['last_name']}",
        record["email"] or "-",
        record["phone"] or "-",
        record["date_of_birth"] or "-",
        f"{address or '-'} {record['country']}",
        record["company_name"] or "-",
    ]
    notes = described["corruptions"]
    if described["hard_negative"]:
        kind, model_person = described["hard_negative"]
        notes = [*notes, f"{kind} of p{model_person}"]
    return " | ".join(parts) + (f"  [{', '.join(notes)}]" if notes else "")


def report(evaluation: Evaluation, *, worst: int = 20) -> str:
    """The figures and the worst errors as text (Markdown-friendly)."""
    e = evaluation
    lines = [
        f"### seed {e.seed}, mix {e.mix}: {e.people:,} people, {e.records:,} records",
        "",
        f"- precision {e.precision:.4f}, recall {e.recall:.4f}, **F1 {e.f1:.4f}** "
        f"(threshold {e.threshold})",
        f"- true pairs {e.true_pairs:,}; found {e.found_pairs:,}, of which true "
        f"{e.true_positives:,}",
        f"- blocking recall {e.blocking_recall:.4f} over {e.candidate_pairs:,} candidate pairs "
        f"({e.candidate_pairs / max(e.records, 1):.1f} per record)",
        f"- merging every found pair (transitive closure): precision "
        f"{e.closure_precision:.4f}, recall {e.closure_recall:.4f}, F1 {e.closure_f1:.4f}",
        f"- time: normalise {e.normalise_seconds:.1f} s, find {e.find_seconds:.1f} s",
        "- false positives by hard-negative kind: "
        + (", ".join(f"{k} {v}" for k, v in e.false_positives_by_kind.items()) or "none"),
        "- false positives, what their two records share or contradict: "
        + "; ".join(
            f"{kind}: " + ", ".join(f"{fact} {count}" for fact, count in facts.items())
            for kind, facts in e.false_positive_profile.items()
        ),
        "- recall by corruption (found/true pairs where either record had it): "
        + ", ".join(
            f"{kind} {hit}/{total}" for kind, (hit, total) in e.recall_by_corruption.items()
        ),
        "",
        f"#### worst false positives (highest probability, up to {worst})",
        "",
    ]
    for probability, one, other in e.false_positives[:worst]:
        lines += [f"- p={probability:.4f}", f"  - {record_line(one)}", f"  - {record_line(other)}"]
    lines += ["", f"#### worst false negatives (lowest probability, up to {worst})", ""]
    for probability, one, other in e.false_negatives[:worst]:
        lines += [f"- p={probability:.4f}", f"  - {record_line(one)}", f"  - {record_line(other)}"]
    lines += ["", f"#### true pairs never compared (blocking misses, up to {worst})", ""]
    for _, one, other in e.never_compared[:worst]:
        lines += ["- never compared", f"  - {record_line(one)}", f"  - {record_line(other)}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, help="one set only (with --mix)")
    parser.add_argument("--mix", choices=sorted(dedupe_tables.MIXES), help="one set only")
    parser.add_argument("--threshold", type=float, help="default: model.MATCH_THRESHOLD")
    parser.add_argument("--worst", type=int, default=20, help="errors listed per kind")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    arguments = parser.parse_args(argv)

    if arguments.seed is not None or arguments.mix:
        sets = [{"seed": arguments.seed or TEST["seed"], "mix": arguments.mix or TEST["mix"]}]
    else:
        sets = [TUNING, TEST]
    texts = []
    for chosen in sets:
        evaluation = evaluate(
            people=arguments.people,
            threshold=arguments.threshold,
            worst=arguments.worst,
            **chosen,
        )
        text = report(evaluation, worst=arguments.worst)
        print(text, flush=True)
        texts.append(text)
    if arguments.out:
        arguments.out.write_text("\n".join(texts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
