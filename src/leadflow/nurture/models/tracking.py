"""Open and click tracking of marketing email (docs/nurture/tracking.md): every open of the
pixel and every click of a tracked link that reached LeadFlow, counted or filtered.

A counted open is unique per delivery (a constraint); a counted click is one per
(delivery, link) in any ``LEADFLOW_CLICK_DEDUPE_SECONDS`` (the service holds the
delivery's row lock while it looks). Filtered hits (security scanners, previews: the
rule in ``nurture.tracking.scanner_reason``) are kept with their reason and never
counted, never on the timeline.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class EngagementKind(models.TextChoices):
    OPEN = "open", "Opened"
    CLICK = "click", "Clicked"


class EmailEngagement(models.Model):
    """One open or click of one delivery's email; ``url`` is the link's original address
    (empty for an open), ``url_key`` its SHA-256 (for the per-link de-duplication)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(
        "nurture.Message", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    delivery = models.ForeignKey(
        "nurture.Delivery", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=5, choices=EngagementKind.choices)
    url = models.TextField(blank=True, default="")
    url_key = models.CharField(max_length=64, blank=True, default="")
    occurred_at = models.DateTimeField(default=timezone.now)
    counted = models.BooleanField(default=True)
    filter_reason = models.CharField(max_length=100, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delivery"],
                condition=Q(kind="open", counted=True),
                name="nurture_engagement_one_open",
            )
        ]
        indexes = [
            # Segment conditions: a kind's counted rows in a window, by contact.
            models.Index(
                fields=["workspace", "kind", "-occurred_at"],
                condition=Q(counted=True),
                include=["contact", "message"],
                name="nurture_engagement_recent",
            ),
            # The de-duplication and the per-message counts.
            models.Index(
                fields=["delivery", "kind", "url_key", "-occurred_at"],
                name="nurture_engagement_delivery",
            ),
            models.Index(fields=["message", "kind", "counted"], name="nurture_engagement_counts"),
        ]
