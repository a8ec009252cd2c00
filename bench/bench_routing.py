"""Routing decision latency under the capture benchmark: from a lead's commit to its owner
assigned and told (in the app at once, by email after), while the web tier takes a stream
of new leads.

The capture benchmark's load (granian 2 workers x 4 threads, wrk posting a new lead per
request to a form) runs against a workspace whose one routing rule shares every new lead
round robin in a team of ten salespeople with first-touch deadlines, and two `leadflow
worker` processes deliver the activity log (routing is its subscriber) and send the emails
(to the file backend: no SMTP server in a benchmark). Every lead that arrived in the window
is measured, set-based after the run, from the contact's creation to:

- ``assigned_*``: its ``Assignment`` (owner set, ``contact.assigned`` and the in-app
  notification written in the same transaction);
- ``notified_*``: its ``AssignmentNotice`` (the email handed to the mail backend).

Three runs of the same workspace: ``idle_*``, one lead at a time (the baseline);
``steady_*``, BENCH_ROUTING_RATE new leads a second (default 20: 72,000 an hour, a busy
site's inbound flow), with the ratio ``steady_assigned_p95_vs_idle``; ``full_load_*``, the
capture benchmark's wrk as fast as the web tier answers (on two cores the web tier then
takes the CPU the workers need, and the backlog grows for as long as the load lasts).
Target (issue 14): p95 from commit to assigned and notified under 2 s.
BENCH_ROUTING_SECONDS sets each load's length (default 30), BENCH_ROUTING_IDLE the idle
probes (default 30), BENCH_ROUTING_WORKERS the worker processes (default 2).

Measured on x86_64, 2 cores, PostgreSQL 15 on 127.0.0.1:5432, 6 December 2026 (ms, p95,
assigned / emailed): idle 390 / 738; steady 20 leads/s 243 / 437; steady 100 leads/s
395 / 811; steady 150 leads/s 1,313 / 1,921; the full load (188 to 257 leads/s, the web
tier taking both cores) 12,140 / 12,704: the workers fall behind while it lasts and catch
up within seconds after (31,500 ms before the changes of that day: delivery batches of
500, routing after scoring, one email per person per batch, the scores UPDATE's plan).
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

WORKERS = int(os.environ.get("BENCH_ROUTING_WORKERS", "2"))
TEAM = 10


def _percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)], 1),
        "max_ms": round(values[-1], 1),
    }


def _post_lead(url: str, token: str, number: int) -> None:
    body = {
        "submission_id": str(uuid.uuid4()),
        "token": token,
        "fields": {
            "email": f"idle{number}-{uuid.uuid4().hex[:6]}@globex-bench.com",
            "first_name": "Idle",
            "last_name": f"Lead{number}",
            "company": "Globex",
            "consent": True,
        },
        "context": {"page_url": "https://www.example.com/demo"},
    }
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _steady(url: str, token: str, rate: float, seconds: float) -> int:
    """Post ``rate`` new leads a second for ``seconds`` from a few threads; returns how many
    were posted (each answered 201 after its commit)."""
    threads = 8
    posted = [0] * threads
    started = time.monotonic()

    def post(index: int) -> None:
        number = index
        while True:
            due = started + number / rate
            if due - started >= seconds:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            _post_lead(url, token, 100000 + number)
            posted[index] += 1
            number += threads

    workers = [threading.Thread(target=post, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(posted)


def _latencies(workspace_id: int, since, until) -> dict:
    """Milliseconds from each lead's creation to its assignment and to its email."""
    from leadflow.contacts.models import Contact
    from leadflow.sales.models import Assignment, AssignmentNotice

    created = dict(
        Contact.objects.filter(
            workspace_id=workspace_id, created_at__gte=since, created_at__lt=until
        ).values_list("pk", "created_at")
    )
    assigned = {}
    for contact_id, pk, at in Assignment.objects.filter(
        workspace_id=workspace_id, contact_id__in=created, trigger="created"
    ).values_list("contact_id", "pk", "assigned_at"):
        assigned[contact_id] = (pk, at)
    noticed = dict(
        AssignmentNotice.objects.filter(
            assignment_id__in=[pk for pk, _ in assigned.values()]
        ).values_list("assignment_id", "sent_at")
    )
    to_assigned, to_notified = [], []
    for contact_id, at in created.items():
        if contact_id in assigned:
            pk, assigned_at = assigned[contact_id]
            to_assigned.append((assigned_at - at).total_seconds() * 1000)
            if pk in noticed:
                to_notified.append((noticed[pk] - at).total_seconds() * 1000)
    return {
        "leads": len(created),
        "assigned": len(to_assigned),
        "notified": len(to_notified),
        **{f"assigned_{k}": v for k, v in _percentiles(to_assigned).items()},
        **{f"notified_{k}": v for k, v in _percentiles(to_notified).items()},
    }


def _settled(workspace_id: int, since, until, timeout: float = 120) -> None:
    """Wait until every lead of the window has its assignment and its email."""
    from leadflow.contacts.models import Contact
    from leadflow.sales.models import AssignmentNotice

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leads = Contact.objects.filter(
            workspace_id=workspace_id, created_at__gte=since, created_at__lt=until
        )
        noticed = AssignmentNotice.objects.filter(
            assignment__contact__in=leads, assignment__trigger="created"
        ).count()
        if noticed >= leads.count():
            return
        time.sleep(0.5)


def run() -> dict:
    from bench_scoring_rescore import _Capture, _database_url
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        return {"skipped": "needs PostgreSQL (set DATABASE_URL)"}

    from leadflow.core.actors import Actor
    from leadflow.core.models import Workspace
    from leadflow.core.services import member_add
    from leadflow.sales.services import assignment_rule_create, team_create, team_member_add

    seconds = float(os.environ.get("BENCH_ROUTING_SECONDS", "30"))
    rate = float(os.environ.get("BENCH_ROUTING_RATE", "20"))
    idle_probes = int(os.environ.get("BENCH_ROUTING_IDLE", "30"))
    env = {**os.environ, "DATABASE_URL": _database_url()}
    capture = _Capture(env)
    workspace = Workspace.objects.get(pk=capture.workspace_id)
    actor = Actor.system("bench")
    team = team_create(workspace=workspace, name="Inbound", actor=actor)
    for number in range(TEAM):
        membership, _ = member_add(
            workspace=workspace, email=f"seller{number}@bench.example", role="sales", actor=actor
        )
        team_member_add(
            workspace=workspace, team_id=team.pk, user_id=membership.user_id, actor=actor
        )
    assignment_rule_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Every lead",
            "strategy": "round_robin",
            "team_id": team.pk,
            "first_touch_minutes": 15,
        },
    )
    worker_env = {**capture.env, "LEADFLOW_DATA_DIR": os.environ["LEADFLOW_DATA_DIR"]}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "leadflow", "worker"],
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    result: dict = {"database": connection.vendor, "team": TEAM, "workers": WORKERS}
    try:
        # Warm up (workers started, connections open), then the idle baseline.
        _post_lead(capture.url, capture.token, 0)
        time.sleep(3)
        since = timezone.now()
        for number in range(1, idle_probes + 1):
            _post_lead(capture.url, capture.token, number)
            time.sleep(0.3)
        until = timezone.now()
        _settled(workspace.pk, since, until)
        idle = _latencies(workspace.pk, since, until)
        result.update({f"idle_{key}": value for key, value in idle.items()})
        # At a steady rate (a busy site's inbound flow), then under the capture benchmark's
        # full load (wrk as fast as the web tier answers).
        since = timezone.now()
        posted = _steady(capture.url, capture.token, rate, seconds)
        until = timezone.now()
        result["steady_leads_per_s"] = round(posted / seconds, 1)
        _settled(workspace.pk, since, until, timeout=300)
        steady = _latencies(workspace.pk, since, until)
        result.update({f"steady_{key}": value for key, value in steady.items()})
        if idle["assigned_p95_ms"] and steady["assigned_p95_ms"]:
            result["steady_assigned_p95_vs_idle"] = round(
                steady["assigned_p95_ms"] / idle["assigned_p95_ms"], 2
            )
        since = timezone.now()
        capture.load()
        time.sleep(seconds)
        leads = capture.leads()
        capture.wrk.terminate()
        capture.wrk.wait(timeout=30)
        capture.wrk = None
        until = timezone.now()
        result["full_load_leads_per_s"] = round(leads / seconds, 1)
        _settled(workspace.pk, since, until, timeout=300)
        loaded = _latencies(workspace.pk, since, until)
        result.update({f"full_load_{key}": value for key, value in loaded.items()})
    finally:
        capture.stop()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    return result
