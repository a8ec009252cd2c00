"""The activity rows every write appends (one, or many in one INSERT), and the form its
changes take on them."""

from collections.abc import Iterable

from django.db.models import Max
from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce, activities_announce_written
from leadflow.contacts.models import (
    Activity,
    Contact,
)
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace


def activity_record(
    *,
    workspace: Workspace,
    contact: Contact,
    kind: str,
    actor: Actor,
    data: dict | None = None,
    occurred_at=None,
) -> Activity:
    """Append one activity and announce it (``activities_announce``: one announcement per
    transaction, after the commit). Call it inside the transaction of the change it records."""
    activity = Activity.objects.create(
        workspace=workspace,
        contact=contact,
        kind=kind,
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
        **actor_columns(actor),
    )
    activities_announce(workspace_id=workspace.pk, contact_ids=(contact.pk,), up_to_id=activity.pk)
    return activity


def actor_columns(actor: Actor) -> dict:
    """Who an activity row says did it: the member, the API key, and the label kept."""
    return {
        "actor_user_id": actor.user_id,
        "actor_api_key_id": actor.api_key_id,
        "actor_label": actor.label[:200],
    }


def activities_record_many(
    activities: Iterable[Activity], *, batch_size: int | None = None
) -> list[Activity]:
    """Append many activities in one INSERT (per ``batch_size``) and announce them: one
    announcement per workspace, after the commit (``activities_announce``). Call it inside
    the transaction of the change they record. The rows may span workspaces."""
    written = Activity.objects.bulk_create(list(activities), batch_size=batch_size)
    tops: dict[int, int] = {}
    for activity in written:
        if activity.pk is None and activity.workspace_id not in tops:
            # A database that gives no ids back from a bulk insert: its latest row.
            tops[activity.workspace_id] = Activity.objects.filter(
                workspace_id=activity.workspace_id
            ).aggregate(top=Max("pk"))["top"]
    activities_announce_written(
        (activity.pk or tops[activity.workspace_id], activity.workspace_id, activity.contact_id)
        for activity in written
    )
    return written


def changes_jsonable(changes: dict[str, list]) -> dict[str, list]:
    """{field: [old, new]} with every value JSON can hold as it is, the rest as text."""
    return {
        key: [
            value
            if isinstance(value, str | int | float | bool | list | dict | None)
            else str(value)
            for value in pair
        ]
        for key, pair in changes.items()
    }
