"""The activity row every write appends, and the form its changes take on it."""

from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce
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
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_label=actor.label[:200],
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )
    activities_announce(workspace_id=workspace.pk, contact_ids=(contact.pk,), up_to_id=activity.pk)
    return activity


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
