"""What the duplicate finder does when activities are announced: a contact that arrived,
changed, was imported or merged is checked against the workspace (``duplicates_check``),
in the worker, after the commit that wrote it."""

from collections import defaultdict

from leadflow.contacts.activity_log import activity_subscriber_register
from leadflow.contacts.models import Activity, ActivityKind
from leadflow.core.models import Workspace
from leadflow.duplicates import services
from leadflow.duplicates.models import FoundBy

SUBSCRIBER = "duplicates"
KINDS = frozenset(
    {
        ActivityKind.CONTACT_CREATED,
        ActivityKind.CONTACT_UPDATED,
        ActivityKind.CONTACT_IMPORTED,
        ActivityKind.CONTACT_MERGED,
        ActivityKind.FORM_SUBMITTED,
    }
)


def contacts_changed(activities: list[Activity]) -> None:
    """Check every contact these activities are about, once, per workspace; an import's
    rows are marked as found by the import."""
    by_workspace: dict[int, dict[int, str]] = defaultdict(dict)
    for activity in activities:
        found_by = (
            FoundBy.IMPORT if activity.kind == ActivityKind.CONTACT_IMPORTED else FoundBy.CHANGE
        )
        by_workspace[activity.workspace_id].setdefault(activity.contact_id, found_by)
    for workspace_id, contacts in by_workspace.items():
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is None:
            continue
        for found_by in (FoundBy.IMPORT, FoundBy.CHANGE):
            ids = [pk for pk, how in contacts.items() if how == found_by]
            if ids:
                services.duplicates_check(workspace=workspace, contact_ids=ids, found_by=found_by)


def register() -> None:
    from leadflow.contacts.services import MERGE_HOOKS

    activity_subscriber_register(SUBSCRIBER, contacts_changed, kinds=KINDS)
    if services.merge_recorded not in MERGE_HOOKS:
        MERGE_HOOKS.append(services.merge_recorded)
