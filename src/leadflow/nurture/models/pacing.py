"""Not obsessive: the per-contact cap on marketing messages across every sequence and
broadcast, quiet hours, and the pause ("take a break") — docs/nurture/pacing.md."""

import datetime as dt

from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class PacingSettings(models.Model):
    """A workspace's limits on marketing messages to one person (one row per workspace,
    made with the defaults the first time it is read)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    cap_messages = models.PositiveSmallIntegerField(default=3)  # at most this many...
    cap_days = models.PositiveSmallIntegerField(default=7)  # ...in any window of these days
    quiet_enabled = models.BooleanField(default=True)
    quiet_start = models.TimeField(default=dt.time(21, 0))  # wall clock, the contact's zone
    quiet_end = models.TimeField(default=dt.time(8, 0))
    # The zone of a contact whose own cannot be told (phone, country): the business's.
    time_zone = models.CharField(max_length=64, default="UTC")
    # Pause a contact who ignored this many marketing messages in a row (0: never).
    pause_after_ignored = models.PositiveSmallIntegerField(default=5)
    updated_at = models.DateTimeField(default=timezone.now)


class ContactPacing(models.Model):
    """One contact's marketing pacing: the row a sender locks to take a place under the
    cap (so concurrent sequences can never exceed it), the ignored-in-a-row counter and the
    pause it leads to."""

    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    ignored_in_row = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)


class MarketingSend(models.Model):
    """A marketing message counted against its contact's cap (written when the message is
    handed to be sent; removed if it then was not). ``key`` names what was sent (a delivery)
    so one message counts once however often its sender retries."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "key"], name="marketingsend_once"),
        ]
        indexes = [models.Index(fields=["contact", "-sent_at"], name="marketingsend_recent")]
