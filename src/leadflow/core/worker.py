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
- A task left "running" by a worker of this machine that is gone (killed with SIGKILL,
  out of memory, the machine rebooted) is queued again when a worker starts on this
  machine, and after each outage: ``leadflow serve`` starts a dead worker again, and the
  new one picks up what the old one was doing. Worker ids name the host, its boot and the
  process (``worker_identity``); a task claimed on another machine is left alone, as is
  every task when /proc is not there to tell (not Linux).
- SIGINT and SIGTERM stop it as before, also while it is waiting for the database.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from pathlib import Path

from django.conf import settings
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
                requeued = tasks_requeue_orphaned()
                if requeued:
                    logger.warning(
                        "queued again %d task(s) left running by a worker that is gone: %s",
                        len(requeued),
                        ", ".join(requeued),
                    )
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
        task_id = self.task_in_progress
        if task_id is None:
            return None
        interrupted = DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING)
        queued = interrupted.update(status=TaskResultStatus.READY)
        self.task_in_progress = None  # only once written: a failed update is tried again
        return task_id if queued else None


def _host() -> str:
    return socket.gethostname().replace("/", "-")[:24] or "host"


def _boot_id() -> str | None:
    """This boot of this machine (Linux), or None where /proc cannot tell."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if fields[0] != "Z" else None


def worker_identity(pid: int | None = None) -> str:
    """``host/boot/pid/start/random`` of this process (or of process ``pid``): unique, and
    enough for a worker on the same machine to tell whether that one still runs (at most
    64 characters, django-tasks-db's limit)."""
    pid = pid or os.getpid()
    return "/".join(
        [_host(), _boot_id() or "-", str(pid), _process_start(pid) or "-", get_random_string(6)]
    )


def worker_gone(worker_id: str) -> bool:
    """True only when ``worker_id`` names a worker of this machine that no longer runs:
    its process ended (or the id was reused by another process), or the machine booted
    again since. False for other machines' workers and whenever it cannot be told."""
    parts = worker_id.split("/")
    boot = _boot_id()
    if len(parts) != 5 or parts[0] != _host() or boot is None or "-" in (parts[1], parts[3]):
        return False
    if parts[1] != boot:
        return True
    return not parts[2].isdigit() or _process_start(int(parts[2])) != parts[3]


def tasks_requeue_orphaned() -> list[str]:
    """Queue again every task still "running" whose worker (the last to claim it) is gone
    (``worker_gone``); returns their ids. Safe to run from many workers at once."""
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    requeued = []
    for task_id, worker_ids in running.values_list("id", "worker_ids"):
        if not worker_ids or not worker_gone(str(worker_ids[-1])):
            continue
        queued = DBTaskResult.objects.filter(
            id=task_id, status=TaskResultStatus.RUNNING, worker_ids=worker_ids
        ).update(status=TaskResultStatus.READY)
        if queued:
            requeued.append(str(task_id))
    return requeued


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
        interval=settings.LEADFLOW_WORKER_POLL_SECONDS,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=True,
        max_tasks=None,
        worker_id=worker_identity(),
        excluded_queue_names=[],
    )
    worker.configure_signals()
    worker.run()
