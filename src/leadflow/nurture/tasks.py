"""Nurture's background jobs, each safe to run twice and beside itself.

- ``message_deliver``: send a message's queued deliveries (nurture.services.sending). Runs
  of the same message share the work through leases; a mail server that is down releases
  what was claimed and tries again later (``core.tasks.mail_retrying``).
- ``segment_refresh_task``: one segment's members made equal to its conditions (after it
  was created or its conditions changed).
- ``segments_refresh_contacts``: the segments of contacts whose tracked events were just
  stored (tracking's events listeners: page views are not activities).
- ``sequences_run_task``: move sequences' enrolments whose time has come (scheduled after
  an enrolment or a wake-up, and on the worker's clock for waits that end); a full batch
  schedules the next run at once.
- ``segments_refresh_all``: the periodic pass (on the worker's clock, registered in
  ``NurtureConfig.ready``) that catches what time alone changes ("no visit in 30 days").
"""

from django.db import transaction
from django.tasks import task

from leadflow.core.models import Workspace
from leadflow.core.tasks import mail_retrying
from leadflow.nurture.models import Segment, SegmentKind
from leadflow.nurture.services.segments import segment_refresh, segments_refresh
from leadflow.nurture.services.sending import message_deliver_run
from leadflow.nurture.services.sequence_runner import BATCH, sequences_run


@task()
@mail_retrying
def message_deliver(message_pk: int, base_url: str = "") -> int:
    """Send what is queued of the message; returns how many this run sent."""
    return message_deliver_run(message_pk=message_pk, base_url=base_url).sent


@task()
def segment_refresh_task(workspace_id: int, segment_id: int) -> int:
    segment = (
        Segment.objects.filter(workspace_id=workspace_id, pk=segment_id)
        .select_related("workspace")
        .first()
    )
    if segment is None:
        return 0
    result = segment_refresh(segment=segment)
    return len(result.entered) + len(result.left)


@task()
def segments_refresh_contacts(workspace_id: int, contact_ids: list[int]) -> int:
    """The dynamic segments refreshed for these contacts (tracked events of theirs)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    with transaction.atomic():
        results = segments_refresh(workspace=workspace, contact_ids=contact_ids)
    return sum(len(r.entered) + len(r.left) for r in results.values())


@task()
def segments_refresh_all() -> int:
    changed = 0
    workspace_ids = (
        Segment.objects.filter(kind=SegmentKind.DYNAMIC)
        .values_list("workspace_id", flat=True)
        .distinct()
        .order_by("workspace_id")
    )
    for workspace in Workspace.objects.filter(pk__in=list(workspace_ids)):
        with transaction.atomic():
            results = segments_refresh(workspace=workspace)
        changed += sum(len(r.entered) + len(r.left) for r in results.values())
    return changed


@task()
def sequences_run_task() -> int:
    from leadflow.core.tasks import task_schedule

    result = sequences_run()
    if result.claimed >= BATCH:
        task_schedule(sequences_run_task)  # more are due: the next slice at once
    return result.moved


@task()
def broadcast_step(broadcast_id: int) -> str:
    """Start a broadcast whose time came, or decide its A/B test (nurture.services.broadcasts)."""
    from leadflow.nurture.services.broadcasts import broadcast_step as step

    return step(broadcast_id)


@task()
def broadcasts_due_task() -> int:
    """The periodic pass over broadcasts due to start or to be decided."""
    from leadflow.nurture.services.broadcasts import broadcasts_due

    return broadcasts_due()
