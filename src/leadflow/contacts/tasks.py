"""Background work for contacts. Tasks take ids, not objects, and are safe to run twice."""

import datetime as dt

from django.tasks import task
from django.utils import timezone

from leadflow.contacts import activity_log
from leadflow.core.tasks import task_schedule_coalesced, task_waiting

# A delivery that found committed activities waiting behind an older transaction (PostgreSQL,
# see activity_log._safe_bound) runs again this much later.
RECHECK = dt.timedelta(milliseconds=250)
# Another delivery held a subscriber's watermark: look again this much later.
BUSY = dt.timedelta(milliseconds=200)
# Seconds of batches one delivery run may start before it yields to other workspaces' runs.
DELIVERY_BUDGET = 0.2
# The queue priority of a run that continues a backlog: below a fresh delivery's (0), so a
# quiet workspace's new lead is delivered before the next slice of a busy one's thousands.
CONTINUE_PRIORITY = -1


@task()
def activities_deliver(workspace_id: int) -> int:
    """Deliver a workspace's new activities to every subscriber (see
    activity_log.activities_deliver); returns how many activities were handed over. Safe
    to run twice: each subscriber reads above its own watermark."""
    result = activity_log.activities_deliver(workspace_id=workspace_id, budget=DELIVERY_BUDGET)
    if result.more:  # behind the other workspaces' runs, then on
        task_schedule_coalesced(activities_deliver, workspace_id, priority=CONTINUE_PRIORITY)
    elif result.behind or result.busy:
        _recheck(activities_deliver, workspace_id, after=BUSY if result.busy else RECHECK)
    return result.delivered


@task()
def activities_catch_up() -> int:
    """Deliver everything above every subscriber's watermarks (scheduled when the worker
    starts; ``leadflow manage activities_catch_up`` runs the same)."""
    result = activity_log.activities_catch_up()
    if result.behind or result.busy:
        _recheck(activities_catch_up)
    return result.delivered


def _recheck(again, *args, after: dt.timedelta = RECHECK) -> None:
    """Run ``again(*args)`` a little later, unless the same run is queued already: under
    constant writes every delivery is a little behind, and each must not start a chain."""
    if task_waiting(again, *args):
        return
    again.using(run_after=timezone.now() + after).enqueue(*args)
