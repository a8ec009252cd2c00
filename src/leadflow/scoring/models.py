"""Lead scoring's tables: the workspace's scoring profile (half-life, temperature
thresholds, base grade, the MQL rule), engagement rules and the points they gave (the
ledger a contact's breakdown is read from), fit rules (the ideal customer profile), and
the trained conversion models with each contact's latest prediction and its reasons.

The results are copied onto the contact (``Contact.engagement_score``, ``fit_grade``,
``conversion_probability``, ``temperature``, ``funnel_section``) through
``contacts.services.contact_scores_write``; these tables are how they were reached.
"""

from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace


class ScoringProfile(models.Model):
    """One per workspace (created with the default rules on first use): how points decay,
    where warm and hot begin, the grade a contact starts from, and when a lead becomes an
    MQL."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    # Engagement: a point loses half its value every ``half_life_days``.
    half_life_days = models.PositiveIntegerField(default=30)
    # Temperature from the (decayed) engagement score: hot at or above ``hot_threshold``,
    # warm at or above ``warm_threshold``, cold below.
    warm_threshold = models.FloatField(default=15)
    hot_threshold = models.FloatField(default=50)
    # Fit: the grade before any fit rule moves it (contacts.models.FIT_GRADES).
    base_grade = models.CharField(max_length=1, default="C")
    # Lifecycle: a lead (or subscriber) matching this condition tree (contacts'
    # condition language, JSON form) becomes an MQL; {} means no automatic MQL.
    mql_conditions = models.JSONField(default=dict, blank=True)
    # Learning: URL patterns of the workspace's key pages (pricing, demo...), counted as
    # features; and how long before its outcome a labelled contact's features are cut off.
    key_pages = models.JSONField(default=list, blank=True)
    outcome_horizon_days = models.PositiveIntegerField(default=1)
    # When the default rules were installed (once per workspace).
    defaults_installed_at = models.DateTimeField(null=True, blank=True)
    # When every contact was last recomputed (rules changed, decay refreshed).
    recomputed_at = models.DateTimeField(null=True, blank=True)
    # What the ledger holds for the whole workspace: {rule id: the rule's fingerprint when
    # its points were built} (services.engagement.engagement_rebuild); None: unknown, the
    # next whole-workspace rebuild starts from nothing.
    ledger_rules = models.JSONField(null=True, blank=True, default=None)
    updated_at = models.DateTimeField(default=timezone.now)


class RuleSource(models.TextChoices):
    ACTIVITY = "activity", "Activity"
    EVENT = "event", "Tracked event"


class EngagementRule(models.Model):
    """ "An activity kind or tracked event type, with optional conditions on its properties,
    gives (or takes) points": ``source`` says where the rows are (the activity log, or
    tracking's events), ``kind`` which rows (an activity kind key such as
    ``form.submitted``, or an event type such as ``pageview``), ``conditions`` narrow them
    (a list of ``{"property", "operator", "value"}``, all must hold; docs/scoring.md), and
    the caps bound what one contact can collect (per day, in all; ``cap_total=1`` is a
    once-only rule)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=RuleSource.choices)
    kind = models.CharField(max_length=60)
    conditions = models.JSONField(default=list, blank=True)
    points = models.IntegerField()
    cap_per_day = models.PositiveIntegerField(null=True, blank=True)
    cap_total = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("position", "id")
        indexes = [models.Index(fields=["workspace", "position"], name="engrule_ws_pos")]

    def __str__(self) -> str:
        return self.name


class ScorePoint(models.Model):
    """The ledger: the points one rule gave one contact for one source row (an activity or
    an event), at the moment it happened. A contact's engagement score is the sum of its
    points, each halved every half-life since it happened; its breakdown is these rows.

    Rebuilt from the source rows (a contact's, or the whole workspace's) in one set-based
    statement per rule, so an incremental update and a full recompute give the same rows.
    Plain ids, no foreign keys: the ledger is derived and rebuilt, and a 10-million-row
    rebuild should not check constraints row by row."""

    workspace_id = models.BigIntegerField()
    contact_id = models.BigIntegerField()
    rule_id = models.BigIntegerField()
    source = models.CharField(max_length=10, choices=RuleSource.choices)
    source_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    points = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace_id", "contact_id"], name="scorepoint_ws_contact"),
        ]


class FitRule(models.Model):
    """One line of the ideal customer profile: contacts matching ``conditions`` (a tree of
    contacts' condition language, JSON form) move ``step`` grades (positive: towards A;
    negative: towards F) from the base grade."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict)
    step = models.IntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("position", "id")
        indexes = [models.Index(fields=["workspace", "position"], name="fitrule_ws_pos")]

    def __str__(self) -> str:
        return self.name


class ModelStatus(models.TextChoices):
    TRAINING = "training", "Training"
    ACTIVE = "active", "In use"
    RETIRED = "retired", "Replaced"
    REJECTED = "rejected", "Not used (worse than the model in use)"
    FAILED = "failed", "Failed"


class ConversionModel(models.Model):
    """A trained conversion-probability model of one workspace: its family (the one that
    won the cross-validation), its metrics (cross-validated and on the time hold-out), what
    it was trained on, the fitted pipeline (serialised by joblib) and its feature list. One
    is ``active`` per workspace at most; a retrain that does worse is ``rejected`` unless
    forced."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ModelStatus.choices, default=ModelStatus.TRAINING
    )
    family = models.CharField(max_length=40, blank=True)
    # Too few outcomes to learn from: the smoothed frequency model, labelled "low data".
    low_data = models.BooleanField(default=False)
    forced = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(default=0)
    positives = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    artifact = models.BinaryField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="convmodel_ws_version"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(status="active"),
                name="convmodel_one_active",
            ),
        ]


class Prediction(models.Model):
    """A contact's latest conversion probability, from which model, and the three to five
    factors that raised or lowered it most, in words (``[{"text", "effect"}]``, ``effect``
    in probability points, signed). One row per contact, replaced by each scoring run."""

    workspace_id = models.BigIntegerField()
    contact_id = models.BigIntegerField(unique=True)
    model_id = models.BigIntegerField()
    probability = models.FloatField()
    factors = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace_id", "model_id"], name="prediction_ws_model")]
