"""Segments: named groups of contacts a marketer sends to.

A **dynamic** segment is a condition tree (docs/conditions.md) whose members the segment
keeps in ``SegmentMember`` rows, kept current by the activity subscriber and the periodic
pass (nurture.services.segments). A **static** list holds whoever was added to it (by hand,
by API, by an import, by a form or a sequence step) until they are removed.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (conditions)"
    STATIC = "static", "Static list"


class MemberSource(models.TextChoices):
    CONDITIONS = "conditions", "Conditions"
    MANUAL = "manual", "Added by hand"
    API = "api", "API"
    IMPORT = "import", "Import"
    FORM = "form", "Form"
    SEQUENCE = "sequence", "Sequence step"


class Segment(models.Model):
    """A named group of contacts in a workspace. ``conditions`` is the tree's JSON form
    (empty for a static list); ``depends_on`` the ids of the segments its conditions name
    (``segment`` conditions), kept with the tree so that cycles are refused on save and
    segments are refreshed after the ones they read. Names are unique per workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=10, choices=SegmentKind.choices)
    conditions = models.JSONField(default=dict, blank=True)
    depends_on = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="segment_unique_name")
        ]
        indexes = [models.Index(fields=["workspace", "kind"], name="segment_ws_kind")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.kind == SegmentKind.DYNAMIC


class SegmentMember(models.Model):
    """A contact in a segment since ``entered_at``: one row per (segment, contact), so two
    refreshes that race insert it once (``ON CONFLICT DO NOTHING``) and only the one that
    inserted (or deleted) it records ``segment.entered`` (``segment.left``).

    A merge moves the merged contact's rows with ``services.segments.memberships_merge``
    (a plain move could put the pair in twice), not with the generic move."""

    contact_merge_moves = False

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=MemberSource.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact"], name="segment_member_unique_contact"
            )
        ]
        indexes = [
            models.Index(fields=["segment", "-entered_at", "-id"], name="segment_member_time"),
        ]
