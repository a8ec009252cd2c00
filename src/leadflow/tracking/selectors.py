"""Reads for tracking: a contact's visits, recent visitors, the sources report, form views.

Reports are set-based SQL (grouped counts), never a loop over rows.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.tracking.models import Event, EventType, Visitor, VisitSession


def contact_visits(workspace: Workspace, contact_id: int, *, limit: int = 50) -> list[VisitSession]:
    """The contact's visits, newest first, including those from before it identified."""
    return list(
        VisitSession.objects.filter(workspace=workspace, contact_id=contact_id).order_by(
            "-started_at", "-id"
        )[:limit]
    )


def contact_events(
    workspace: Workspace, contact_id: int, *, limit: int = 100, before: dt.datetime | None = None
) -> list[Event]:
    """The contact's tracked events, newest first (served by the (contact, time) index)."""
    queryset = Event.objects.filter(workspace=workspace, contact_id=contact_id)
    if before is not None:
        queryset = queryset.filter(occurred_at__lt=before)
    return list(queryset.order_by("-occurred_at", "-id")[:limit])


def session_pages(workspace: Workspace, session_ids: list[int]) -> dict[int, list[Event]]:
    """Page views of the given sessions, oldest first, in one query."""
    pages: dict[int, list[Event]] = {pk: [] for pk in session_ids}
    for event in Event.objects.filter(
        workspace=workspace, session_id__in=session_ids, event_type=EventType.PAGEVIEW
    ).order_by("occurred_at", "id")[:2000]:
        pages[event.session_id].append(event)
    return pages


def recent_visitors(
    workspace: Workspace, *, identified: bool | None = None, limit: int = 50
) -> QuerySet[Visitor]:
    """Visitors seen most recently, identified ones with their contact loaded."""
    queryset = Visitor.objects.filter(workspace=workspace).select_related("contact")
    if identified is True:
        queryset = queryset.filter(contact__isnull=False)
    elif identified is False:
        queryset = queryset.filter(contact__isnull=True)
    return queryset.annotate(visits=Count("sessions")).order_by("-last_seen_at", "-id")[:limit]


@dataclass
class SourceRow:
    key: str
    visitors: int
    leads: int

    @property
    def conversion_rate(self) -> float:
        return round(100 * self.leads / self.visitors, 1) if self.visitors else 0.0


GROUPS = {
    "channel": ("channel", "first_touch_channel"),
    "source": ("source", "first_touch_source"),
    "campaign": ("campaign", "first_touch_campaign"),
}


def sources_report(
    workspace: Workspace, *, start: dt.datetime, end: dt.datetime, group_by: str = "channel"
) -> list[SourceRow]:
    """Visitors (distinct browsers with a visit starting in the range) and leads (contacts
    created in the range, by their first touch), by channel, source or campaign."""
    session_field, contact_field = GROUPS[group_by]
    visitors = dict(
        VisitSession.objects.filter(workspace=workspace, started_at__gte=start, started_at__lt=end)
        .values(session_field)
        .annotate(n=Count("visitor_id", distinct=True))
        .values_list(session_field, "n")
    )
    leads = dict(
        Contact.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .values(contact_field)
        .annotate(n=Count("id"))
        .values_list(contact_field, "n")
    )
    keys = sorted(set(visitors) | set(leads), key=lambda k: -(visitors.get(k, 0)))
    return [
        SourceRow(key=key or "(none)", visitors=visitors.get(key, 0), leads=leads.get(key, 0))
        for key in keys
    ]


def daily_visitors_and_leads(
    workspace: Workspace, *, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.date, int, int]]:
    """(day, visitors, leads) for a chart, one grouped query each."""
    from django.db.models.functions import TruncDate

    visitors = dict(
        VisitSession.objects.filter(workspace=workspace, started_at__gte=start, started_at__lt=end)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(n=Count("visitor_id", distinct=True))
        .values_list("day", "n")
    )
    leads = dict(
        Contact.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = []
    day = start.date()
    while day < end.date() or (day == end.date() and end.time() != dt.time(0)):
        days.append((day, visitors.get(day, 0), leads.get(day, 0)))
        day += dt.timedelta(days=1)
    return days


def form_views(workspace: Workspace, form_keys: list[str], *, since: dt.datetime) -> dict[str, int]:
    """How many times each form was shown (form_view events named by the form key)."""
    return dict(
        Event.objects.filter(
            workspace=workspace,
            event_type=EventType.FORM_VIEW,
            name__in=form_keys,
            occurred_at__gte=since,
        )
        .values("name")
        .annotate(n=Count("id"))
        .values_list("name", "n")
    )


def visitor_summary(workspace: Workspace, visitor_id: int) -> dict:
    stats = VisitSession.objects.filter(workspace=workspace, visitor_id=visitor_id).aggregate(
        visits=Count("id"),
        first=Min("started_at"),
        last=Max("last_event_at"),
        pageviews=Count("id", filter=Q(pageviews__gt=0)),
    )
    return stats
