"""What nurture does when activities are announced: the contacts they are about are
re-evaluated against every dynamic segment of their workspace (``segments_refresh``,
set-based, in the worker within seconds of the commit). Entries and exits it causes are
activities too, so a segment that reads another follows in the same pass (dependency order)
and sequences can start on them."""

from collections import defaultdict

from leadflow.contacts.activity_log import activity_subscriber_register
from leadflow.contacts.models import Activity
from leadflow.core.models import Workspace
from leadflow.core.tasks import task_schedule
from leadflow.nurture.models import Segment, SegmentKind
from leadflow.nurture.services.segments import segments_refresh
from leadflow.tracking.listeners import EVENTS_LISTENERS

SEGMENTS_SUBSCRIBER = "nurture.segments"
SCORING_SUBSCRIBER = "scoring"
SEQUENCES_SUBSCRIBER = "nurture.sequences"
EVENTS_TASK = "leadflow.nurture.tasks.segments_refresh_contacts"


def activities_segment(activities: list[Activity]) -> None:
    """Refresh the dynamic segments of each workspace for the contacts in the batch."""
    by_workspace: dict[int, set[int]] = defaultdict(set)
    for activity in activities:
        by_workspace[activity.workspace_id].add(activity.contact_id)
    for workspace_id, contact_ids in by_workspace.items():
        if not Segment.objects.filter(workspace_id=workspace_id, kind=SegmentKind.DYNAMIC).exists():
            continue
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is not None:
            segments_refresh(workspace=workspace, contact_ids=contact_ids)


def events_recorded(workspace_id: int, contact_ids: set[int]) -> None:
    """Tracking committed events of these known contacts (page views are not activities):
    their segments are refreshed in the worker, when the workspace has dynamic ones."""
    if Segment.objects.filter(workspace_id=workspace_id, kind=SegmentKind.DYNAMIC).exists():
        task_schedule(EVENTS_TASK, workspace_id, sorted(contact_ids))


def activities_sequence(activities: list[Activity]) -> None:
    """Sequences react: triggers enrol, a waited-for activity wakes its enrolment, goals
    and exit conditions are checked for the contacts concerned."""
    from leadflow.nurture.models.sequences import Sequence, SequenceStatus
    from leadflow.nurture.services.sequence_runner import activities_react

    by_workspace: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        by_workspace[activity.workspace_id].append(activity)
    for workspace_id, batch in by_workspace.items():
        if not Sequence.objects.filter(
            workspace_id=workspace_id, status=SequenceStatus.ACTIVE
        ).exists():
            continue
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is not None:
            activities_react(workspace, batch)


def register() -> None:
    from leadflow.contacts.services import MERGE_HOOKS
    from leadflow.nurture.services.segments import memberships_merge

    if memberships_merge not in MERGE_HOOKS:
        MERGE_HOOKS.append(memberships_merge)
    if events_recorded not in EVENTS_LISTENERS:
        EVENTS_LISTENERS.append(events_recorded)
    # After scoring: a segment on the engagement score sees the score the activity gave.
    activity_subscriber_register(
        SEGMENTS_SUBSCRIBER, activities_segment, after=[SCORING_SUBSCRIBER]
    )
    # After segments: a goal or exit condition on a segment sees the membership the same
    # activity changed.
    activity_subscriber_register(
        SEQUENCES_SUBSCRIBER, activities_sequence, after=[SEGMENTS_SUBSCRIBER]
    )
