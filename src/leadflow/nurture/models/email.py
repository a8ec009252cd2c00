"""Marketing email: who it is from (sending identities), how it leaves (the workspace's SMTP
and DKIM settings), what it says (templates), and the exactly-once record of every send
(messages and their deliveries).

A ``Delivery`` is one (message, contact, step, entry) under a unique constraint, so a
contact is enqueued once however often a message is sent to them. Its ``status`` moves
queued → in_flight (committed before the mail server is given the email) → sent (committed
after), or → skipped / failed; an in-flight delivery whose lease ran out (its worker died
between the hand-over and the commit) is parked as ``unknown`` and never sent again by
itself: a person re-queues or drops it (docs/nurture/sending.md, decision 0028).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace

SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 200_000
# Names of environment variables a workspace may point at for its secrets: only these
# prefixes followed by "W<its id>" (core.secrets), so a workspace admin can never make
# LeadFlow send SECRET_KEY or DATABASE_URL, or another workspace's secret, as an SMTP
# password to a server of their choosing.
PASSWORD_ENV_PREFIX = "LEADFLOW_SMTP_PASSWORD_"
DKIM_KEY_ENV_PREFIX = "LEADFLOW_DKIM_KEY_"


class SendingIdentity(models.Model):
    """Who a marketing email is from: a From name and address and an optional Reply-To,
    the address unique in its workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    from_name = models.CharField(max_length=100, blank=True)
    from_address = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "from_address"], name="nurture_identity_unique_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_name} <{self.from_address}>" if self.from_name else self.from_address


class TlsMode(models.TextChoices):
    NONE = "none", "None (plain)"
    STARTTLS = "starttls", "STARTTLS"
    SSL = "ssl", "TLS from the start (SMTPS)"


class SmtpSettings(models.Model):
    """How the workspace's marketing email leaves: its own SMTP server when ``host`` is
    set, else the installation's mail settings (``MAILERS``). The password is never stored:
    ``password_env`` names an environment variable, the workspace's own
    (``LEADFLOW_SMTP_PASSWORD_W<workspace id>…``: core.secrets), that holds it. DKIM signing
    when ``dkim_domain`` and ``dkim_selector`` are set, with the private key from
    ``LEADFLOW_DKIM_KEY_W<workspace id>…`` (``dkim_key_env``) or a file in the installation's DKIM
    key directory (``dkim_key_file``, a file name only)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(default=587)
    tls_mode = models.CharField(max_length=10, choices=TlsMode.choices, default=TlsMode.STARTTLS)
    username = models.CharField(max_length=254, blank=True)
    password_env = models.CharField(max_length=100, blank=True)
    dkim_domain = models.CharField(max_length=253, blank=True)
    dkim_selector = models.CharField(max_length=63, blank=True)
    dkim_key_env = models.CharField(max_length=100, blank=True)
    dkim_key_file = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.host or "installation default"


class TemplateSourceKind(models.TextChoices):
    HTML = "html", "HTML"
    MJML = "mjml", "MJML"
    BLOCKS = "blocks", "Blocks"


class MarketingTemplate(models.Model):
    """A marketing email's subject and bodies with personalisation (rendered in the sandbox
    of ``nurture.services.rendering``: only the contact's fields and the offer). Written as
    HTML, as MJML (``mjml_source``) or as editor blocks (``blocks``); the last two are
    compiled to ``html_body`` once, on save, so sending reads HTML only. The text body is
    the author's, or generated from the HTML on save (``text_generated``). Every body
    compiles: services check it (docs/nurture/templates.md)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    source_kind = models.CharField(
        max_length=10, choices=TemplateSourceKind.choices, default=TemplateSourceKind.HTML
    )
    blocks = models.JSONField(default=list, blank=True)
    mjml_source = models.TextField(blank=True, default="")
    html_body = models.TextField()
    text_body = models.TextField(blank=True)
    text_generated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="nurture_template_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """A marketing email to send to contacts: a template from an identity, for a purpose
    (the consent topic it relies on). Its deliveries say who got it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    template = models.ForeignKey(MarketingTemplate, on_delete=models.PROTECT, related_name="+")
    identity = models.ForeignKey(SendingIdentity, on_delete=models.PROTECT, related_name="+")
    topic = models.CharField(max_length=100, blank=True, default="marketing")
    # The subscription topic it belongs to: a person who opted out of it is skipped.
    subscription_topic = models.ForeignKey(
        "nurture.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A personal offer in the email ({{ offer.code }}): this one's code for each person,
    # or (``offer_best``) the open offer that fits each person best.
    offer = models.ForeignKey(
        "nurture.Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    offer_best = models.BooleanField(default=False)
    # The subject instead of the template's (an A/B test on the subject), "" for the template's.
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_FLIGHT = "in_flight", "Being handed to the mail server"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (review)"
    DROPPED = "dropped", "Dropped after review"


# A delivery in one of these is settled: nothing will happen to it by itself.
SETTLED = (
    DeliveryStatus.SENT,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.FAILED,
    DeliveryStatus.DROPPED,
)


class Delivery(models.Model):
    """One message to one contact (at one sequence step and entry: 0 for a broadcast),
    at most once: the unique constraint makes enqueueing idempotent, and the lease
    (``lease_owner`` until ``lease_expires_at``) says which worker run may move it. See
    the module docstring for the states."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveIntegerField(default=0)
    entry = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    header_message_id = models.CharField(max_length=200, blank=True, default="")
    address = models.CharField(max_length=254, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    # A bounce or complaint reported about it ("hard", "soft", "complaint": models.bounces),
    # with a database default: message_send inserts rows in plain SQL.
    bounce = models.CharField(max_length=10, blank=True, default="", db_default="")
    bounced_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Sent, its ``email.sent`` activity and pacing count not yet written: set with the
    # status, cleared by nurture.services.tracking.sent_record (batched, exactly once).
    record_pending = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "contact", "step", "entry"], name="nurture_delivery_once"
            )
        ]
        indexes = [
            # The worker's claim: a message's queued deliveries in id order.
            models.Index(
                fields=["message", "id"],
                condition=Q(status="queued"),
                name="nurture_delivery_queued",
            ),
            # The sweep and the review list: in-flight and unknown deliveries.
            models.Index(
                fields=["workspace", "status", "lease_expires_at"],
                condition=Q(status__in=["in_flight", "unknown"]),
                name="nurture_delivery_review",
            ),
            models.Index(fields=["message", "status"], name="nurture_delivery_counts"),
            models.Index(
                fields=["message"],
                condition=Q(record_pending=True),
                name="nurture_delivery_record",
            ),
        ]
