"""The worker's clock (core.scheduler): one enqueue per period whatever the number of clocks,
and the periodic sweep running in a real `leadflow worker`, on the database queue and on
RQ, firing a first-touch reminder within a minute of its deadline, before and after the
worker is killed and started again."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections

from leadflow.core.models import PeriodicJob
from leadflow.core.scheduler import PERIODIC_JOBS, periodic_enqueue_due, periodic_register

JOB = "test.first_touch_deadlines"
PATH = "leadflow.sales.tasks.first_touch_deadlines"
T0 = dt.datetime(2026, 1, 14, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def job():
    periodic_register(JOB, PATH, dt.timedelta(seconds=30))
    yield JOB
    PERIODIC_JOBS.pop(JOB, None)


@pytest.mark.django_db
def test_a_job_is_enqueued_once_per_period(job):
    assert job in periodic_enqueue_due(T0)
    assert job not in periodic_enqueue_due(T0 + dt.timedelta(seconds=29))
    assert job in periodic_enqueue_due(T0 + dt.timedelta(seconds=30))
    assert PeriodicJob.objects.get(name=job).last_enqueued_at == T0 + dt.timedelta(seconds=30)


def test_a_period_shorter_than_a_second_is_refused():
    with pytest.raises(ValueError):
        periodic_register("too.fast", PATH, dt.timedelta(milliseconds=10))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.django_db(transaction=True)
def test_a_fork_while_the_clock_ticks_leaves_a_child_that_can_use_the_database(job, tmp_path):
    """RQ forks a work horse per job from the process the clock ticks in. A fork in the
    middle of a tick once copied a lock the clock thread held, and the child hung on its
    first query, with every job behind it. Forks here race a clock ticking non-stop."""
    from leadflow.core.scheduler import Clock

    database = str(tmp_path / "child.sqlite3")
    clock = Clock(tick_seconds=0)
    clock.start()
    hung = failed = 0
    try:
        for _ in range(40):
            pid = os.fork()
            if pid == 0:  # the child: a query of its own, then out (no pytest teardown)
                code = 1
                try:  # a connection of its own (the inherited one is the parent's)
                    sqlite3.connect(database).execute("SELECT 1").fetchall()
                    with connections.create_connection("default").cursor() as cursor:
                        cursor.execute("SELECT COUNT(*) FROM core_periodicjob")
                    code = 0
                finally:
                    os._exit(code)
            deadline = time.monotonic() + 5
            while (status := os.waitpid(pid, os.WNOHANG)) == (0, 0):
                if time.monotonic() > deadline:
                    hung += 1
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.005)
            else:
                failed += os.waitstatus_to_exitcode(status[1]) != 0
    finally:
        clock.stop()
        clock.join(timeout=10)
    assert (hung, failed) == (0, 0), f"of 40 forked children, {hung} hung, {failed} failed"


@pytest.mark.django_db(transaction=True)
def test_clocks_ticking_at_once_enqueue_once(job):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no concurrent tick to race")
    for attempt in range(2):  # the first period creates the row, the next one updates it
        now = T0 + dt.timedelta(minutes=attempt)
        results, barrier = [], threading.Barrier(4)

        def tick(now=now, barrier=barrier, results=results):
            barrier.wait()
            try:
                results.append(job in periodic_enqueue_due(now))
            finally:
                connection.close()

        threads = [threading.Thread(target=tick) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False, False, False, True]


# --- a real worker ------------------------------------------------------------------------------

SETUP = """
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.services import member_add, workspace_create
from leadflow.sales.services import assignment_rule_create, team_create, team_member_add
workspace, owner = workspace_create(name="Clock", owner_email="owner@clock.example")
actor = Actor.system()
ann, _ = member_add(workspace=workspace, email="ann@clock.example", role="sales", actor=actor)
team = team_create(workspace=workspace, name="Inbound", actor=actor)
team_member_add(workspace=workspace, team_id=team.pk, user_id=ann.user_id, actor=actor)
assignment_rule_create(workspace=workspace, actor=actor, data={
    "name": "All", "strategy": "round_robin", "team_id": team.pk,
    "first_touch_minutes": 1, "first_touch_business_hours": False})
"""

# A lead that qualified 20 minutes ago: its one-minute deadline has passed.
LEAD = """
import datetime as dt
from django.utils import timezone
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.sales.models import FirstTouch
from leadflow.sales.services import leads_route
workspace = Workspace.objects.get(name="Clock")
contact = contact_upsert(workspace=workspace, actor=Actor.system(),
                         data={"email": "%s@example.org"}).contact
leads_route(workspace=workspace, triggers={contact.pk: "mql"},
            now=timezone.now() - dt.timedelta(minutes=20))
print("CLOCK", FirstTouch.objects.get(contact=contact).pk)
"""


class Installation:
    """A SQLite installation of its own, its worker started and killed at will."""

    def __init__(self, data_dir: Path, **environment: str):
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        }
        self.env.update(
            LEADFLOW_DATA_DIR=str(data_dir),
            LEADFLOW_DEMO="0",
            LEADFLOW_CLOCK_TICK_SECONDS="0.5",
            LEADFLOW_SWEEP_SECONDS="2",
            PYTHONUNBUFFERED="1",
            **environment,
        )
        self.database = data_dir / "leadflow.sqlite3"
        self.worker: subprocess.Popen | None = None

    def leadflow(self, *arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "leadflow", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def lead(self, name: str) -> int:
        out = self.leadflow("manage", "shell", "-c", LEAD % name)
        return int(next(line for line in out.splitlines() if line.startswith("CLOCK "))[6:])

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)  # RQ forks its jobs: the whole group
            self.worker.wait()

    def reminded_within(self, clock_id: int, seconds: float) -> float | None:
        """Seconds until the clock's reminder was claimed, or None after ``seconds``."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            with sqlite3.connect(self.database, timeout=5) as database:
                row = database.execute(
                    "SELECT reminded_at FROM sales_firsttouch WHERE id = ?", (clock_id,)
                ).fetchone()
            if row and row[0]:
                return time.monotonic() - started
            time.sleep(0.25)
        return None


def _reminders_survive_a_killed_worker(installation: Installation, migrated_sqlite) -> None:
    migrated_sqlite(installation.database.parent)
    installation.leadflow("manage", "shell", "-c", SETUP)
    before = installation.lead("before")
    installation.start_worker()
    try:
        assert installation.reminded_within(before, 60) is not None
        installation.kill_worker()  # kill -9, in the middle of its clock's ticks
        after = installation.lead("after")
        time.sleep(3)  # due while no worker runs
        installation.start_worker()
        assert installation.reminded_within(after, 60) is not None
    finally:
        installation.kill_worker()


def test_the_database_worker_fires_due_reminders_and_after_a_kill(tmp_path, migrated_sqlite):
    _reminders_survive_a_killed_worker(Installation(tmp_path), migrated_sqlite)


@pytest.mark.redis
def test_the_rq_worker_fires_due_reminders_and_after_a_kill(
    tmp_path, redis_server, migrated_sqlite
):
    installation = Installation(tmp_path, REDIS_URL=f"{redis_server}/12")
    _reminders_survive_a_killed_worker(installation, migrated_sqlite)
