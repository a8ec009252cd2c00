"""Broadcasts (newsletters): one email to a segment, now or at a set time, optionally as an
A/B test.

When it starts, the audience is taken once (``BroadcastMember``: the segment's members at
that moment, one INSERT … SELECT), so people who join later are not sent half a test. A
plain broadcast sends its one variant to everyone. An A/B test sends each variant to an
equal random share of ``test_percent`` of the audience, waits ``test_hours``, then picks
the winner by unique clicks (a two-proportion z-test at ``confidence``, each variant having
reached ``min_sample`` deliveries) and sends it to the rest; when no variant wins, the rest
get ``undecided`` ("control": variant A, "best": the higher click rate anyway). Each
variant is its own ``Message`` (same template and a subject of its own, or another
template), so its deliveries and clicks are counted apart and every person gets one.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    TESTING = "testing", "Testing the variants"
    SENDING = "sending", "Sent to everyone (deliveries going out)"
    CANCELLED = "cancelled", "Cancelled"


class Undecided(models.TextChoices):
    CONTROL = "control", "Send variant A (the control)"
    BEST = "best", "Send the variant with more clicks anyway"


class Broadcast(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    segment = models.ForeignKey("nurture.Segment", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT
    )
    send_at = models.DateTimeField(null=True, blank=True)
    ab_test = models.BooleanField(default=False)
    test_percent = models.PositiveSmallIntegerField(default=20)
    test_hours = models.PositiveSmallIntegerField(default=4)
    min_sample = models.PositiveIntegerField(default=100)
    confidence = models.FloatField(default=0.95)
    undecided = models.CharField(
        max_length=10, choices=Undecided.choices, default=Undecided.CONTROL
    )
    winner = models.ForeignKey(
        "nurture.BroadcastVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision = models.CharField(max_length=300, blank=True, default="")
    audience = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="broadcast_unique_name")
        ]
        indexes = [models.Index(fields=["status", "send_at"], name="broadcast_due")]

    def __str__(self) -> str:
        return self.name


class BroadcastVariant(models.Model):
    """Variant A, B (, C…) of a broadcast: its message (template, identity, subject)."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=2)
    message = models.ForeignKey("nurture.Message", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "label"], name="broadcast_variant_label")
        ]
        ordering = ["label"]


class BroadcastMember(models.Model):
    """One person of the audience taken when the broadcast started, and their group: a
    variant's label while testing, "rest" for those who get the winner."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "contact"], name="broadcast_member_once")
        ]
        indexes = [models.Index(fields=["broadcast", "group"], name="broadcast_member_group")]
