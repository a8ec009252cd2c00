"""Where leads come from: the sources report, recent visitors and one visitor's visits.

Everything a visitor's browser sent (page URLs, referrers, UTM tags) is untrusted text:
the templates print it escaped and never turn it into a link. Reading needs ``read``.
Visitor ids in URLs are looked up inside the current workspace (another workspace's id
answers 404). A sales member who sees only their own leads sees a visitor's contact only
when the contact is theirs.
"""

import datetime as dt
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import contacts_visible
from leadflow.tracking import selectors
from leadflow.tracking.models import Channel, Visitor, VisitSession
from leadflow.web.access import workspace_view
from leadflow.web.charts import daily_bars
from leadflow.web.timeline import source_medium
from leadflow.web.views.common import query_with, render_page

PRESETS = (("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"))
DEFAULT_PRESET = "30"
GROUPS = (("channel", "Channel"), ("source", "Source"), ("campaign", "Campaign"))
MAX_DAYS = 366
VISITOR_FILTERS = (("", "All"), ("identified", "Identified"), ("anonymous", "Anonymous"))
VISITORS_SHOWN = 50
VISITS_SHOWN = 50


def channel_label(value: str) -> str:
    return Channel(value).label if value in Channel.values else value


# --- sources report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRange:
    """Whole days ``first`` to ``last`` (both included) in the site's time zone."""

    preset: str  # "7", "30", "90" or "custom"
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.first, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(
            dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min)
        )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> dict[str, str]:
        if self.preset == "custom":
            return {"range": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"range": self.preset}


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def report_range(params, today: dt.date) -> tuple[ReportRange, dict[str, list[str]]]:
    """The range asked for (a preset, or custom from/to dates), or the default range and
    the reasons when the dates make no sense."""
    preset = params.get("range") or DEFAULT_PRESET
    if preset in dict(PRESETS):
        days = int(preset)
        return ReportRange(preset, today - dt.timedelta(days=days - 1), today), {}
    errors: dict[str, list[str]] = {}
    first, last = _date(params.get("from", "")), _date(params.get("to", ""))
    if preset != "custom":
        errors["range"] = ["Choose one of the listed ranges."]
    else:
        if first is None:
            errors["from"] = ["A date such as 2026-03-01."]
        if last is None:
            errors["to"] = ["A date such as 2026-03-31."]
        if first and last and first > last:
            errors["to"] = ["Must be on or after the first day."]
        elif first and last and (last - first).days + 1 > MAX_DAYS:
            errors["to"] = [f"At most {MAX_DAYS} days at a time."]
    if errors:
        days = int(DEFAULT_PRESET)
        return ReportRange(DEFAULT_PRESET, today - dt.timedelta(days=days - 1), today), errors
    return ReportRange("custom", first, last), {}


@workspace_view("read")
@require_safe
def report_sources(request: HttpRequest) -> HttpResponse:
    """Visitors, the visitors who became leads on the site and their conversion rate
    (converted visitors / visitors: never over 100 %), and all new leads (whatever created
    them) by channel, source or campaign over a date range, with visitors and leads per
    day as a bar chart (selectors.SourceRow defines each figure)."""
    workspace = request.workspace
    today = timezone.localdate()
    period, errors = report_range(request.GET, today)
    group = request.GET.get("group", "channel")
    if group not in dict(GROUPS):
        group = "channel"
    rows = selectors.sources_report(workspace, start=period.start, end=period.end, group_by=group)
    chart = daily_bars(
        selectors.daily_visitors_and_leads(workspace, start=period.start, end=period.end)
    )
    visitors, converted = selectors.visitors_count(workspace, start=period.start, end=period.end)
    leads = sum(row.leads for row in rows)
    query = {**period.query(), "group": group}
    context = {
        "section": "reports",
        "period": period,
        "presets": [
            (value, label, query_with(query, range=value, **{"from": None, "to": None}))
            for value, label in PRESETS
        ],
        "groups": [(value, label, query_with(query, group=value)) for value, label in GROUPS],
        "group": group,
        "range_hidden": [("group", group)],
        "group_label": dict(GROUPS)[group],
        "custom_from": request.GET.get("from", period.first.isoformat())[:10],
        "custom_to": request.GET.get("to", period.last.isoformat())[:10],
        "errors": errors,
        "rows": [
            {
                "label": channel_label(row.key) if group == "channel" else row.key,
                "visitors": row.visitors,
                "converted": row.converted,
                "rate": row.conversion_rate,
                "leads": row.leads,
            }
            for row in rows
        ],
        "total_visitors": visitors,
        "total_converted": converted,
        "total_leads": leads,
        "total_rate": selectors.SourceRow(
            key="", visitors=visitors, leads=leads, converted=converted
        ).conversion_rate,
        "chart": chart,
        "max_days": MAX_DAYS,
    }
    return render_page(request, "web/tracking/sources.html", context)


# --- visitors ----------------------------------------------------------------------------------


def _shown_contacts(request: HttpRequest, visitors: list[Visitor]) -> dict[int, Contact]:
    """The visitors' contacts the member may see, by visitor id (sales: only their own
    leads, ``contacts_visible``), in one query."""
    ids = {visitor.contact_id for visitor in visitors if visitor.contact_id}
    if ids and request.actor.sees_only_own_leads:
        visible = contacts_visible(request.workspace, request.actor).filter(pk__in=ids)
        ids = set(visible.values_list("pk", flat=True))
    return {visitor.pk: visitor.contact for visitor in visitors if visitor.contact_id in ids}


@workspace_view("read")
@require_safe
def visitor_list(request: HttpRequest) -> HttpResponse:
    """The browsers seen most recently, identified and anonymous, with where each first
    came from (its first visit) and its contact."""
    show = request.GET.get("show", "")
    if show not in dict(VISITOR_FILTERS):
        show = ""
    identified = {"identified": True, "anonymous": False}.get(show)
    visitors = list(
        selectors.recent_visitors(request.workspace, identified=identified, limit=VISITORS_SHOWN)
    )
    first = selectors.first_sessions(request.workspace, [visitor.pk for visitor in visitors])
    shown = _shown_contacts(request, visitors)
    rows = [
        {
            "visitor": visitor,
            "first": first.get(visitor.pk),
            "origin": source_medium(first[visitor.pk].source, first[visitor.pk].medium)
            if visitor.pk in first
            else "",
            "contact": shown.get(visitor.pk),
        }
        for visitor in visitors
    ]
    context = {
        "section": "visitors",
        "rows": rows,
        "show": show,
        "filters": [(value, label, query_with({}, show=value)) for value, label in VISITOR_FILTERS],
        "limit": VISITORS_SHOWN,
    }
    return render_page(request, "web/tracking/visitors.html", context)


@dataclass
class VisitRow:
    session: VisitSession
    channel: str
    pages: list

    @property
    def origin(self) -> str:
        return source_medium(self.session.source, self.session.medium)


@workspace_view("read")
@require_safe
def visitor_detail(request: HttpRequest, visitor_id: int) -> HttpResponse:
    """One visitor: its visits (landing page, referrer, UTM tags, channel) and the pages
    it viewed in each, newest visit first."""
    visitor = selectors.visitor_get(request.workspace, visitor_id)
    sessions = selectors.visitor_sessions(request.workspace, visitor.pk, limit=VISITS_SHOWN)
    pages = (
        selectors.session_pages(request.workspace, [session.pk for session in sessions])
        if sessions
        else {}
    )
    context = {
        "section": "visitors",
        "visitor": visitor,
        "contact": _shown_contacts(request, [visitor]).get(visitor.pk),
        "visits": [
            VisitRow(session, channel_label(session.channel), pages.get(session.pk, []))
            for session in sessions
        ],
        "limit": VISITS_SHOWN,
    }
    return render_page(request, "web/tracking/visitor.html", context)
