"""Bounces and complaints (docs/nurture/bounces.md): where the workspace's bounces arrive
(a mailbox read by the worker, provider webhooks), each bounce recorded once, and the run of
soft bounces per address that suppresses it after ``soft_bounce_limit`` in a row.

Addresses are kept only as their SHA-256 (``address_hash``, as the suppression list does):
a bounce names its contact while that contact exists, and outlives its erasure without
keeping the address.
"""

from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.nurture.models.email import Delivery, TlsMode

# Only these environment variables may hold a bounce mailbox's password (see
# models.email.PASSWORD_ENV_PREFIX for why secrets are named, never stored).
MAILBOX_PASSWORD_ENV_PREFIX = "LEADFLOW_IMAP_PASSWORD_"
MAILGUN_KEY_ENV_PREFIX = "LEADFLOW_MAILGUN_KEY_"
SOFT_BOUNCE_LIMIT_DEFAULT = 3


class MailboxKind(models.TextChoices):
    NONE = "none", "No bounce mailbox"
    IMAP = "imap", "IMAP server"
    MAILDIR = "maildir", "Maildir on this server"


class BounceSettings(models.Model):
    """A workspace's bounce handling: the mailbox the worker reads (IMAP with the password
    from ``password_env``, or a Maildir under the installation's bounce directory), the
    soft-bounce limit, and the generation of its webhook token (raised to revoke every
    webhook URL given out before)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox_kind = models.CharField(
        max_length=10, choices=MailboxKind.choices, default=MailboxKind.NONE
    )
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(default=993)
    tls_mode = models.CharField(max_length=10, choices=TlsMode.choices, default=TlsMode.SSL)
    username = models.CharField(max_length=254, blank=True)
    password_env = models.CharField(max_length=100, blank=True)
    folder = models.CharField(max_length=200, blank=True, default="INBOX")
    maildir_name = models.CharField(max_length=100, blank=True)
    soft_bounce_limit = models.PositiveSmallIntegerField(default=SOFT_BOUNCE_LIMIT_DEFAULT)
    mailgun_key_env = models.CharField(max_length=100, blank=True)
    webhook_generation = models.PositiveIntegerField(default=1)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"bounce settings of workspace {self.workspace_id}"


class BounceKind(models.TextChoices):
    HARD = "hard", "Hard bounce"
    SOFT = "soft", "Soft bounce"
    COMPLAINT = "complaint", "Complaint"


class Bounce(models.Model):
    """One bounce or complaint about one address, recorded once: ``dedupe_key`` (the
    bounce email's Message-ID and the recipient, a provider's event id, the refused
    delivery) is unique in the workspace, so reading the same report twice adds nothing.
    ``delivery`` is the email it is about when it could be matched."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=BounceKind.choices)
    address_hash = models.CharField(max_length=64)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_code = models.CharField(max_length=20, blank=True)
    diagnostic = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=50)
    dedupe_key = models.CharField(max_length=64)
    suppressed = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="nurture_bounce_once")
        ]
        indexes = [
            models.Index(fields=["workspace", "-received_at", "-id"], name="nurture_bounce_recent")
        ]

    def __str__(self) -> str:
        return f"{self.kind} bounce {self.address_hash[:12]}…"


class SoftBounceRun(models.Model):
    """How many soft bounces in a row an address has had (distinct deliveries: a mail
    server's repeated reports of one email count once); a delivery that arrived resets it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    address_hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)
    last_delivery_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "address_hash"], name="nurture_soft_bounce_run_unique"
            )
        ]


class Reply(models.Model):
    """One answer to a marketing email, read from the bounce mailbox (docs/nurture/replies.md),
    recorded once: ``dedupe_key`` (the reply's own Message-ID, hashed) is unique in the
    workspace, so a mailbox read again after a crash adds nothing. ``delivery`` is the email
    it answers, recognised by the Message-ID LeadFlow gave it (never by what the reply
    claims about a contact); ``auto`` marks an auto-reply (out of office, an autoresponder),
    which is on the timeline but is not a reply for exits and figures."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept with the reply so the figures per message outlive the delivery row.
    message_id = models.BigIntegerField(null=True, blank=True)
    auto = models.BooleanField(default=False)
    dedupe_key = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="nurture_reply_once")
        ]
        indexes = [
            models.Index(fields=["workspace", "message_id", "auto"], name="nurture_reply_message")
        ]

    def __str__(self) -> str:
        return f"{'auto-' if self.auto else ''}reply to delivery {self.delivery_id}"
