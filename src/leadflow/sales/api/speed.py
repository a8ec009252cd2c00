"""Sales over the API. The speed-to-lead report (``contacts:read``): first-response times of
routed leads over a date range, by person, team, source or hour of arrival."""

import datetime as dt
from typing import Literal

from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import field_validator, model_validator

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.sales import selectors
from leadflow.sales.hours import time_zone_get

router = Router(tags=["sales"])
READ = ApiScope.CONTACTS_READ
MAX_DAYS = 366


class SpeedQuery(StrictSchema):
    since: dt.date | None = None
    until: dt.date | None = None
    group_by: Literal["person", "team", "source", "hour"] = "person"
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if time_zone_get(value) is None:
            raise ValueError("A time zone such as Europe/Berlin.")
        return value

    @model_validator(mode="after")
    def _range(self) -> "SpeedQuery":
        until = self.until or timezone.localdate()
        since = self.since or until - dt.timedelta(days=29)
        if since > until:
            raise ValueError("since must be on or before until.")
        if (until - since).days + 1 > MAX_DAYS:
            raise ValueError(f"At most {MAX_DAYS} days at a time.")
        self.since, self.until = since, until
        return self


class SpeedRowOut(Schema):
    key: int | str | None
    label: str
    leads: int
    touched: int
    untouched: int
    median_seconds: float | None
    p90_seconds: float | None
    settled: int
    within_deadline: int
    share_within_deadline: float | None


class SpeedReportOut(Schema):
    since: dt.date
    until: dt.date
    group_by: str
    time_zone: str
    total: SpeedRowOut
    rows: list[SpeedRowOut]


@router.get(
    "/reports/speed-to-lead",
    response=SpeedReportOut,
    summary="Speed to lead: first-response times of routed leads",
)
def speed_to_lead(request, query: Query[SpeedQuery]):
    """Leads whose clock started from ``since`` to ``until`` (whole days, both included,
    in the site's time zone; default: the last 30 days). ``median_seconds`` and
    ``p90_seconds`` cover the touched leads; ``share_within_deadline`` is
    ``within_deadline / settled``, the leads with a deadline that passed or were touched.
    The hour of arrival is read in ``time_zone``."""
    workspace, actor = require_scope(request, READ)
    zone = time_zone_get(query.time_zone)
    start = timezone.make_aware(dt.datetime.combine(query.since, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(query.until + dt.timedelta(days=1), dt.time.min))
    report = selectors.speed_to_lead_report(
        workspace, actor, since=start, until=end, group_by=query.group_by, time_zone=zone
    )
    return {
        "since": query.since,
        "until": query.until,
        "group_by": query.group_by,
        "time_zone": query.time_zone,
        "total": _row(report.total),
        "rows": [_row(row) for row in report.rows],
    }


def _row(row: selectors.SpeedRow) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "leads": row.leads,
        "touched": row.touched,
        "untouched": row.untouched,
        "median_seconds": row.median_seconds,
        "p90_seconds": row.p90_seconds,
        "settled": row.settled,
        "within_deadline": row.within_deadline,
        "share_within_deadline": row.share_within_deadline,
    }
