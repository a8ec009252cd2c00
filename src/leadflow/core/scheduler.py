"""The worker's clock: jobs that run every so often, on both task backends.

A periodic job is a sweep: a task with no arguments that processes every row that has come
due (follow-up reminders, first-touch deadlines), so it is safe to run twice and a late run
catches up on everything it missed. Apps register theirs in ``AppConfig.ready`` with
``periodic_register``.

Guarantees:

- Every worker process (``leadflow worker``, the worker ``leadflow serve`` starts; the
  database queue's or RQ's) runs the clock in a thread (``Clock``) that ticks every
  ``TICK_SECONDS``. Each tick enqueues the jobs whose period has passed through the task
  backend in use, so a due row is processed within about ``every`` + a tick + the queue's
  latency (under a minute for a job of 30 s).
- One enqueue per period across every process and machine sharing the database: a tick
  claims the period by a conditional UPDATE of the job's ``PeriodicJob`` row, and only the
  tick whose UPDATE matched enqueues.
- Nothing is lost to a restart: the state lives in the database (the claims, and the rows
  the sweeps process), so a killed worker's successor enqueues what is due on its first
  tick. A process killed between its claim and its enqueue delays that job by one period.
- A database outage never stops the clock: the tick logs it, drops its connection and
  tries again on the next tick.
- A process never forks in the middle of a tick. RQ forks a work horse for every job (and
  its scheduler) from the process the clock ticks in; a fork while the clock thread held a
  lock inside SQLite or a driver left the child waiting on a lock nobody would release: the
  job hung, and every job behind it (found by a flaky CI run, then made certain with a tick
  of 10 ms). ``os.register_at_fork`` makes a fork wait for the tick to end.
"""

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from leadflow.core.models import PeriodicJob
from leadflow.core.tasks import task_schedule_coalesced

logger = logging.getLogger("leadflow.scheduler")

TICK_SECONDS = 10.0


@dataclass(frozen=True)
class Periodic:
    """A registered job: ``task_path`` (a task taking no arguments) at most every ``every``."""

    name: str
    task_path: str
    every: dt.timedelta


PERIODIC_JOBS: dict[str, Periodic] = {}

# Held for a whole tick, and by a fork (see the module's guarantees). The child releases
# its copy: the clock thread does not exist there.
_TICKING = threading.Lock()
os.register_at_fork(
    before=_TICKING.acquire, after_in_parent=_TICKING.release, after_in_child=_TICKING.release
)


def periodic_register(name: str, task_path: str, every: dt.timedelta) -> None:
    """Run the task at ``task_path`` every ``every`` (at least one second) from now on.
    Registering a name again replaces it (apps are set up once; tests may re-register)."""
    if every < dt.timedelta(seconds=1):
        raise ValueError("A periodic job runs at most once a second.")
    PERIODIC_JOBS[name] = Periodic(name, task_path, every)


def periodic_enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every registered job whose period has passed (see the module's guarantees);
    returns the names this call enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in list(PERIODIC_JOBS.values()):
        if _claim(job, now):
            task_schedule_coalesced(import_string(job.task_path))
            enqueued.append(job.name)
    return enqueued


def _claim(job: Periodic, now: dt.datetime) -> bool:
    """Whether this call won the job's current period (the conditional UPDATE matched)."""
    due = Q(last_enqueued_at__isnull=True) | Q(last_enqueued_at__lte=now - job.every)
    if PeriodicJob.objects.filter(due, name=job.name).update(last_enqueued_at=now):
        return True
    try:
        with transaction.atomic():
            PeriodicJob.objects.create(name=job.name, last_enqueued_at=now)
    except IntegrityError:  # there already (not due), or another clock created it first
        return False
    return True


class Clock(threading.Thread):
    """The ticking thread of a worker process (a daemon: it dies with the process)."""

    def __init__(self, tick_seconds: float = TICK_SECONDS) -> None:
        super().__init__(name="leadflow-clock", daemon=True)
        self.tick_seconds = tick_seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            self.tick()
            if self.stopped.wait(self.tick_seconds):
                return

    def tick(self) -> None:
        with _TICKING:
            self._tick()

    def _tick(self) -> None:
        try:
            enqueued = periodic_enqueue_due()
            if enqueued:
                logger.debug("enqueued %s", ", ".join(enqueued))
        except (OperationalError, InterfaceError) as error:
            logger.warning("the clock could not reach the database (%s); next tick", error)
        except Exception:  # a broken job must not stop the others' clock
            logger.exception("the clock's tick failed")
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()


def clock_start(tick_seconds: float = TICK_SECONDS) -> Clock | None:
    """Start this process's clock (nothing to do when no job is registered)."""
    if not PERIODIC_JOBS:
        return None
    clock = Clock(tick_seconds)
    clock.start()
    return clock
