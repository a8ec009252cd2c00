"""The duplicate finder's data: the pairs listed for review (``DuplicatePair``), the team's
decisions about pairs (``DuplicateDecision``, the model's labelled examples, kept after the
contacts are merged or deleted), each workspace's learned model and settings
(``DuplicateProfile``), and the blocking keys that find candidates (``DuplicateKey``).
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class PairStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Not a duplicate"


class FoundBy(models.TextChoices):
    CHANGE = "change", "A new or changed contact"
    IMPORT = "import", "An import"
    SCAN = "scan", "A whole-workspace scan"


class DuplicatePair(models.Model):
    """Two contacts that may be one person, with the model's probability and its reasons.

    Stored with the lower contact id first, so each pair is listed once. A dismissed pair
    keeps its row (and a ``DuplicateDecision``): finding it again never reopens it. Deleting
    either contact (a merge deletes the merged one) deletes the pair.
    """

    # contacts.services.merge moves other apps' rows to the surviving contact; not these:
    # a pair with the merged contact is gone with it, and the survivor is checked again.
    contact_merge_moves = False

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    # {comparison name: level} as compared (see duplicates.compare); -1 = a side is missing
    levels = models.JSONField(default=dict)
    reasons = models.CharField(max_length=300)
    # one bit per comparison that agrees strongly (duplicates.model.REASON_BITS): filters
    reason_flags = models.BigIntegerField(default=0)
    found_by = models.CharField(max_length=10, choices=FoundBy.choices, default=FoundBy.CHANGE)
    status = models.CharField(max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "other"], name="duplicatepair_unique"),
            models.CheckConstraint(
                condition=Q(contact__lt=F("other")), name="duplicatepair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="duplicatepair_probability",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "status", "-probability", "-id"], name="duplicatepair_review"
            )
        ]


class DuplicateDecision(models.Model):
    """A person's (or the automatic merge's) verdict on a pair: a labelled example.

    Contact ids are plain numbers, not foreign keys: a merged contact is deleted, and the
    decision must outlive it. ``levels`` is the comparison as it stood when decided.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact_id = models.BigIntegerField()
    other_id = models.BigIntegerField()
    is_duplicate = models.BooleanField()
    levels = models.JSONField(default=dict)
    probability = models.FloatField(null=True)
    reasons = models.CharField(max_length=300, blank=True)
    automatic = models.BooleanField(default=False)
    decided_by = models.CharField(max_length=200)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact_id", "other_id"], name="duplicatedecision_unique"
            ),
            models.CheckConstraint(
                condition=Q(contact_id__lt=F("other_id")), name="duplicatedecision_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-decided_at"], name="duplicatedecision_recent")
        ]


class DuplicateProfile(models.Model):
    """One per workspace: the learned weights and the automatic-merge setting.

    Automatic merging is off unless the workspace turns it on; its threshold is at least
    ``AUTO_MERGE_MIN`` so a mediocre match is never merged without a person.
    """

    AUTO_MERGE_MIN = 0.95

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    weights = models.JSONField(null=True, blank=True)  # duplicates.model.Weights.to_json()
    fitted_at = models.DateTimeField(null=True, blank=True)
    auto_merge = models.BooleanField(default=False)
    auto_merge_threshold = models.FloatField(default=0.99)
    scan_queued_at = models.DateTimeField(null=True, blank=True)
    scan_started_at = models.DateTimeField(null=True, blank=True)
    scan_finished_at = models.DateTimeField(null=True, blank=True)
    scan_pairs = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_merge_threshold__gte=0.95) & Q(auto_merge_threshold__lte=1),
                name="duplicateprofile_threshold",
            )
        ]


class DuplicateKey(models.Model):
    """A blocking key of a contact (duplicates.blocking): contacts that share a key are
    compared. Rewritten whenever the contact is checked; rebuilt by a whole scan."""

    contact_merge_moves = False

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # No database constraints: a scan writes millions of keys, and checking each against
    # the contacts table doubled the time. Deleting a contact still deletes its keys
    # (Django's cascade), and a key of a contact deleted by raw SQL only makes a candidate
    # that the check skips (its values are not found).
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    key = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["workspace", "key"], name="duplicatekey_lookup")]
