"""Outages under load: kill -9 of the web server and PostgreSQL restarts while form leads arrive.

Runs `leadflow serve` (2 web workers x 4 threads and the database queue worker) on a
PostgreSQL cluster of its own (Debian's binaries, a free port, fsync on), so it never
touches a shared server and needs no DATABASE_URL. Four client threads send form leads
(each at most one every 50 ms) as the embed script does: each lead has a client submission
id and is sent again with the same id after a refused connection, a 5xx or a timeout,
until a 2xx acknowledges it.
Meanwhile, a few seconds apart:

1. kill -9 of one granian worker process (granian starts another);
2. kill -9 of granian's main process (serve starts the web server again);
3. kill -9 of the background worker (serve starts it again; the new one queues again the
   task the old one was running);
4. a PostgreSQL restart (fast shutdown: sessions are disconnected);
5. a PostgreSQL stop of 2 s, then start;
6. a PostgreSQL crash restart (immediate shutdown, recovery from the WAL).

Then the load stops and every acknowledged submission id is looked up in the database:
lost (acknowledged, not stored) and duplicates (stored twice, or two contacts for one lead)
must be 0; both tiers must be back without a hand: the web server answering and every
background task queued during the run done, the PostgreSQL restarts waited out by the
same worker process. Bounded: the load runs 105 s; with the set-up and the worker's backlog
the whole run takes 3 to 5 minutes on two busy cores. Run alone with
`.venv/bin/python bench/bench_outages.py` (prints the figures as JSON, exits 1 when an
acknowledged lead was lost or doubled or a tier did not come back).
"""

import itertools
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.outages import (
    Installation,
    PostgresCluster,
    SubmissionLoad,
    ledger,
    tasks_settled,
)

SPACING_SECONDS = float(os.environ.get("BENCH_OUTAGE_SPACING", "15"))
RECOVERY_LIMIT_SECONDS = 60.0
DRAIN_LIMIT_SECONDS = 240.0  # the worker's backlog (one task per lead) after the load stops


def _kill_web_worker(installation: Installation, cluster: PostgresCluster) -> str:
    workers = installation.web_workers_pids()
    os.kill(random.choice(workers), signal.SIGKILL)
    return "kill -9 of a granian worker"


def _kill_web_server(installation: Installation, cluster: PostgresCluster) -> str:
    os.kill(installation.children()["web"], signal.SIGKILL)
    return "kill -9 of granian's main process"


def _kill_background_worker(installation: Installation, cluster: PostgresCluster) -> str:
    os.kill(installation.children()["worker"], signal.SIGKILL)
    return "kill -9 of the background worker"


def _postgres_restart(installation: Installation, cluster: PostgresCluster) -> str:
    return f"PostgreSQL restart, fast ({cluster.restart('fast'):.1f} s down)"


def _postgres_stop_start(installation: Installation, cluster: PostgresCluster) -> str:
    return f"PostgreSQL stopped, started 2 s later ({cluster.restart('fast', pause=2):.1f} s down)"


def _postgres_crash(installation: Installation, cluster: PostgresCluster) -> str:
    return f"PostgreSQL restart, immediate ({cluster.restart('immediate'):.1f} s down)"


FAULTS = [
    _kill_web_worker,
    _kill_web_server,
    _kill_background_worker,
    _postgres_restart,
    _postgres_stop_start,
    _postgres_crash,
]


def _recovery(load: SubmissionLoad, since: float) -> float | None:
    """Seconds from ``since`` until the web tier acknowledges a new lead again."""
    while time.monotonic() - since < RECOVERY_LIMIT_SECONDS:
        if load.acknowledged_since(since) > 0:
            return time.monotonic() - since
        time.sleep(0.05)
    return None


def _longest_gap(load: SubmissionLoad, start: float, end: float) -> float:
    """The longest time without an acknowledgment between ``start`` and ``end``."""
    with load._lock:
        moments = sorted(
            lead.first_answer_at
            for lead in load.acknowledged
            if start <= lead.first_answer_at <= end
        )
    moments = [start, *moments, end]
    return max(later - earlier for earlier, later in itertools.pairwise(moments))


def run() -> dict:
    cluster = PostgresCluster(durable=True)
    results: dict = {}
    try:
        cluster.start()
        data_dir = Path(tempfile.mkdtemp(prefix="leadflow-outages-"))
        installation = Installation(cluster.create_database("leadflow"), data_dir, web_workers=2)
        installation.prepare()
        installation.serve()
        load = SubmissionLoad(installation, threads=4, pause=0.05)
        try:
            worker_before = None
            started = time.monotonic()
            load.start()
            faults = []
            for fault in FAULTS:
                time.sleep(SPACING_SECONDS)
                if fault.__name__.startswith("_postgres") and worker_before is None:
                    worker_before = installation.children().get("worker")
                at = time.monotonic()
                what = fault(installation, cluster)
                done = time.monotonic()
                back = _recovery(load, done)
                faults.append(
                    {"fault": what, "at_s": round(at - started, 1), "acknowledged_again": back}
                )
                print(f"   {faults[-1]}", flush=True)
            time.sleep(SPACING_SECONDS)
            stopping = time.monotonic()
            load.stop()
            ends = [started + fault["at_s"] for fault in faults[1:]] + [stopping]
            for fault, end in zip(faults, ends, strict=True):
                gap = _longest_gap(load, started + fault["at_s"], end)
                fault["longest_gap_without_ack_s"] = round(gap, 2)
                fault["acknowledged_again"] = fault["acknowledged_again"] is not None
            duration = time.monotonic() - started
            settled = tasks_settled(installation.database_url, timeout=DRAIN_LIMIT_SECONDS)
            healthy = installation.wait_healthy(timeout=RECOVERY_LIMIT_SECONDS)
            figures = ledger(installation.database_url, load.acknowledged)
            children = installation.children()
            results = {
                "seconds_under_load": round(duration, 1),
                **figures,
                "refused_then_retried": dict(load.refused),
                "faults": faults,
                "web_back": healthy is not None,
                "worker_back": settled is not None,
                "worker_backlog_drained_after_s": round(settled, 1)
                if settled is not None
                else None,
                # the worker waited out every PostgreSQL restart (never started again)
                "worker_same_process_through_restarts": children.get("worker") == worker_before,
                "serve_running": installation.process.poll() is None,
                "serve_restarts": [
                    line for line in installation.output if "starting it again" in line
                ],
                "worker_requeued": [
                    line.split(" WARNING leadflow.worker ")[-1]
                    for line in installation.output
                    if "queued again" in line
                ],
            }
        finally:
            load.stop(grace=1)
            installation.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        cluster.remove()
    results["passed"] = bool(
        results
        and results["lost"] == 0
        and results["duplicate_submissions"] == 0
        and results["duplicate_leads"] == 0
        and results["leads_missing"] == 0
        and results["web_back"]
        and results["worker_back"]
        and results["tasks_failed"] == 0
        and results["serve_running"]
        and results["worker_same_process_through_restarts"]
        and all(fault["acknowledged_again"] for fault in results["faults"])
    )
    return results


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2))
    sys.exit(0 if figures["passed"] else 1)
