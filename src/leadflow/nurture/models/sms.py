"""Text messages (SMS) from sequences, through a provider with a Twilio-compatible HTTP API
(``POST {api_base}/2010-04-01/Accounts/{account_sid}/Messages.json`` with From, To and
Body, HTTP Basic auth with the account and its token).

An ``SmsDelivery`` is one (sequence, step, contact, entry) under a unique constraint, so a
step that runs twice texts once; it moves queued → in_flight (committed before the
provider is called) → sent, or → skipped / failed; one whose worker died in flight is
parked as ``unknown``, never sent again by itself (as email deliveries: decision 0028).
The token is never stored: ``token_env`` names an environment variable, the workspace's
own (``LEADFLOW_SMS_TOKEN_W<workspace id>…``: core.secrets).

The provider's delivery receipts (status callbacks) fill ``receipt``, which only moves
forward (queued → sent → delivered / undelivered / failed), so a late "sent" never
undoes a "delivered". Texts people send back are ``SmsInbound`` rows (one per provider
message id); a STOP puts the number on ``SmsSuppression``, kept apart from any contact so
it survives the contact's deletion (docs/nurture/sms.md).
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
    # Texts need a lawful basis for the ``sms`` consent purpose; off: marketing consent.
    require_sms_consent = models.BooleanField(default=True)
    # The address the provider reaches LeadFlow at (for each text's StatusCallback), taken
    # from the request that saved the settings; LEADFLOW_BASE_URL wins when it is set.
    public_base = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)


class SmsStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_FLIGHT = "in_flight", "Being handed to the provider"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (review)"


class SmsReceipt(models.TextChoices):
    """What the provider's status callbacks last said (``""``: nothing yet)."""

    NONE = "", "No receipt yet"
    QUEUED = "queued", "Queued at the provider"
    SENT = "sent", "Sent to the carrier"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed at the provider"


# A receipt only moves to a higher rank: callbacks arrive in any order.
RECEIPT_RANK = {"": 0, "queued": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}


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
    receipt = models.CharField(
        max_length=12, choices=SmsReceipt.choices, blank=True, default=SmsReceipt.NONE
    )
    receipt_error = models.CharField(max_length=20, blank=True, default="")
    receipt_at = models.DateTimeField(null=True, blank=True)

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


class SmsInboundAction(models.TextChoices):
    """What LeadFlow did with a text someone sent: a carrier keyword or a reply."""

    STOP = "stop", "Opted out (STOP)"
    START = "start", "Opted in again (START)"
    HELP = "help", "Asked for help"
    REPLY = "reply", "Reply"


class SmsInbound(models.Model):
    """One text a person sent to the workspace's number, as the provider's webhook posted
    it: stored once per provider message id (a retried webhook finds it there). ``contact``
    is the contact the sending number matched (the lowest id when several did;
    ``contacts_matched`` says how many), none for an unknown number; deleting the contact
    keeps the row."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message_sid = models.CharField(max_length=64)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True, default="")
    body = models.TextField(blank=True, default="")
    action = models.CharField(max_length=10, choices=SmsInboundAction.choices)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contacts_matched = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "message_sid"], name="nurture_sms_in_once")
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="nurture_sms_in_recent")]


class SmsSuppression(models.Model):
    """A number that texted STOP: never texted by the workspace until it texts START.
    Keyed by the number in E.164 (``+14155550134``), apart from any contact, so it
    survives the contact's deletion and covers every contact with that number. The
    number is kept as it is, not hashed: the space of phone numbers is small enough that a
    hash would hide nothing (decision 0034). The provider's opt-out error (21610) adds a
    number too."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    number = models.CharField(max_length=32)
    keyword = models.CharField(max_length=20)
    inbound = models.ForeignKey(
        SmsInbound, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="nurture_sms_suppressed")
        ]
