"""Routing's data: teams and their members (availability, weight, daily capacity), the
workspace's assignment rules, and every assignment made.

The round-robin position lives on the team row (``Team.round_robin_last``) and the weighted
round robin's running weights on the member rows: a routing locks the team row
(``select_for_update``) before it reads either, so leads routed at once take turns.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.sales.hours import is_within_working_hours, time_zone_get


class Team(models.Model):
    """A group of salespeople leads are shared among. ``round_robin_last`` is the member who
    got the team's last round-robin lead; it is read and moved only under the team row's
    lock, in the assignment's transaction."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    round_robin_last = models.ForeignKey(
        "TeamMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="team_unique_name")
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """A salesperson in a team, with what decides whether a lead may go to him now: working
    hours (``sales.hours``) in his ``time_zone``, away (until ``away_until`` when set), and at
    most ``daily_capacity`` leads from this team per local day (none: no cap). ``weight``
    is his share in a weighted round robin; ``current_weight`` is that algorithm's running
    state (smooth weighted round robin), written under the team's lock."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1)
    daily_capacity = models.PositiveIntegerField(null=True, blank=True)
    away = models.BooleanField(default=False)
    away_until = models.DateTimeField(null=True, blank=True)
    working_hours = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    current_weight = models.IntegerField(default=0)
    # A team lead hears of the team's leads whose first touch is overdue (escalation).
    is_lead = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="teammember_unique_user"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="teammember_weight_positive"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"

    def is_away(self, now: dt.datetime) -> bool:
        return self.away and (self.away_until is None or now < self.away_until)

    def is_working(self, now: dt.datetime) -> bool:
        """Inside his working hours at ``now``; an unknown zone reads the hours in UTC."""
        zone = time_zone_get(self.time_zone) or dt.UTC
        return is_within_working_hours(self.working_hours, zone, now)


class Strategy(models.TextChoices):
    FIXED_PERSON = "fixed_person", "A fixed person"
    ROUND_ROBIN = "round_robin", "Round robin in a team"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin", "Weighted round robin in a team"
    LEAST_LOADED = "least_loaded", "Fewest open leads in a team"
    ACCOUNT_OWNER = "account_owner", "The account owner of the lead's company"


TEAM_STRATEGIES = (Strategy.ROUND_ROBIN, Strategy.WEIGHTED_ROUND_ROBIN, Strategy.LEAST_LOADED)


class Fallback(models.TextChoices):
    """What a rule does when nobody in its team is available."""

    QUEUE = "queue", "Leave unassigned in the team's queue"
    NEXT_MEMBER = "next_member", "The next member not away and under capacity, outside hours too"


class Escalation(models.TextChoices):
    """What happens when a lead's first touch is still missing after its reminder."""

    NONE = "none", "Nothing more (the reminder only)"
    NOTIFY_TEAM_LEAD = "notify_team_lead", "Tell the team's leads (or the workspace's admins)"
    REASSIGN = "reassign", "Give the lead to the next available member of the team"


class AssignmentRule(models.Model):
    """One routing rule: contacts matching ``conditions`` (the condition language's JSON
    form; ``{}`` matches every contact) go to a person or a team member by ``strategy``.
    The workspace's enabled rules are tried by ``position``; the first match decides."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict, blank=True)
    strategy = models.CharField(max_length=30, choices=Strategy.choices)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.RESTRICT, related_name="rules"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fallback = models.CharField(max_length=20, choices=Fallback.choices, default=Fallback.QUEUE)
    # Speed to lead (sales.services.first_touch): the first touch is due this many minutes
    # after the lead arrives (None: no deadline), counted in the owner's working hours when
    # ``first_touch_business_hours``; the owner is reminded at the deadline, then
    # ``breach_escalation`` happens ``escalate_after_minutes`` later if still untouched.
    first_touch_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_touch_business_hours = models.BooleanField(default=True)
    breach_escalation = models.CharField(
        max_length=20, choices=Escalation.choices, default=Escalation.NOTIFY_TEAM_LEAD
    )
    escalate_after_minutes = models.PositiveIntegerField(default=15)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["workspace", "position"], name="assignrule_ws_pos")]

    def __str__(self) -> str:
        return self.name


class Trigger(models.TextChoices):
    CREATED = "created", "New lead"
    MQL = "mql", "Became MQL"
    MANUAL = "manual", "Reassigned by hand"
    CLAIMED = "claimed", "Claimed from a team's queue"
    OWNER_LEFT = "owner_left", "Owner left the workspace"
    HANDED_BACK = "handed_back", "Handed back by its owner"


class Assignment(models.Model):
    """One routing decision, kept for good: who got the contact (``owner``) or that it was
    left in ``team``'s queue (``queued``), by which rule and strategy, why (``reason``), on
    which trigger and by whom. The capacity cap counts these rows (per team and owner,
    since the owner's local midnight) under the team's lock."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    queued = models.BooleanField(default=False)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments"
    )
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strategy = models.CharField(max_length=30, blank=True)
    reason = models.CharField(max_length=300)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["team", "owner", "assigned_at"], name="assignment_capacity"),
            models.Index(fields=["contact", "-assigned_at"], name="assignment_contact"),
            models.Index(fields=["workspace", "-assigned_at"], name="assignment_ws_time"),
            # A team's queue, newest first (``selectors.team_queue``).
            models.Index(
                fields=["team", "-assigned_at", "-id"],
                condition=Q(queued=True),
                name="assignment_team_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} → {self.owner_id or 'queue'} ({self.reason})"


class AssignmentNotice(models.Model):
    """The email telling a new owner about a lead routed or given to them, once per
    assignment (a retried task finds the row and sends nothing)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)
