"""Contacts (leads), companies, tags, custom fields, possible duplicates and the activity log.

"Lead" is a lifecycle stage, not a table: every person is a Contact.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Concat, Lower, Upper
from django.utils import timezone

from leadflow.contacts.activity_kinds import activity_kind_label
from leadflow.core.models import ApiKey, Workspace


class LifecycleStage(models.TextChoices):
    """Where a person is on the way to becoming a customer, and the rules for moving.

    The funnel runs subscriber → lead → MQL → SQL → opportunity → customer. Nurture and
    disqualified are *parked* beside the funnel: a person put the contact there. The rules
    (docs/lifecycle.md), decided here and nowhere else:

    - a new submission (a form, a lead source, an upsert of a known contact) only moves a
      contact forward inside the funnel: never back, never out of a parked stage, never
      into one (``submission_moves``);
    - an explicit edit (the contact page, ``PATCH``, a bulk action) may set any stage; a
      move back is recorded as such (``direction``);
    - a merge keeps the furthest stage of the two (``furthest``).
    """

    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing-qualified lead"
    SQL = "sql", "Sales-qualified lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"

    @classmethod
    def funnel_rank(cls, stage: str) -> int | None:
        """The stage's place in the funnel, 0 (subscriber) to 5 (customer); None for the
        parked stages (nurture, disqualified) and for anything that is not a stage."""
        return STAGE_RANK.get(stage)

    @classmethod
    def submission_moves(cls, current: str, requested: str) -> bool:
        """Whether a new submission asking for ``requested`` moves a contact at ``current``:
        only to a later stage of the funnel. A customer who downloads an e-book stays a
        customer; a nurtured or disqualified contact stays where a person parked it (the
        submission is still on its timeline); a form never parks anyone it did not create."""
        now, then = STAGE_RANK.get(current), STAGE_RANK.get(requested)
        return now is not None and then is not None and then > now

    @classmethod
    def direction(cls, current: str, new: str) -> str:
        """How an explicit change moves the contact: "forward" or "backward" inside the
        funnel, "parked" into nurture or disqualified, "reopened" from there back into the
        funnel, "unchanged" otherwise."""
        now, then = STAGE_RANK.get(current), STAGE_RANK.get(new)
        if current == new:
            return "unchanged"
        if then is None:
            return "parked"
        if now is None:
            return "reopened"
        return "forward" if then > now else "backward"

    @classmethod
    def furthest(cls, one: str, other: str) -> str:
        """The stage a merge of two records of one person keeps by default: the furthest
        along. A parked stage is a person's decision and outranks the stages a form gives
        (subscriber, lead), not qualification or sales progress (MQL onwards); disqualified
        outranks nurture. An empty side gives the other."""
        if not one or not other:
            return one or other
        return max(one, other, key=lambda stage: MERGE_RANK.get(stage, -1))


# The funnel, in order; parked stages (nurture, disqualified) are not in it.
STAGE_RANK: dict[str, int] = {
    stage: rank
    for rank, stage in enumerate(
        (
            LifecycleStage.SUBSCRIBER,
            LifecycleStage.LEAD,
            LifecycleStage.MQL,
            LifecycleStage.SQL,
            LifecycleStage.OPPORTUNITY,
            LifecycleStage.CUSTOMER,
        )
    )
}
# How far along each stage is when two records of one person meet (LifecycleStage.furthest).
MERGE_RANK: dict[str, int] = {
    stage: rank
    for rank, stage in enumerate(
        (
            LifecycleStage.SUBSCRIBER,
            LifecycleStage.LEAD,
            LifecycleStage.NURTURE,
            LifecycleStage.DISQUALIFIED,
            LifecycleStage.MQL,
            LifecycleStage.SQL,
            LifecycleStage.OPPORTUNITY,
            LifecycleStage.CUSTOMER,
        )
    )
}


class Temperature(models.TextChoices):
    COLD = "cold", "Cold"
    WARM = "warm", "Warm"
    HOT = "hot", "Hot"

    @classmethod
    def hottest(cls, one: str, other: str) -> str:
        """The temperature a merge of two records of one person keeps by default: the
        hotter (hot, warm, cold), so a merge never cools a lead. An empty side gives the
        other."""
        order = (cls.COLD, cls.WARM, cls.HOT)
        if not one or not other:
            return one or other
        return max(one, other, key=lambda value: order.index(value) if value in order else -1)


class FitGrade(models.TextChoices):
    """How well a contact fits the workspace's ideal customer profile, A (best) to F.

    The scoring app's fit rules move a contact up or down from the workspace's base grade,
    one letter per step (docs/scoring.md); "" means not graded."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"
    F = "F", "F"


# Best first: a grade's index is how many steps below A it is.
FIT_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")


class FunnelSection(models.TextChoices):
    """Top, middle or bottom of the funnel, derived from the stage and the temperature
    (the table in docs/scoring.md); "" for customers and disqualified contacts."""

    TOP = "top", "Top of the funnel"
    MIDDLE = "middle", "Middle of the funnel"
    BOTTOM = "bottom", "Bottom of the funnel"


class Outcome(models.TextChoices):
    """What finally became of a lead, what the learned probability is trained on: won
    (a customer) or lost (disqualified), with its date (``Contact.outcome_at``)."""

    WON = "won", "Won"
    LOST = "lost", "Lost"


class ConsentStatus(models.TextChoices):
    """The contact's marketing-email consent: the status of its latest consent ledger row
    for the ``marketing_email`` purpose (``ConsentEntry``), "unknown" without one. Written
    only by ``contacts.services.consent_record`` (and its bulk variant)."""

    UNKNOWN = "unknown", "Unknown"
    GRANTED = "granted", "Granted"
    CONFIRMED = "confirmed", "Confirmed (double opt-in)"
    WITHDRAWN = "withdrawn", "Withdrawn"
    DENIED = "denied", "Denied"

    @classmethod
    def strongest(cls, one: str, other: str) -> str:
        """The status a merge of two records of one person keeps by default: a withdrawal
        first (a merge never opts back in someone who opted out), then confirmed, granted,
        unknown. An empty side gives the other."""
        order = (cls.UNKNOWN, cls.GRANTED, cls.CONFIRMED, cls.DENIED, cls.WITHDRAWN)
        if not one or not other:
            return one or other
        return max(one, other, key=lambda status: order.index(status) if status in order else -1)


class CompanySize(models.TextChoices):
    S1 = "1-10", "1–10"
    S11 = "11-50", "11–50"
    S51 = "51-200", "51–200"
    S201 = "201-1000", "201–1,000"
    S1001 = "1001-5000", "1,001–5,000"
    S5001 = "5001+", "5,001 or more"


class Company(models.Model):
    """An organisation contacts work for; matched to contacts by corporate email domain."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, null=True, blank=True)
    size = models.CharField(max_length=20, choices=CompanySize.choices, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # The account owner: the salesperson who owns the relationship with this company
    # (routing's "account owner" strategy gives the company's new leads to this member).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "domain"],
                condition=Q(domain__isnull=False),
                name="company_unique_domain",
            )
        ]
        indexes = [models.Index(fields=["workspace", "name"], name="company_ws_name")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


# A contact's address, in the order it is written (with the country): the fields every
# write path, the export and a merge carry beside the date of birth.
ADDRESS_FIELDS = ("street_address", "city", "region", "postal_code")


class Contact(models.Model):
    """A person who showed interest and left contact details, or was imported.

    Identity rules (enforced by constraints, used by ``contact_upsert``): the email is unique
    in a workspace when present; a contact without email is identified by its phone.
    """

    # No single-column indexes on workspace and company: the (workspace, ...) indexes and
    # contact_company_lastname below serve those lookups, and every index costs each write.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    email = models.CharField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        db_index=False,
    )
    country = models.CharField(max_length=2, blank=True)
    # Where the person lives and when they were born: what a person is matched by. The
    # database default "" keeps set-based INSERTs that do not name them (benches) working.
    street_address = models.CharField(max_length=200, blank=True, default="", db_default="")
    city = models.CharField(max_length=100, blank=True, default="", db_default="")
    region = models.CharField(max_length=100, blank=True, default="", db_default="")
    postal_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    date_of_birth = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    temperature = models.CharField(
        max_length=10, choices=Temperature.choices, default=Temperature.COLD
    )
    consent_status = models.CharField(
        max_length=20, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN
    )
    first_touch_source = models.CharField(max_length=200, blank=True)
    first_touch_medium = models.CharField(max_length=200, blank=True)
    first_touch_campaign = models.CharField(max_length=200, blank=True)
    first_touch_channel = models.CharField(max_length=30, blank=True)
    last_touch_source = models.CharField(max_length=200, blank=True)
    last_touch_medium = models.CharField(max_length=200, blank=True)
    last_touch_campaign = models.CharField(max_length=200, blank=True)
    last_touch_channel = models.CharField(max_length=30, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Scores, written by the scoring app through ``contacts.services.contact_scores_write``
    # (denormalised here so lists filter and sort by them without a join). The database
    # defaults keep the set-based INSERTs that do not name them working.
    engagement_score = models.FloatField(default=0, db_default=0)
    fit_grade = models.CharField(
        max_length=1, choices=FitGrade.choices, blank=True, default="", db_default=""
    )
    conversion_probability = models.FloatField(null=True, blank=True)
    funnel_section = models.CharField(
        max_length=10, choices=FunnelSection.choices, blank=True, default="", db_default=""
    )
    # The known outcome (won / lost) and when it happened: what training learns from.
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, blank=True, default="", db_default=""
    )
    outcome_at = models.DateTimeField(null=True, blank=True)
    # When the lifecycle stage last changed (time in stage).
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    # Lower-cased email and name, kept by the database, for free-text search; on
    # PostgreSQL a trigram index serves it (migration 0003), so search stays fast at scale.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(Coalesce("email", Value("")), Value(" "), "first_name", Value(" "), "last_name")
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(email__isnull=False),
                name="contact_unique_email",
            ),
            models.UniqueConstraint(
                fields=["workspace", "phone"],
                condition=Q(email__isnull=True, phone__isnull=False),
                name="contact_unique_phone_without_email",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_ws_created"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="contact_ws_updated"),
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone"),
            models.Index(
                fields=["workspace", "lifecycle_stage", "-created_at"], name="contact_ws_stage"
            ),
            models.Index(fields=["workspace", "owner", "-created_at"], name="contact_ws_owner"),
            # No index on the score columns (engagement score, fit grade, probability) on
            # purpose: scoring rewrites them all day (decay, every activity, every
            # prediction, every profile change), and a row whose indexed columns keep their
            # values is rewritten in place ("heap-only", with the table's free room,
            # migration 0021): ten times cheaper than a new entry in each index.
            # Decision 0025.
            models.Index(
                fields=["workspace", "last_name", "first_name", "id"], name="contact_ws_name"
            ),
            # A company's contacts (and the company filter: a company is in one workspace),
            # and possible duplicates "same name and company" without scanning a big company.
            models.Index(F("company"), Upper("last_name"), name="contact_company_lastname"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes / no"
    CHOICE = "choice", "Choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"


class MatchType(models.TextChoices):
    """How the duplicate finder compares an identifying custom field's two values."""

    EXACT = "exact", "Exact value"
    DIGITS = "digits", "Same digits (ignores spaces, dashes, letters)"
    FUZZY = "fuzzy", "Similar text (typos allowed)"


# Only values a person types once and keeps (an id number, a customer number) identify
# someone; a date, a yes/no or a choice is shared by too many people to tell two apart.
IDENTIFYING_FIELD_TYPES = ("text", "number")


class CustomField(models.Model):
    """A field a workspace adds to its contacts, with a type and validation rules.

    Values live in ``Contact.custom_fields`` under ``key``, in JSON-native form (numbers as
    numbers, dates as ISO strings, multi-choice as lists) so equality filters work in SQL.
    The database guarantees an identifying field is text or number and has a match type,
    and that any other field has none.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    pattern = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    # Identifying fields (an id number, a customer number) are compared by the duplicate
    # finder with ``match_type``; blank unless identifying.
    identifying = models.BooleanField(default=False, db_default=False)
    match_type = models.CharField(
        max_length=10, choices=MatchType.choices, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="customfield_unique_key"),
            models.CheckConstraint(
                condition=(
                    Q(identifying=False, match_type="")
                    | Q(
                        identifying=True,
                        match_type__in=MatchType.values,
                        field_type__in=IDENTIFYING_FIELD_TYPES,
                    )
                ),
                name="customfield_identifying_consistent",
            ),
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class ActivityKind(models.TextChoices):
    """The kinds contacts writes (registered with their timeline text in ``contacts.kinds``).
    Other apps register their own kinds; ``Activity.kind`` has no choices, so a new kind
    needs no migration."""

    CONTACT_CREATED = "contact.created", "Contact created"
    CONTACT_UPDATED = "contact.updated", "Fields changed"
    CONTACT_MERGED = "contact.merged", "Merged"
    CONTACT_IMPORTED = "contact.imported", "Imported"
    NOTE_ADDED = "note.added", "Note"
    TAG_ADDED = "tag.added", "Tag added"
    TAG_REMOVED = "tag.removed", "Tag removed"
    OWNER_CHANGED = "owner.changed", "Owner changed"
    STAGE_CHANGED = "stage.changed", "Stage changed"
    CONSENT_CHANGED = "consent.changed", "Consent changed"
    # A lead's arrival: written by capture's forms and inbound's webhooks through contacts.
    FORM_SUBMITTED = "form.submitted", "Form submitted"


class Activity(models.Model):
    """One thing that happened to a contact. Append-only; every service writes one row in the
    transaction of its change. It drives the timeline, and later scoring and analytics."""

    # Covered by activity_ws_kind_contact and activity_contact_time: no single-column indexes.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=40, db_index=False)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="activity_contact_time"),
            # The contact is carried (PostgreSQL) so "did X at least N times within D days"
            # counts from the index alone (behaviour conditions, segments).
            models.Index(
                fields=["workspace", "kind", "-occurred_at"],
                name="activity_ws_kind_contact",
                include=["contact"],
            ),
        ]

    @property
    def kind_label(self) -> str:
        return activity_kind_label(self.kind)


class SavedView(models.Model):
    """A named contacts-list query a member keeps for reuse: ``conditions``, the condition
    tree's JSON form (docs/conditions.md), says which contacts; ``query`` is the list's query
    string (filters and sort) the app links to. A row from before the tree has ``{}`` and is
    read from its query (``contacts.selectors.saved_view_conditions``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000)
    conditions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user", "name"], name="savedview_unique")
        ]
        ordering = ["name"]


class ActivityWatermark(models.Model):
    """How far one activity subscriber has read the append-only log: the highest activity id
    it has processed, in one workspace (or in all of them when ``workspace`` is empty). It
    advances in the same transaction as the subscriber's work, so a crash redoes a batch and
    never skips one. ``horizon_*`` hold PostgreSQL's commit-order check: ids up to
    ``horizon_activity_id`` are final once every transaction older than
    ``horizon_transaction`` has ended (see ``contacts.activity_log``)."""

    subscriber = models.CharField(max_length=100)
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    last_activity_id = models.BigIntegerField(default=0)
    horizon_activity_id = models.BigIntegerField(null=True, blank=True)
    horizon_transaction = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "workspace"],
                condition=models.Q(workspace__isnull=False),
                name="activity_watermark_per_workspace",
            ),
            models.UniqueConstraint(
                fields=["subscriber"],
                condition=models.Q(workspace__isnull=True),
                name="activity_watermark_global",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} @ {self.workspace_id or 'all'}: {self.last_activity_id}"


# The consent ledger (its own module: models/consent.py).
from leadflow.contacts.models.consent import (  # noqa: E402, F401
    DEFAULT_PURPOSES,
    MARKETING_PURPOSE,
    ConsentEntry,
    ConsentPurpose,
    ConsentSource,
    ConsentState,
)
