"""Reads for tracking: a contact's visits, recent visitors, the sources report.

Reports are set-based SQL (grouped counts), never a loop over rows.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate

from leadflow.contacts.models import Contact
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.tracking.models import ChannelRule, Event, EventType, Visitor, VisitSession


def contact_visits(
    workspace: Workspace,
    contact_id: int,
    *,
    limit: int = 50,
    started_before: dt.datetime | None = None,
    started_since: dt.datetime | None = None,
) -> list[VisitSession]:
    """The contact's visits, newest first, including those from before it identified;
    optionally only those started in [started_since, started_before)."""
    queryset = VisitSession.objects.filter(workspace=workspace, contact_id=contact_id)
    if started_before is not None:
        queryset = queryset.filter(started_at__lt=started_before)
    if started_since is not None:
        queryset = queryset.filter(started_at__gte=started_since)
    return list(queryset.order_by("-started_at", "-id")[:limit])


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
    """One row of the sources report. ``visitors``: distinct browsers with a visit that
    started in the period through this row; ``converted``: those of them who became a lead
    on the site (their contact was created in the period, during or after such a visit), a
    subset of ``visitors``; ``leads``: every contact created in the period with this first
    touch, however it was created (forms, imports, the API, by hand)."""

    key: str
    visitors: int
    leads: int
    converted: int = 0

    @property
    def conversion_rate(self) -> float | None:
        """Converted visitors per visitor, in percent: never over 100 (the numerator counts
        a subset of the denominator's browsers); None without visitors."""
        return round(100 * self.converted / self.visitors, 1) if self.visitors else None


GROUPS = {
    "channel": ("channel", "first_touch_channel"),
    "source": ("source", "first_touch_source"),
    "campaign": ("campaign", "first_touch_campaign"),
}


def _visits(workspace: Workspace, start: dt.datetime, end: dt.datetime) -> QuerySet:
    return VisitSession.objects.filter(
        workspace=workspace, started_at__gte=start, started_at__lt=end
    )


def _converted(start: dt.datetime, end: dt.datetime) -> Count:
    """Distinct visitors whose visit came before (or during) the creation of their
    contact, created in [start, end): an on-site conversion."""
    return Count(
        "visitor_id",
        distinct=True,
        filter=Q(contact__created_at__gte=start, contact__created_at__lt=end)
        & Q(contact__created_at__gte=F("started_at")),
    )


def sources_report(
    workspace: Workspace, *, start: dt.datetime, end: dt.datetime, group_by: str = "channel"
) -> list[SourceRow]:
    """Visitors and on-site conversions (by the visit's channel, source or campaign) and
    all new leads (by the contact's first touch) over [start, end); see SourceRow. Two
    grouped queries."""
    session_field, contact_field = GROUPS[group_by]
    visits = {
        key: (visitors, converted)
        for key, visitors, converted in _visits(workspace, start, end)
        .values(session_field)
        .annotate(n=Count("visitor_id", distinct=True), converted=_converted(start, end))
        .values_list(session_field, "n", "converted")
    }
    leads = dict(
        Contact.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .values(contact_field)
        .annotate(n=Count("id"))
        .values_list(contact_field, "n")
    )
    keys = sorted(set(visits) | set(leads), key=lambda k: -(visits.get(k, (0, 0))[0]))
    return [
        SourceRow(
            key=key or "(none)",
            visitors=visits.get(key, (0, 0))[0],
            leads=leads.get(key, 0),
            converted=visits.get(key, (0, 0))[1],
        )
        for key in keys
    ]


def daily_visitors_and_leads(
    workspace: Workspace, *, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.date, int, int]]:
    """(day, visitors, leads) for a chart, one grouped query each."""
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


def visitor_summary(workspace: Workspace, visitor_id: int) -> dict:
    stats = VisitSession.objects.filter(workspace=workspace, visitor_id=visitor_id).aggregate(
        visits=Count("id"),
        first=Min("started_at"),
        last=Max("last_event_at"),
        pageviews=Count("id", filter=Q(pageviews__gt=0)),
    )
    return stats


# --- the app's visitor pages and report totals ------------------------------------------------


def visitor_get(workspace: Workspace, visitor_id: int) -> Visitor:
    """One visitor of this workspace with its contact; another workspace's id is NotFound."""
    visitor = (
        Visitor.objects.filter(workspace=workspace, pk=visitor_id).select_related("contact").first()
    )
    if visitor is None:
        raise NotFound("No such visitor.")
    return visitor


def visitor_sessions(
    workspace: Workspace, visitor_id: int, *, limit: int = 50
) -> list[VisitSession]:
    """The visitor's visits, newest first."""
    return list(
        VisitSession.objects.filter(workspace=workspace, visitor_id=visitor_id).order_by(
            "-started_at", "-id"
        )[:limit]
    )


def first_sessions(workspace: Workspace, visitor_ids: list[int]) -> dict[int, VisitSession]:
    """Each visitor's first visit (where it first came from), in one query."""
    first = (
        VisitSession.objects.filter(workspace=workspace, visitor_id=OuterRef("pk"))
        .order_by("started_at", "id")
        .values("pk")[:1]
    )
    first_ids = (
        Visitor.objects.filter(workspace=workspace, pk__in=visitor_ids)
        .annotate(first_id=Subquery(first))
        .values("first_id")
    )
    sessions = VisitSession.objects.filter(workspace=workspace, pk__in=first_ids)
    return {session.visitor_id: session for session in sessions}


def visitors_count(
    workspace: Workspace, *, start: dt.datetime, end: dt.datetime
) -> tuple[int, int]:
    """Distinct visitors with a visit starting in [start, end) and how many of them became
    a lead on the site (as SourceRow counts them): the report's totals, in one query (a
    visitor who came through two channels counts once here, once in each channel row)."""
    totals = _visits(workspace, start, end).aggregate(
        visitors=Count("visitor_id", distinct=True), converted=_converted(start, end)
    )
    return totals["visitors"], totals["converted"]


def channel_rule_list(workspace: Workspace) -> QuerySet[ChannelRule]:
    """The workspace's own channel rules in the order they are checked."""
    return ChannelRule.objects.filter(workspace=workspace).order_by("position", "id")


def channel_rule_get(workspace: Workspace, rule_id: int) -> ChannelRule:
    rule = ChannelRule.objects.filter(workspace=workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound("No such channel rule.")
    return rule


def tracker_events(workspace: Workspace) -> QuerySet[Event]:
    """Every event the tracker (or the events API) stored for the workspace: ``exists()``
    says whether tracking is installed."""
    return Event.objects.filter(workspace=workspace)


# What apps above tracking add to the tracker's settings (GET /e/config): functions taking
# the workspace and answering a dict to merge. Its "scripts" (addresses relative to
# LeadFlow's) are joined into one list, and lf.js loads each, lazily: capture adds the pop-up
# script while the workspace has an active pop-up, chat its launcher. Registered in
# AppConfig.ready; each must be cheap (the answer is asked on every page view not in the
# browser's cache).
TRACKER_CONFIG_HOOKS: list = []


def tracker_config_extras(workspace: Workspace) -> dict:
    extras: dict = {}
    scripts: list[str] = []
    for hook in TRACKER_CONFIG_HOOKS:
        answer = dict(hook(workspace))
        scripts.extend(answer.pop("scripts", ()))
        extras.update(answer)
    if scripts:
        extras["scripts"] = scripts
    return extras
