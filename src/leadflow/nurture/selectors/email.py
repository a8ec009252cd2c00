"""Reads of marketing email, each scoped to a workspace (another workspace's id: NotFound)."""

from django.db.models import Count, QuerySet

from leadflow.contacts.models import Contact
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models import (
    Delivery,
    DeliveryStatus,
    MarketingTemplate,
    Message,
    Reply,
    SendingIdentity,
    SmtpSettings,
)


def _one(rows: QuerySet, pk: int, what: str):
    found = rows.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No such {what}.")
    return found


def identity_list(workspace: Workspace) -> QuerySet[SendingIdentity]:
    return SendingIdentity.objects.filter(workspace=workspace).order_by("from_address", "id")


def identity_get(workspace: Workspace, identity_id: int) -> SendingIdentity:
    return _one(identity_list(workspace), identity_id, "sending identity")


def smtp_settings_get(workspace: Workspace) -> SmtpSettings:
    """The workspace's settings (unsaved defaults when it has none: the installation's)."""
    found = SmtpSettings.objects.filter(workspace=workspace).first()
    return found or SmtpSettings(workspace=workspace, port=587)


def template_list(workspace: Workspace) -> QuerySet[MarketingTemplate]:
    return MarketingTemplate.objects.filter(workspace=workspace).order_by("name", "id")


def template_get(workspace: Workspace, template_id: int) -> MarketingTemplate:
    return _one(template_list(workspace), template_id, "template")


def contact_for_preview(workspace: Workspace, contact_id: int) -> Contact:
    return _one(
        Contact.objects.filter(workspace=workspace).select_related("company"),
        contact_id,
        "contact",
    )


def message_list(workspace: Workspace) -> QuerySet[Message]:
    return Message.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def message_get(workspace: Workspace, message_id: int) -> Message:
    return _one(
        message_list(workspace).select_related("template", "identity"), message_id, "message"
    )


def message_counts(message: Message) -> dict[str, int]:
    """How many of the message's deliveries are in each status (every status named), how
    many bounced or were complained about, and how many were replied to (``replied``) or
    auto-replied (``auto_replied``)."""
    counts = dict.fromkeys(DeliveryStatus.values, 0)
    rows = (
        Delivery.objects.filter(message=message)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    # Bounces and complaints reported about sent deliveries (nurture.services.bounces).
    marks = dict(
        Delivery.objects.filter(message=message)
        .exclude(bounce="")
        .values_list("bounce")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts["bounced"] = marks.get("hard", 0) + marks.get("soft", 0)
    counts["complained"] = marks.get("complaint", 0)
    # Replies read from the bounce mailbox (nurture.services.replies), auto-replies apart.
    replies = dict(
        Reply.objects.filter(workspace_id=message.workspace_id, message_id=message.pk)
        .values_list("auto")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts["replied"] = replies.get(False, 0)
    counts["auto_replied"] = replies.get(True, 0)
    return counts


def delivery_list(
    workspace: Workspace, *, message_id: int | None = None, status: str | None = None
) -> QuerySet[Delivery]:
    rows = Delivery.objects.filter(workspace=workspace)
    if message_id is not None:
        rows = rows.filter(message_id=message_id)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("contact", "message").order_by("id")


def deliveries_unknown(workspace: Workspace) -> QuerySet[Delivery]:
    """The review list: deliveries that may or may not have gone (a worker stopped between
    handing them to the mail server and recording it), oldest first."""
    return delivery_list(workspace, status=DeliveryStatus.UNKNOWN)
