"""The database queue's worker outlives what used to end it or strand its tasks: a lost
database connection, and a worker killed in the middle of a task."""

import signal
import subprocess

import pytest
from django.db import connection
from django.tasks import task
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.models import DBTaskResult

from leadflow.core.worker import DatabaseWorker, worker_identity

RUNS: list[int] = []


@task()
def record_a_run() -> int:
    RUNS.append(1)
    return len(RUNS)


@task()
def lose_the_connection_on_the_first_run() -> int:
    """Its first run ends its own database session, as a PostgreSQL restart does."""
    RUNS.append(1)
    if len(RUNS) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return len(RUNS)


def batch_worker() -> DatabaseWorker:
    """The worker as `leadflow worker` runs it, but stopping once the queue is empty."""
    return DatabaseWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_identity(),
        excluded_queue_names=[],
    )


@pytest.fixture(autouse=True)
def _no_runs_yet():
    RUNS.clear()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ends its session with pg_terminate_backend"
)
@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_out_a_lost_connection_and_runs_the_interrupted_task_again(caplog):
    result = lose_the_connection_on_the_first_run.enqueue()

    batch_worker().run()  # django-tasks-db's own worker raises OperationalError here

    assert len(RUNS) == 2
    stored = DBTaskResult.objects.get(id=result.id)
    assert stored.status == "SUCCESSFUL"
    assert stored.return_value == 2
    assert "the database cannot be reached" in caplog.text
    assert "the database answers again after" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_task_left_running_by_a_killed_worker_of_this_machine_is_queued_again_at_start():
    killed = subprocess.Popen(["sleep", "60"])
    killed_worker = worker_identity(killed.pid)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    claims = {
        "killed worker of this machine": killed_worker,
        "running worker of this machine": worker_identity(),
        "worker of another machine": "db-2.example/0f1e2d3c/4242/98765/AbCdEf",
        "worker named by django-tasks-db": "9bLU6GdOlUNiJ3KLBsKRU2DkWvHyjHvZ",
    }
    tasks = {}
    for claim, worker_id in claims.items():
        result = record_a_run.enqueue()
        DBTaskResult.objects.filter(id=result.id).update(status="RUNNING", worker_ids=[worker_id])
        tasks[claim] = result.id

    batch_worker().run()

    statuses = {claim: DBTaskResult.objects.get(id=pk).status for claim, pk in tasks.items()}
    assert statuses == {
        "killed worker of this machine": "SUCCESSFUL",
        "running worker of this machine": "RUNNING",
        "worker of another machine": "RUNNING",
        "worker named by django-tasks-db": "RUNNING",
    }
    assert len(RUNS) == 1
