"""Sequences (drip campaigns): a trigger enrols contacts, each enrolment walks the steps
(send an email, wait, branch, change the contact, enrol elsewhere) until it reaches the end,
meets the goal or an exit condition.

The steps are one JSON document on the sequence (``steps``: a list of step objects with
integer ids, checked by ``nurture.sequence_steps``), so the editor saves the whole flow at
once and an enrolment points at a step by id. An ``Enrollment`` is one (sequence, contact,
entry) under a unique constraint: a second trigger of the same entry adds nothing, and a
re-entry (when the sequence allows it) is the next entry number. The runner
(``nurture.services.sequence_runner``) leases due enrolments like the sender leases
deliveries, so two workers never move the same one. ``EnrollmentStep`` rows record every
step an enrolment passed, which gives the per-step counts and conversion rates.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


class Reentry(models.TextChoices):
    NEVER = "never", "Never: once per contact"
    AFTER_FINISH = "after_finish", "Again once the previous entry finished"


class Sequence(models.Model):
    """A drip campaign of a workspace. ``trigger`` says which activity enrols a contact
    (``{"kind": "segment.entered", "segment_id": 3}``, ``{"kind": "manual"}``…);
    ``exit_conditions`` and ``goal`` are condition trees (docs/conditions.md), empty for
    none: a contact matching the goal converts (and leaves), one matching the exit
    conditions leaves. Only an active sequence enrols and moves contacts."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    status = models.CharField(
        max_length=10, choices=SequenceStatus.choices, default=SequenceStatus.DRAFT
    )
    trigger = models.JSONField(default=dict, blank=True)
    steps = models.JSONField(default=list, blank=True)
    first_step = models.PositiveIntegerField(null=True, blank=True)
    exit_conditions = models.JSONField(default=dict, blank=True)
    goal = models.JSONField(default=dict, blank=True)
    reentry = models.CharField(max_length=20, choices=Reentry.choices, default=Reentry.NEVER)
    # "Exit when the contact replies": a reply (email or text, never an auto-reply) after
    # the contact entered ends the enrolment, whatever the exit conditions say.
    exit_on_reply = models.BooleanField(default=False, db_default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="sequence_unique_name")
        ]
        indexes = [models.Index(fields=["workspace", "status"], name="sequence_ws_status")]

    def __str__(self) -> str:
        return self.name

    def step(self, step_id: int | None) -> dict | None:
        for step in self.steps or []:
            if step.get("id") == step_id:
                return step
        return None


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "In the sequence"
    COMPLETED = "completed", "Reached the end"
    CONVERTED = "converted", "Met the goal"
    EXITED = "exited", "Left (exit condition)"
    REMOVED = "removed", "Removed"


class Enrollment(models.Model):
    """One contact's walk through a sequence (its ``entry``-th time). While ``active`` it
    sits at ``step`` until ``wake_at``; ``waiting_since`` is when it reached that step (a
    wait-for-activity step looks for the activity since then)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    entry = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    step = models.PositiveIntegerField(null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    # Asleep at a wait step until ``wake_at`` (False: it just arrived at ``step``).
    waiting = models.BooleanField(default=False)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")
    enrolled_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "contact", "entry"], name="sequence_enrollment_once"
            )
        ]
        indexes = [
            # The runner's claim: active enrolments whose time has come.
            models.Index(
                fields=["wake_at", "id"],
                condition=Q(status="active"),
                name="enrollment_due",
            ),
            # Who waits where (per-step counts) and the sequence's lists.
            models.Index(fields=["sequence", "status", "step"], name="enrollment_seq_step"),
        ]


class EnrollmentStep(models.Model):
    """An enrolment passed a step (``outcome``: "yes"/"no" at a branch, "activity" or
    "timeout" after a wait for an activity, "" otherwise)."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="enrollment_step_once")
        ]
