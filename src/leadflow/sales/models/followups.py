"""Follow-ups: a salesperson's next steps on a contact (a call, an email, a meeting, a to-do),
due at a moment entered in the assignee's time zone and stored in UTC, with a reminder.

The reminder sweep (``sales.tasks.followup_reminders_send``) claims due reminders with one
conditional UPDATE (``reminded_at`` still empty), so each follow-up reminds once however
many sweeps run at the same time; the partial index ``followup_reminder_due`` keeps that
sweep cheap.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class FollowUpKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    TO_DO = "to_do", "To-do"


class FollowUp(models.Model):
    """One follow-up on a contact for one member (``assignee``). Open while ``done_at`` is
    empty. ``reminder_at`` (by default ``due_at``) is when the assignee is reminded, in the
    app and by email; ``reminded_at`` says the reminder went (set by the sweep's claim), and
    is cleared when the due time or the reminder moves, or the follow-up is reopened."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices, default=FollowUpKind.CALL)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    due_at = models.DateTimeField()
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["workspace", "assignee", "due_at"], name="followup_assignee_due"),
            models.Index(fields=["contact", "due_at"], name="followup_contact_due"),
            models.Index(
                fields=["reminder_at"],
                condition=Q(reminded_at__isnull=True, done_at__isnull=True),
                name="followup_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
