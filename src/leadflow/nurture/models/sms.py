"""Text messages (SMS) from sequences, through a provider with a Twilio-compatible HTTP API
(``POST {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json`` with From, To and
Body, HTTP Basic auth with the account and its token).

An ``SmsDelivery`` is one (sequence, step, contact, entry) under a unique constraint, so a
step that runs twice texts once; it moves queued → in_flight (committed before the
provider is called) → sent, or → skipped / failed; one whose worker died in flight is
parked as ``unknown``, never sent again by itself (as email deliveries: decision 0028).
The token is never stored: ``token_env`` names an environment variable
(``LEADFLOW_SMS_TOKEN_*``).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace

TOKEN_ENV_PREFIX = "LEADFLOW_SMS_TOKEN_"
SMS_MAX_LENGTH = 1600  # ten segments


class SmsSettings(models.Model):
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    api_base = models.CharField(max_length=300, default="https://api.twilio.com")
    account_sid = models.CharField(max_length=100, blank=True)
    from_number = models.CharField(max_length=32, blank=True)
    token_env = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)


class SmsStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_FLIGHT = "in_flight", "Being handed to the provider"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (review)"


class SmsDelivery(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sequence = models.ForeignKey(
        "nurture.Sequence", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    step = models.PositiveIntegerField()
    entry = models.PositiveIntegerField(default=0)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    status = models.CharField(max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    to_number = models.CharField(max_length=32, blank=True, default="")
    provider_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "step", "contact", "entry"], name="nurture_sms_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["lease_expires_at", "id"],
                condition=Q(status__in=["queued", "in_flight"]),
                name="nurture_sms_open",
            )
        ]
