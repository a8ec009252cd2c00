"""Speed to lead: the clock of a lead's first touch by a person.

A ``FirstTouch`` starts when routing gives a new or newly qualified lead an owner or leaves
it in a team's queue (``sales.services.first_touch``), and stops at the first call, meeting
or email a person logs or sends to the lead after that (``TOUCH_KINDS``). It keeps the
response time for the speed-to-lead report, and, when the rule sets a deadline, what the
sweep did about a missed one (reminded, escalated).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.sales.models.routing import Assignment, AssignmentRule, Team

# The timeline kinds that are a person touching a lead (written by their own apps).
TOUCH_KINDS = ("call.logged", "meeting.logged", "email.sent", "chat.replied")


class FirstTouch(models.Model):
    """One lead's speed-to-lead clock. ``started_at``: the lead arrived (a new contact's
    creation) or qualified (became MQL). ``due_at``: the deadline (None: the rule has none).
    ``touched_at`` / ``touched_by`` / ``touch_kind``: the first touch, once it happened, and
    ``response_seconds`` from the start to it. ``reminded_at`` and ``escalated_at`` are the
    once-only claims of the sweep's reminder and escalation (``escalate_at``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who was to make the first touch: the lead's owner (None: in a queue).",
    )
    source = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    escalation = models.CharField(max_length=20, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    touched_at = models.DateTimeField(null=True, blank=True)
    touched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touch_kind = models.CharField(max_length=40, blank=True)
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "started_at"], name="firsttouch_ws_start"),
            models.Index(
                fields=["contact"], name="firsttouch_open", condition=Q(touched_at__isnull=True)
            ),
            models.Index(
                fields=["due_at"], name="firsttouch_due", condition=Q(touched_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"First touch of contact {self.contact_id}"

    @property
    def within_deadline(self) -> bool | None:
        """Touched by the deadline (None: no deadline, or not touched and not yet due)."""
        if self.due_at is None:
            return None
        if self.touched_at is not None:
            return self.touched_at <= self.due_at
        return False if timezone.now() > self.due_at else None


class FirstTouchNotice(models.Model):
    """An email about an overdue first touch, once per clock, kind and person."""

    first_touch = models.ForeignKey(FirstTouch, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # "overdue" (the owner), "escalated" (the leads)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["first_touch", "kind", "user"], name="firsttouchnotice_once"
            )
        ]
