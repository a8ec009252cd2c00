"""The speed-to-lead report: how fast routed leads get their first touch by a person, by
person, team, source or hour of day (``sales.selectors.speed_to_lead_report``)."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from leadflow.sales import selectors
from leadflow.sales.hours import time_zone_get
from leadflow.sales.models import TeamMember
from leadflow.web.access import workspace_view
from leadflow.web.views.common import query_with, render_page
from leadflow.web.views.tracking import PRESETS, report_range

GROUP_LABELS = (
    ("person", "Person"),
    ("team", "Team"),
    ("source", "Source"),
    ("hour", "Hour of arrival"),
)


def duration(seconds: float | None) -> str:
    """Seconds as a person reads them: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@workspace_view("read")
@require_safe
def report_speed_to_lead(request: HttpRequest) -> HttpResponse:
    """Median and 90th percentile of the first-response time and the share of leads touched
    within their deadline, by the chosen group over a date range, with a bar chart of the
    medians (a salesperson who sees only own leads sees only those)."""
    period, errors = report_range(request.GET, timezone.localdate())
    group = request.GET.get("group", "person")
    if group not in selectors.GROUPS:
        group = "person"
    zone_name = request.GET.get("tz", "UTC")
    zone, zone_error = time_zone_get(zone_name), ""
    if zone is None:
        zone_error = f"No time zone is called {zone_name[:64]!r}: showing UTC instead."
        zone_name, zone = "UTC", time_zone_get("UTC")
    report = selectors.speed_to_lead_report(
        request.workspace,
        request.actor,
        since=period.start,
        until=period.end,
        group_by=group,
        time_zone=zone,
    )
    longest = max((row.p90_seconds or 0 for row in report.rows), default=0) or 1
    query = {**period.query(), "group": group, "tz": zone_name}
    zones = sorted(
        {"UTC", zone_name}
        | set(
            TeamMember.objects.filter(team__workspace=request.workspace)
            .values_list("time_zone", flat=True)
            .distinct()
        )
    )
    context = {
        "section": "speed",
        "period": period,
        "errors": errors,
        "zone_error": zone_error,
        "presets": [
            (value, label, query_with(query, range=value, **{"from": None, "to": None}))
            for value, label in PRESETS
        ],
        "groups": [(value, label, query_with(query, group=value)) for value, label in GROUP_LABELS],
        "group": group,
        "range_hidden": [("group", group), ("tz", zone_name)],
        "group_label": dict(GROUP_LABELS)[group],
        "zone_name": zone_name,
        "zones": zones,
        "custom_from": request.GET.get("from", period.first.isoformat())[:10],
        "custom_to": request.GET.get("to", period.last.isoformat())[:10],
        "total": _row(report.total, longest),
        "rows": [_row(row, longest) for row in report.rows],
    }
    return render_page(request, "web/sales/speed_to_lead.html", context)


def _row(row: selectors.SpeedRow, longest: float) -> dict:
    share = row.share_within_deadline
    return {
        "label": row.label,
        "leads": row.leads,
        "touched": row.touched,
        "untouched": row.untouched,
        "median": duration(row.median_seconds),
        "p90": duration(row.p90_seconds),
        "share": None if share is None else round(share * 100, 1),
        "settled": row.settled,
        "median_width": round(100 * (row.median_seconds or 0) / longest, 1),
        "p90_width": round(100 * (row.p90_seconds or 0) / longest, 1),
    }
