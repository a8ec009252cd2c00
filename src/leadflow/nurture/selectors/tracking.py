"""Reads of marketing email's tracking: each message's engagement counts."""

from dataclasses import dataclass

from django.db.models import Count

from leadflow.core.models import Workspace
from leadflow.nurture.models import Delivery, DeliveryStatus, EmailEngagement, EngagementKind


@dataclass
class EngagementCounts:
    """A message's figures: ``sent`` deliveries; ``opened`` emails whose pixel loaded
    (unreliable: mail apps load images by themselves, or never); ``clicked`` emails with at
    least one counted click (unique) and ``clicks`` in all; ``filtered`` opens and clicks
    put down to security scanners and link checkers (not counted)."""

    message_id: int
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    clicks: int = 0
    filtered: int = 0


def messages_engagement(
    workspace: Workspace, message_ids: list[int]
) -> dict[int, EngagementCounts]:
    """The counts of these messages of the workspace (two grouped queries, whatever the
    number of messages); another workspace's ids get nothing."""
    counts = {pk: EngagementCounts(message_id=pk) for pk in message_ids}
    if not counts:
        return counts
    sent = (
        Delivery.objects.filter(
            workspace=workspace, message_id__in=message_ids, status=DeliveryStatus.SENT
        )
        .values_list("message_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for pk, number in sent:
        counts[pk].sent = number
    hits = (
        EmailEngagement.objects.filter(workspace=workspace, message_id__in=message_ids)
        .values_list("message_id", "kind", "counted")
        .annotate(n=Count("id"), emails=Count("delivery_id", distinct=True))
        .order_by()
    )
    for pk, kind, counted, number, emails in hits:
        found = counts[pk]
        if not counted:
            found.filtered += number
        elif kind == EngagementKind.OPEN:
            found.opened = emails
        else:
            found.clicked, found.clicks = emails, number
    return counts


def message_engagement(workspace: Workspace, message_id: int) -> EngagementCounts:
    return messages_engagement(workspace, [message_id])[message_id]
