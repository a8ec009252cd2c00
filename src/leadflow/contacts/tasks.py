"""Background work for contacts. Tasks take ids, not objects, and are safe to run twice."""

import datetime as dt

from django.tasks import task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from leadflow.contacts import activity_log

# A delivery that found committed activities waiting behind an older transaction (PostgreSQL,
# see activity_log._safe_bound) runs again this much later.
RECHECK = dt.timedelta(seconds=1)


@task()
def activities_deliver(workspace_id: int) -> int:
    """Deliver a workspace's new activities to every subscriber (see
    activity_log.activities_deliver); returns how many activities were handed over. Safe
    to run twice: each subscriber reads above its own watermark."""
    result = activity_log.activities_deliver(workspace_id=workspace_id)
    if result.behind:
        _recheck(activities_deliver, workspace_id)
    return result.delivered


@task()
def activities_catch_up() -> int:
    """Deliver everything above every subscriber's watermarks (scheduled when the worker
    starts; ``leadflow manage activities_catch_up`` runs the same)."""
    result = activity_log.activities_catch_up()
    if result.behind:
        _recheck(activities_catch_up)
    return result.delivered


def _recheck(again, *args) -> None:
    """Run ``again(*args)`` a little later, unless the same run is queued already: under
    constant writes every delivery is a little behind, and each must not start a chain."""
    if isinstance(again.get_backend(), DatabaseBackend):
        queued = DBTaskResult.objects.filter(
            task_path=again.module_path,
            status="READY",
            args_kwargs={"args": list(args), "kwargs": {}},
        )
        if queued.exists():
            return
    again.using(run_after=timezone.now() + RECHECK).enqueue(*args)
