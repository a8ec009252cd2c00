"""Follow-up reads: the lists (overdue, today, upcoming, done) with their counts, one
follow-up, a contact's follow-ups, and the time zone an assignee reads times in.

Every read starts from ``followups_visible``: the workspace's follow-ups on contacts the
actor may see, so a sales member who sees only own leads never lists a follow-up on
someone else's lead (not even one assigned to them on a lead that has moved on).
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from leadflow.contacts.models import Activity
from leadflow.contacts.selectors import contact_get, contacts_visible
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import User, Workspace
from leadflow.sales.hours import time_zone_get
from leadflow.sales.models import FollowUp, TeamMember

BUCKETS = ("overdue", "today", "upcoming", "done")


def assignee_time_zone(
    workspace: Workspace, user_id: int | None, *, own: str | None = None
) -> tuple[ZoneInfo, str]:
    """The zone a member reads follow-up times in, and its name: their own (``User.
    time_zone``, set on their profile), else that of their first sales team membership in
    this workspace (``TeamMember.time_zone``), else UTC. An unknown name counts as unset.
    ``own``: the user's own zone when the caller has the user loaded (saves a query)."""
    if user_id is not None:
        if own is None:
            own = User.objects.filter(pk=user_id).values_list("time_zone", flat=True).first()
        if own and (zone := time_zone_get(own)):
            return zone, own
        names = TeamMember.objects.filter(team__workspace=workspace, user_id=user_id)
        for name in names.order_by("pk").values_list("time_zone", flat=True)[:5]:
            if zone := time_zone_get(name):
                return zone, name
    return ZoneInfo("UTC"), "UTC"


def followups_visible(workspace: Workspace, actor: Actor) -> QuerySet[FollowUp]:
    """The workspace's follow-ups on contacts the actor may see."""
    followups = FollowUp.objects.filter(workspace=workspace)
    if actor.sees_only_own_leads:
        followups = followups.filter(contact__in=contacts_visible(workspace, actor))
    return followups


def followup_get(workspace: Workspace, actor: Actor, followup_id: int) -> FollowUp:
    """One follow-up the actor may see, with its contact and people; NotFound otherwise."""
    followup = (
        followups_visible(workspace, actor)
        .select_related("contact", "assignee", "done_by", "created_by")
        .filter(pk=followup_id)
        .first()
    )
    if followup is None:
        raise NotFound("No such follow-up.")
    return followup


def day_bounds(now: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The start of today and of tomorrow in ``zone`` (as aware datetimes): a day of 23 or
    25 hours on a daylight-saving change."""
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start, end


def _bucket_conditions(now: dt.datetime, zone: ZoneInfo) -> dict[str, Q]:
    """Each list as a condition; the four never overlap. Overdue: open, due before now.
    Today: open, due from now to the end of today in ``zone``. Upcoming: open, later. Done."""
    _, end = day_bounds(now, zone)
    is_open = Q(done_at__isnull=True)
    return {
        "overdue": is_open & Q(due_at__lt=now),
        "today": is_open & Q(due_at__gte=now, due_at__lt=end),
        "upcoming": is_open & Q(due_at__gte=end),
        "done": Q(done_at__isnull=False),
    }


@dataclass(frozen=True)
class FollowUpFilters:
    """Which follow-ups a list shows: whose (``assignee_id``; None: everyone's), which
    bucket (None: all), one contact's (``contact_id``)."""

    assignee_id: int | None = None
    bucket: str | None = None
    contact_id: int | None = None


def followup_list(
    workspace: Workspace,
    actor: Actor,
    filters: FollowUpFilters,
    *,
    now: dt.datetime | None = None,
    zone: ZoneInfo | None = None,
) -> QuerySet[FollowUp]:
    """The follow-ups the actor may see that match ``filters``, contact and people loaded:
    open ones by due time (earliest first), done ones latest done first. "Today" is read in
    ``zone`` (default UTC). ValidationFailed names an unknown bucket."""
    now = now or timezone.now()
    queryset = followups_visible(workspace, actor).select_related("contact", "assignee", "done_by")
    if filters.assignee_id is not None:
        queryset = queryset.filter(assignee_id=filters.assignee_id)
    if filters.contact_id is not None:
        queryset = queryset.filter(contact_id=filters.contact_id)
    if filters.bucket is not None:
        conditions = _bucket_conditions(now, zone or ZoneInfo("UTC"))
        if filters.bucket not in conditions:
            raise ValidationFailed([FieldError("due", f"One of {', '.join(BUCKETS)}.")])
        queryset = queryset.filter(conditions[filters.bucket])
        if filters.bucket == "done":
            return queryset.order_by("-done_at", "-id")
    return queryset.order_by("due_at", "id")


def followup_counts(
    workspace: Workspace,
    actor: Actor,
    filters: FollowUpFilters,
    *,
    now: dt.datetime | None = None,
    zone: ZoneInfo | None = None,
) -> dict[str, int]:
    """How many follow-ups each bucket holds for these filters (the bucket itself ignored),
    in one query."""
    now = now or timezone.now()
    base = followup_list(
        workspace,
        actor,
        FollowUpFilters(assignee_id=filters.assignee_id, contact_id=filters.contact_id),
        now=now,
        zone=zone,
    )
    conditions = _bucket_conditions(now, zone or ZoneInfo("UTC"))
    return base.order_by().aggregate(
        **{name: Count("pk", filter=condition) for name, condition in conditions.items()}
    )


def contact_followups(
    workspace: Workspace, actor: Actor, contact_id: int, *, done_limit: int = 10
) -> tuple[list[FollowUp], list[FollowUp]]:
    """The contact's open follow-ups (by due time) and its latest done ones (at most
    ``done_limit``), as the contact page shows them: two queries."""
    followups = followups_visible(workspace, actor).filter(contact_id=contact_id)
    followups = followups.select_related("assignee", "done_by")
    open_ones = list(followups.filter(done_at__isnull=True).order_by("due_at", "id"))
    done = list(followups.filter(done_at__isnull=False).order_by("-done_at", "-id")[:done_limit])
    return open_ones, done


def contact_logs(
    workspace: Workspace, actor: Actor, contact_id: int, kind: str, *, limit: int = 200
) -> list[Activity]:
    """The contact's logged calls or meetings (``kind``: ``call.logged`` or
    ``meeting.logged``), newest first, at most ``limit``; NotFound for a contact the actor
    cannot see."""
    contact = contact_get(workspace, actor, contact_id)
    logs = Activity.objects.filter(workspace=workspace, contact=contact, kind=kind)
    return list(logs.order_by("-occurred_at", "-id")[:limit])
