"""Lead sources (one webhook URL per ad network account or system) and their deliveries.

A ``LeadSource`` is what another system pushes leads to: ``POST /in/<key>``. Each
``Delivery`` is one request as received (body, relevant headers, time), what became of it
and why. A verified delivery claims its external lead id (unique per source), so a retry
of the same lead stores nothing new.
"""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.core.models import Workspace


def new_source_key() -> str:
    """The public part of a webhook URL: unguessable, grants nothing but sending to it."""
    return "in_" + secrets.token_urlsafe(24)


def new_source_secret() -> str:
    """A shared secret: the Google key, the generic HMAC key, the Meta verify token."""
    return "whsec_" + secrets.token_urlsafe(32)


class SourceFormat(models.TextChoices):
    FACEBOOK = "facebook", "Facebook Lead Ads"
    LINKEDIN = "linkedin", "LinkedIn Lead Gen Forms"
    GOOGLE = "google", "Google Ads lead forms"
    GENERIC = "generic", "Generic JSON"


class LeadSource(models.Model):
    """A per-workspace webhook that accepts leads from one network account or system.

    ``secret`` is generated (and rotatable; the previous one keeps working until
    ``previous_secret_expires_at`` so a sender can be updated without losing leads).
    ``app_secret`` is the network's own signing secret (Meta app secret, LinkedIn client
    secret), entered by the user: Facebook and LinkedIn sign with it, not with ours.
    ``mapping`` is validated by ``inbound.formats.mapping_clean``.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    format = models.CharField(max_length=20, choices=SourceFormat.choices)
    key = models.CharField(max_length=64, unique=True, default=new_source_key)
    secret = models.CharField(max_length=100, default=new_source_secret)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    app_secret = models.CharField(max_length=200, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    default_tags = models.JSONField(default=list, blank=True)
    default_lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, blank=True
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="leadsource_ws_created")]

    def __str__(self) -> str:
        return self.name

    def secrets_accepted(self) -> list[str]:
        """The secrets a request may prove: the current one, and the previous one during
        the grace period after a rotation."""
        accepted = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > timezone.now()
        ):
            accepted.append(self.previous_secret)
        return accepted


class DeliveryStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    UNVERIFIED = "unverified", "Unverified signature"
    NEEDS_FETCH = "needs_fetch", "Lead must be fetched"
    DUPLICATE = "duplicate", "Duplicate of an accepted delivery"


class Delivery(models.Model):
    """One request to a lead source, kept for the delivery log and for replay.

    ``external_lead_id`` is set only once the request proved the secret: an unverified
    request cannot claim a real lead's id. Unique per source, it makes retries (even
    concurrent ones) store one delivery and one contact update.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(LeadSource, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(default=timezone.now)
    body = models.TextField(blank=True)
    body_truncated = models.BooleanField(default=False)
    headers = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    reasons = models.JSONField(default=list, blank=True)
    verified = models.BooleanField(default=False)
    external_lead_id = models.CharField(max_length=200, null=True, blank=True)
    is_test = models.BooleanField(default=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attribution = models.JSONField(default=dict, blank=True)
    replay_count = models.PositiveIntegerField(default=0)
    repeat_count = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_lead_id"], name="delivery_unique_lead_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["source", "-received_at"], name="delivery_source_time"),
            models.Index(
                fields=["source", "status", "-received_at"], name="delivery_source_status"
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class LeadNotification(models.Model):
    """One email telling a member about a lead a source delivered (so a retried task sends
    it once). It names the contact itself, not only the delivery, so the member can open
    that lead for as long as it exists (``contacts.selectors.NOTIFIED_CONTACT_IDS``), even
    after the delivery log is pruned."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "recipient"], name="lead_notification_once")
        ]


def webhook_url(source: LeadSource, base_url: str) -> str:
    """The absolute URL a sender posts to (LEADFLOW_BASE_URL wins over the request's)."""
    base = settings.LEADFLOW_BASE_URL or base_url.rstrip("/")
    return f"{base}{reverse('inbound_webhook', args=[source.key])}"
