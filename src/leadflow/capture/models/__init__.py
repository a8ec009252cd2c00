"""Lead forms, their submissions (immutable, stored before any 2xx) and consent records."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.core.models import Workspace


def new_form_key() -> str:
    """The public key of a form, used in embeds (it grants nothing but submitting)."""
    return "f_" + secrets.token_urlsafe(12)


class FormStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class Form(models.Model):
    """A lead form: its fields (an ordered list of definitions) and its settings.

    ``fields`` holds dicts validated by ``capture.fields.form_fields_clean``: name, type,
    label, placeholder, help_text, required, options, maps_to, pattern, min, max,
    max_length, blocked_domains, block_disposable, default, consent_text.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=40, unique=True, default=new_form_key)
    status = models.CharField(max_length=20, choices=FormStatus.choices, default=FormStatus.ACTIVE)
    fields = models.JSONField(default=list)
    submit_label = models.CharField(max_length=100, default="Send")
    success_message = models.TextField(default="Thank you! We will be in touch soon.")
    redirect_url = models.URLField(max_length=2000, blank=True)
    notify_user_ids = models.JSONField(default=list, blank=True)
    notify_owner = models.BooleanField(default=False)
    # The member who owns the leads this form creates, until routing exists (a lead that
    # is known already keeps its owner).
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)
    lifecycle_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    double_opt_in = models.BooleanField(default=False)
    proof_of_work = models.BooleanField(
        default=False, help_text="Ask browsers to solve a small puzzle (forms under attack)."
    )
    min_fill_seconds = models.PositiveSmallIntegerField(default=3)
    # The lead magnet a valid submission earns (landing pages and pop-ups embed forms, so
    # this one link serves them too).
    magnet = models.ForeignKey(
        "capture.Magnet", null=True, blank=True, on_delete=models.SET_NULL, related_name="forms"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="form_ws_created")]

    def __str__(self) -> str:
        return self.name


class SubmissionStatus(models.TextChoices):
    """accepted: a lead. suspected: held back by a soft signal only (sent sooner than the
    form's minimum fill time, or with a time token past its age): probably a quick person,
    kept for a member to release. spam: a hard signal (honeypot, forged or missing token,
    proof of work). A suspected or spam submission released by a member becomes accepted."""

    ACCEPTED = "accepted", "Accepted"
    SUSPECTED = "suspected", "Suspected"
    SPAM = "spam", "Spam"


class Submission(models.Model):
    """One submission as received: payload, time, IP, user agent, page and UTM.

    What was sent is immutable; written in the same transaction as the contact upsert, its
    activity and its consent records. ``submission_id`` (made by the client) makes retries
    store once; the first answer is kept in ``response`` and replayed. Only a release
    (``submission_release``) changes a suspected or spam row: it becomes accepted with its
    contact and values, once.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    submission_id = models.UUIDField(default=uuid.uuid4)
    status = models.CharField(max_length=20, choices=SubmissionStatus.choices)
    spam_reason = models.CharField(max_length=100, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    payload = models.JSONField(default=dict)
    values = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    visitor_id = models.CharField(max_length=100, blank=True)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when a member released a suspected or spam submission as a lead (who, when);
    # spam_reason keeps why it had been held.
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["form", "submission_id"], name="submission_unique_client_id"
            )
        ]
        indexes = [
            models.Index(fields=["form", "status", "-created_at"], name="submission_form_time"),
            models.Index(fields=["workspace", "-created_at"], name="submission_ws_time"),
        ]

    def __str__(self) -> str:
        """Who sent it to which form, as the audit log names it ("jane@x.com on Book a demo")."""
        answers = self.values or (self.payload if isinstance(self.payload, dict) else {})
        sender = answers.get("email") or answers.get("phone") or f"#{self.pk}"
        return f"{sender} on {self.form.name}"


class ConsentRecord(models.Model):
    """Proof of consent: the exact text shown, its version, when, from where, and (with
    double opt-in) when the person confirmed by clicking the signed link."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    form = models.ForeignKey(Form, null=True, on_delete=models.SET_NULL, related_name="+")
    submission = models.ForeignKey(
        Submission, null=True, on_delete=models.SET_NULL, related_name="consents"
    )
    field_name = models.CharField(max_length=60)
    text = models.TextField()
    version = models.CharField(max_length=20)
    granted_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contact", "-granted_at"], name="consent_contact")]


class NotificationLog(models.Model):
    """One notification email sent for a submission (so a retried task sends it once)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    recipient = models.EmailField()
    kind = models.CharField(max_length=30)
    sent_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "recipient", "kind"], name="notification_once"
            )
        ]


from leadflow.capture.models.magnets import (  # noqa: E402 - they refer to Form above
    Magnet,
    MagnetCode,
    MagnetGrant,
    MagnetKind,
    SeatStatus,
)

# Pop-ups keep their model in their own package (capture.popups); imported here so Django
# registers it with the capture app.
from leadflow.capture.popups.models import Popup  # noqa: E402

__all__ = [
    "ConsentRecord",
    "Form",
    "FormStatus",
    "Magnet",
    "MagnetCode",
    "MagnetGrant",
    "MagnetKind",
    "NotificationLog",
    "Popup",
    "SeatStatus",
    "Submission",
    "SubmissionStatus",
]
