"""Duplicate finder quality: precision, recall and F1 on the tuning and the test set.

Sets with known truth from bench/dedupe_data.py (BENCH_DEDUPE_PEOPLE people each, 20,000
by default): the tuning set (seed 1, tuning mix) and the test set (seed 2, test mix),
which nobody tunes on; issue 12's target is F1 >= 0.98 on the test set. A quality figure
needs no same-run baseline: it does not depend on the machine. Seconds are reported for
reading alongside, not compared. bench/dedupe_quality.py prints the worst errors too.
"""

import os

import dedupe_quality


def run() -> dict:
    people = int(os.environ.get("BENCH_DEDUPE_PEOPLE", "20000"))
    return {
        name: dedupe_quality.evaluate(people=people, **chosen).figures()
        for name, chosen in (("tuning", dedupe_quality.TUNING), ("test", dedupe_quality.TEST))
    }
