"""The suppression list and a contact's marketing preferences.

The suppression list is kept apart from the contact: a row names an address only by its
SHA-256 (``address_hash``), so it survives the contact's deletion or erasure and keeps
the address from being emailed again without keeping the address itself
(docs/nurture/unsubscribe.md, decision 0027). Preferences (topics, frequency, a pause)
belong to a contact and go with it.
"""

import hashlib

from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


def address_hash(address: str) -> str:
    """The hex SHA-256 of an address, trimmed and lower-cased: the suppression list's key.
    A plain hash, not an HMAC (decision 0027): it must never change with a key rotation,
    and lists hashed the same way elsewhere can be imported as they are."""
    return hashlib.sha256((address or "").strip().lower().encode()).hexdigest()


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "unsubscribed"
    HARD_BOUNCE = "hard_bounce", "hard bounce"
    COMPLAINT = "complaint", "complaint"
    SOFT_BOUNCES = "soft_bounces", "soft bounces in a row"
    MANUAL = "manual", "added by hand"
    IMPORTED = "imported", "imported"


class Suppression(models.Model):
    """An address that must never receive email from the workspace again (until a member
    removes it, which the audit log records). One row per (workspace, address hash); the
    first reason recorded stays. ``contact`` is the contact it was found on while that
    contact exists (a convenience for the page; deleting the contact keeps the row)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    address_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    source = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=200, blank=True)
    # A merge points it at the surviving contact (contacts' merge moves every relation).
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="suppressions"
    )
    created_by = models.CharField(max_length=200, blank=True)  # the actor's label
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "address_hash"], name="suppression_unique_address"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="suppression_recent"),
            models.Index(fields=["workspace", "reason"], name="suppression_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.address_hash[:12]}… ({self.reason})"


class Topic(models.Model):
    """A subscription topic the workspace defines (product news, events, offers...): a
    contact may opt out of one without unsubscribing from everything."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="topic_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Frequency(models.TextChoices):
    ALL = "all", "Every email"
    WEEKLY = "weekly", "At most one a week"
    MONTHLY = "monthly", "At most one a month"


class ContactPreferences(models.Model):
    """How often a contact wants marketing email and until when they paused it; the sender
    honours both (``selectors.marketing_preferences``). A merge keeps the surviving
    contact's own preferences (``contact_merge_moves``)."""

    contact_merge_moves = False

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.ALL)
    paused_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"preferences of contact {self.contact_id}"


class TopicOptOut(models.Model):
    """A contact who does not want one topic's email."""

    contact_merge_moves = False

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "topic"], name="topic_opt_out_unique")
        ]
