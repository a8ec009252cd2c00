"""Speed-to-lead reads: the first-response times of routed leads, summed up by person,
team, source or hour of day (``speed_to_lead_report``), and a lead's running clock."""

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.contacts.selectors import contacts_visible
from leadflow.core.actors import Actor
from leadflow.core.models import User, Workspace
from leadflow.sales.models import FirstTouch, Team

GROUPS = ("person", "team", "source", "hour")
MAX_PERIOD = dt.timedelta(days=366)


@dataclass
class SpeedRow:
    """One group's figures: ``leads`` routed in the period, how many were ``touched``, the
    median and 90th percentile of their first-response time (seconds; None when nobody was
    touched), and of the leads with a deadline that has been settled (touched, or past due
    untouched), how many were touched within it."""

    key: object
    label: str
    leads: int = 0
    touched: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None
    settled: int = 0
    within_deadline: int = 0
    seconds: list[int] = field(default_factory=list, repr=False)

    @property
    def untouched(self) -> int:
        return self.leads - self.touched

    @property
    def share_within_deadline(self) -> float | None:
        return self.within_deadline / self.settled if self.settled else None


@dataclass
class SpeedReport:
    since: dt.datetime
    until: dt.datetime
    group_by: str
    time_zone: dt.tzinfo
    rows: list[SpeedRow]
    total: SpeedRow


def percentile(sorted_values: list[int], share: float) -> float | None:
    """The ``share`` percentile (0-1) of sorted values, linearly interpolated between the
    closest ranks (as PostgreSQL's ``percentile_cont``); None for no values."""
    if not sorted_values:
        return None
    rank = share * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def speed_to_lead_report(
    workspace: Workspace,
    actor: Actor,
    *,
    since: dt.datetime,
    until: dt.datetime,
    group_by: str = "person",
    time_zone: dt.tzinfo = dt.UTC,
    now: dt.datetime | None = None,
) -> SpeedReport:
    """The first-response times of the leads whose clock started in [since, until), grouped
    by ``group_by`` (``GROUPS``; the person is who touched the lead, else its owner; the
    hour is the hour of arrival in ``time_zone``). A sales member who sees only own leads
    sees only those leads. One query for the rows, whatever their number of groups."""
    now = now or timezone.now()
    clocks = FirstTouch.objects.filter(
        workspace=workspace, started_at__gte=since, started_at__lt=until
    )
    if actor.sees_only_own_leads:
        clocks = clocks.filter(contact_id__in=contacts_visible(workspace, actor).values("pk"))
    rows = clocks.annotate(person=Coalesce(F("touched_by_id"), F("owner_id"))).values_list(
        "person", "team_id", "source", "started_at", "due_at", "touched_at", "response_seconds"
    )
    groups: dict[object, SpeedRow] = {}
    total = SpeedRow(key=None, label="All leads")
    for person, team_id, source, started_at, due_at, touched_at, seconds in rows.iterator():
        key = {
            "person": person,
            "team": team_id,
            "source": source or "",
            "hour": started_at.astimezone(time_zone).hour,
        }[group_by]
        row = groups.get(key) or groups.setdefault(key, SpeedRow(key=key, label=""))
        for summed in (row, total):
            summed.leads += 1
            if touched_at is not None:
                summed.touched += 1
                summed.seconds.append(seconds or 0)
            if due_at is not None and (touched_at is not None or due_at <= now):
                summed.settled += 1
                summed.within_deadline += touched_at is not None and touched_at <= due_at
    for summed in [*groups.values(), total]:
        summed.seconds.sort()
        summed.median_seconds = percentile(summed.seconds, 0.5)
        summed.p90_seconds = percentile(summed.seconds, 0.9)
    _labels(workspace, group_by, groups)
    ordered = sorted(groups.values(), key=_order(group_by))
    return SpeedReport(since, until, group_by, time_zone, ordered, total)


def _labels(workspace: Workspace, group_by: str, groups: dict[object, SpeedRow]) -> None:
    if group_by == "person":
        users = User.objects.filter(pk__in=[key for key in groups if key is not None])
        names = {user.pk: str(user) for user in users}
        for key, row in groups.items():
            row.label = names.get(key, "Nobody (in a queue)")
    elif group_by == "team":
        teams = dict(
            Team.objects.filter(workspace=workspace, pk__in=[k for k in groups if k]).values_list(
                "pk", "name"
            )
        )
        for key, row in groups.items():
            row.label = teams.get(key, "No team")
    elif group_by == "source":
        for key, row in groups.items():
            row.label = key or "(no source)"
    else:
        for key, row in groups.items():
            row.label = f"{key:02d}:00–{key:02d}:59"


def _order(group_by: str):
    if group_by == "hour":
        return lambda row: row.key
    return lambda row: (-row.leads, row.label.lower())


def contact_first_touch(workspace: Workspace, contact_id: int) -> FirstTouch | None:
    """The lead's latest first-touch clock (running or stopped), or None."""
    return (
        FirstTouch.objects.filter(workspace=workspace, contact_id=contact_id)
        .order_by("-started_at", "-pk")
        .first()
    )
