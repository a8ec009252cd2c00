"""Scheduling background work so that it is never lost and never runs on uncommitted data.

With the database-backed queue (the default) a task row is written in the SAME transaction
as the change that needs it: both commit or neither does (a transactional outbox), and it
costs no extra commit. With RQ on Redis the task is sent after the commit.

Tasks stand above services: a ``tasks`` module imports services and calls them, and a
service never imports a ``tasks`` module. A service names the task it schedules by its
dotted path (``"leadflow.capture.tasks.submission_followup"``), resolved here.
"""

from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string
from django_tasks_db.backend import DatabaseBackend


def task_schedule(task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` to run after the current transaction commits.

    ``task`` is a task, or its dotted path (how services name theirs, as they stand below
    their ``tasks`` module)."""
    if isinstance(task, str):
        task = import_string(task)
    if connection.in_atomic_block and isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(partial(task.enqueue, *args))
