"""Segments' reads, always scoped to a workspace: the list with member counts, one segment,
its members (keyset pages) and the live count of a tree while it is being edited."""

from typing import Any

from django.db.models import Count, QuerySet

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import Page, count_capped, cursor_paginate
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models import Segment, SegmentKind, SegmentMember

COUNT_CAP = 10_000


def segment_list(workspace: Workspace) -> QuerySet[Segment]:
    """The workspace's segments by name, each with ``member_count`` (its member rows)."""
    return (
        Segment.objects.filter(workspace=workspace)
        .annotate(member_count=Count("members"))
        .order_by("name", "pk")
    )


def static_lists(workspace: Workspace) -> QuerySet[Segment]:
    """The workspace's static lists by name (what a contact can be added to by hand)."""
    return Segment.objects.filter(workspace=workspace, kind=SegmentKind.STATIC).order_by(
        "name", "pk"
    )


def segment_get(workspace: Workspace, segment_id: int) -> Segment:
    """The segment, or NotFound (also for another workspace's id)."""
    segment = (
        Segment.objects.filter(workspace=workspace, pk=segment_id)
        .select_related("workspace")
        .first()
    )
    if segment is None:
        raise NotFound("No such segment.")
    return segment


def segment_members_page(
    workspace: Workspace, segment: Segment, *, cursor: str | None, limit: int
) -> Page:
    """One page of members, the latest to enter first, with their contact loaded."""
    members = SegmentMember.objects.filter(
        workspace=workspace, segment_id=segment.pk
    ).select_related("contact")
    return cursor_paginate(members, sort="-entered_at", cursor=cursor, limit=limit)


def segment_member_count(segment: Segment) -> int:
    return SegmentMember.objects.filter(segment_id=segment.pk).count()


def conditions_count(workspace: Workspace, data: Any) -> tuple[int, bool]:
    """How many contacts a tree (its JSON form) matches now, counting up to ``COUNT_CAP``
    (capped: True when there are more). ``ValidationFailed`` naming each bad path."""
    condition = conditions_compile(tree_from_json(data), ConditionContext(workspace))
    return count_capped(Contact.objects.filter(workspace=workspace).filter(condition), COUNT_CAP)
