"""Reads for inbound lead webhooks. Workspace first, except the public look-up by URL key."""

from django.db.models import Count, Q, QuerySet

from leadflow.core.cache import cached
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.inbound.models import Delivery, DeliveryStatus, LeadNotification, LeadSource


def source_by_key(key: str) -> LeadSource | None:
    """The source behind a webhook URL, with its workspace (the public endpoint only).

    Kept in this process for a few seconds (core.cache), like forms."""
    if not key or len(key) > 64:
        return None
    return cached(
        "lead-source",
        key,
        lambda: LeadSource.objects.select_related("workspace").filter(key=key).first(),
    )


def source_list(workspace: Workspace) -> QuerySet[LeadSource]:
    """The workspace's sources, newest first, each with its delivery counts by status."""
    return (
        LeadSource.objects.filter(workspace=workspace)
        .annotate(
            accepted_count=Count(
                "deliveries", filter=Q(deliveries__status=DeliveryStatus.ACCEPTED)
            ),
            failed_count=Count(
                "deliveries",
                filter=Q(
                    deliveries__status__in=[
                        DeliveryStatus.REJECTED,
                        DeliveryStatus.UNVERIFIED,
                        DeliveryStatus.NEEDS_FETCH,
                    ]
                ),
            ),
        )
        .order_by("-created_at", "-id")
    )


def source_get(workspace: Workspace, source_id: int) -> LeadSource:
    source = LeadSource.objects.filter(workspace=workspace, pk=source_id).first()
    if source is None:
        raise NotFound("No such lead source.")
    return source


def delivery_list(
    workspace: Workspace, source_id: int, *, status: str | None = None
) -> QuerySet[Delivery]:
    """A source's deliveries (NotFound for another workspace's source), newest first."""
    source_get(workspace, source_id)
    deliveries = Delivery.objects.filter(workspace=workspace, source_id=source_id).select_related(
        "contact"
    )
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-received_at", "-id")


def delivery_get(workspace: Workspace, source_id: int, delivery_id: int) -> Delivery:
    delivery = (
        Delivery.objects.select_related("source", "contact")
        .filter(workspace=workspace, source_id=source_id, pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def notified_contact_ids(workspace: Workspace, user_id: int) -> QuerySet:
    """The ids of the workspace's contacts this user was emailed about by a lead source (a
    subquery; registered in ``contacts.selectors.NOTIFIED_CONTACT_IDS``)."""
    return LeadNotification.objects.filter(workspace=workspace, user_id=user_id).values(
        "contact_id"
    )
