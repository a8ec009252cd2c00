"""Reads of bounces, scoped to a workspace."""

from django.db.models import QuerySet

from leadflow.core.models import Workspace
from leadflow.nurture.models import Bounce, BounceKind


def bounce_list(workspace: Workspace, *, kind: str | None = None) -> QuerySet[Bounce]:
    """The workspace's bounces and complaints, newest first, with their contact and
    delivery's message loaded."""
    rows = Bounce.objects.filter(workspace=workspace)
    if kind in BounceKind.values:
        rows = rows.filter(kind=kind)
    return rows.select_related("contact", "delivery__message").order_by("-received_at", "-id")
