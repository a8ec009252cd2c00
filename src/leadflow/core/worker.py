"""The database queue's background worker, made to outlive a database restart.

django-tasks-db's worker stops at the first database error it does not expect, so a
PostgreSQL restart of one second used to end ``leadflow worker`` for good. This worker runs
the same loop and treats a lost connection as an outage to wait out.

Guarantees:

- A database error (connection refused, closed, terminated by a restart) never ends the
  worker. It drops its connection and tries again after 0.5 s, then 1, 2, 4, 8 and every
  15 s (each with ±20 % jitter, so many workers do not return in step), logging one
  warning per attempt, until the database answers; then it polls the queue as before.
- A task interrupted by the outage (claimed by this worker, still "running") is queued
  again as soon as the database answers, so it runs once more (tasks are safe to run
  twice) instead of staying "running" forever.
- SIGINT and SIGTERM stop it as before, also while it is waiting for the database.
"""

from __future__ import annotations

import logging
import random
import time

from django.db import InterfaceError, OperationalError, connections
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("leadflow.worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 15.0


class DatabaseWorker(Worker):
    """django-tasks-db's worker loop, resumed after every database outage (see module)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.task_in_progress: str | None = None

    def run(self) -> None:
        while True:
            try:
                super().run()
                return
            except DATABASE_ERRORS as error:
                if not self.running:  # asked to stop while a task was running
                    return
                self.database_wait(error)
                self.startup_delay = False

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # Remembered until the task's outcome is written: if writing it fails, the outage
        # interrupted this task and it goes back to the queue (task_requeue_interrupted).
        self.task_in_progress = str(db_task_result.id)
        super().run_task(db_task_result)
        self.task_in_progress = None

    def database_wait(self, error: BaseException) -> None:
        """Block until the database answers again (backing off), then requeue the task the
        outage interrupted. Returns only once a query succeeded."""
        started = time.monotonic()
        delay = FIRST_DELAY_SECONDS
        while True:
            logger.warning(
                "the database cannot be reached (%s); trying again in %.1f s",
                " ".join(str(error).split()) or type(error).__name__,
                delay,
            )
            _connections_drop()
            time.sleep(delay * random.uniform(0.8, 1.2))
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT 1")
                requeued = self.task_requeue_interrupted()
            except DATABASE_ERRORS as again:
                error = again
                delay = min(delay * 2, MAX_DELAY_SECONDS)
                continue
            logger.warning(
                "the database answers again after %.1f s%s; polling the queue",
                time.monotonic() - started,
                f"; task {requeued} queued again" if requeued else "",
            )
            return

    def task_requeue_interrupted(self) -> str | None:
        """Put the task whose run the outage interrupted back in the queue; its id, or None."""
        task_id, self.task_in_progress = self.task_in_progress, None
        if task_id is None:
            return None
        interrupted = DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING)
        queued = interrupted.update(status=TaskResultStatus.READY)
        return task_id if queued else None


def _connections_drop() -> None:
    """Forget every database connection (a broken one cannot be reused); never raises."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DATABASE_ERRORS:
            connection.connection = None


def worker_run(*, queue_names: list[str]) -> None:
    """Run the database queue's worker on ``queue_names`` until SIGINT or SIGTERM."""
    worker = DatabaseWorker(
        queue_names=queue_names,
        interval=1,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=True,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    worker.configure_signals()
    worker.run()
