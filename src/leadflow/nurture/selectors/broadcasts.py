"""Reading broadcasts: the list, one broadcast, and the unique clicks of messages (the A/B
test's measure)."""

from django.db.models import Count, QuerySet

from leadflow.contacts.models import Activity
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models import Broadcast, BroadcastMember

CLICKED = "email.clicked"


def broadcast_list(workspace: Workspace) -> QuerySet[Broadcast]:
    return (
        Broadcast.objects.filter(workspace=workspace)
        .select_related("segment", "winner")
        .prefetch_related("variants")
        .order_by("-created_at", "-pk")
    )


def broadcast_get(workspace: Workspace, broadcast_id: int) -> Broadcast:
    broadcast = (
        Broadcast.objects.filter(workspace=workspace, pk=broadcast_id)
        .select_related("segment", "winner")
        .first()
    )
    if broadcast is None:
        raise NotFound("No such broadcast.")
    return broadcast


def unique_clicks(message_ids: list[int]) -> dict[int, int]:
    """{message id: people who clicked a link in it} (scanners' clicks are not recorded
    as clicks: see docs/nurture/tracking.md)."""
    if not message_ids:
        return {}
    rows = (
        Activity.objects.filter(kind=CLICKED, data__message_id__in=message_ids)
        .values("data__message_id")
        .annotate(people=Count("contact_id", distinct=True))
    )
    return {row["data__message_id"]: row["people"] for row in rows}


def group_sizes(broadcast: Broadcast) -> dict[str, int]:
    return dict(
        BroadcastMember.objects.filter(broadcast=broadcast)
        .values("group")
        .annotate(n=Count("pk"))
        .values_list("group", "n")
    )
