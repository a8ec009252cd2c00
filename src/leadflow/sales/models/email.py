"""One-to-one email from a salesperson to a lead: the workspace's templates and every email
written, with its status.

A ``PersonalEmail`` is the once-only record of a send: the worker reads its ``status`` under
the row's lock and sends only a ``queued`` email, marking it ``sent`` (with ``sent_at`` and
the ``message_id``) in the same transaction (sales.tasks.personal_email_deliver). The
``client_id`` (unique in the workspace) makes a double click or a retried request store one
email.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace

SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000
CLIENT_ID_MAX_LENGTH = 100


class EmailTemplate(models.Model):
    """A reusable subject and body with merge fields (sales.merge), named uniquely in its
    workspace. Its text only ever holds known merge fields: services check them on save."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="email_template_unique_name")
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PersonalEmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class PersonalEmail(models.Model):
    """One email a member wrote to one contact, merged (``subject`` and ``body`` are what
    goes out). ``queued`` until the worker hands it to the mail server (``sent``, with
    ``sent_at`` and ``message_id``) or the server refuses it for good (``failed``, with
    ``error``). ``error`` on a queued email says why the last try did not go through."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.EmailField()
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=PersonalEmailStatus.choices, default=PersonalEmailStatus.QUEUED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH)
    message_id = models.CharField(max_length=300, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "client_id"], name="personal_email_unique_client_id"
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "-queued_at"], name="personal_email_contact"),
        ]
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address} ({self.status})"
