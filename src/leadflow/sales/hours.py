"""Working hours and time zones: pure functions, no database.

A salesperson's working hours are a small JSON object, one key per weekday he works, each a
list of ``[start, end]`` local times (``"HH:MM"``, start before end, ``"24:00"`` allowed as an
end), read in his own IANA time zone::

    {"mon": [["09:00", "12:30"], ["13:30", "17:30"]], "tue": [["09:00", "17:30"]]}

An empty object means no hours were set: he counts as working at any time. A weekday missing
from a non-empty object is a day off. Local times are read with ``zoneinfo``, so a daylight-
saving change moves the working window in UTC with the clock on the wall.
"""

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadflow.core.errors import FieldError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
MAX_INTERVALS_PER_DAY = 6


def time_zone_get(name: str) -> ZoneInfo | None:
    """The zone named ``name`` (``Europe/Berlin``), or None when no such zone exists."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def working_hours_errors(value: Any, path: str = "working_hours") -> list[FieldError]:
    """Every problem with a working-hours object, each naming its path; empty when valid."""
    if not isinstance(value, Mapping):
        return [FieldError(path, "An object with a list of [start, end] times per weekday.")]
    errors = []
    for day, intervals in value.items():
        where = f"{path}.{day}"
        if day not in WEEKDAYS:
            errors.append(FieldError(where, f"Use one of: {', '.join(WEEKDAYS)}."))
            continue
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS_PER_DAY:
            errors.append(
                FieldError(where, f"A list of at most {MAX_INTERVALS_PER_DAY} [start, end].")
            )
            continue
        for index, interval in enumerate(intervals):
            at = f"{where}[{index}]"
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(part, str) and _TIME.match(part) for part in interval)
            ):
                errors.append(FieldError(at, 'Two times such as ["09:00", "17:30"].'))
            elif _minutes(interval[0]) >= _minutes(interval[1]):
                errors.append(FieldError(at, "The start comes before the end."))
    return errors


def is_within_working_hours(hours: Mapping[str, Any], zone: dt.tzinfo, now: dt.datetime) -> bool:
    """Whether the aware instant ``now`` falls inside ``hours`` read in ``zone`` (start
    included, end excluded). No hours set: always."""
    if not hours:
        return True
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    for start, end in hours.get(WEEKDAYS[local.weekday()], ()):
        if _minutes(start) <= minute < _minutes(end):
            return True
    return False


def local_day_start(zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """The instant the local day containing ``now`` began in ``zone`` (for a daily cap:
    "today" is the salesperson's today)."""
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(0), tzinfo=zone)


def working_deadline(
    hours: Mapping[str, Any], zone: dt.tzinfo, start: dt.datetime, minutes: int
) -> dt.datetime:
    """The instant ``minutes`` of working time after the aware instant ``start``: only time
    inside ``hours`` (read in ``zone``, day by day, so a daylight-saving change moves the
    windows with the wall clock) counts. No hours set, or none in the coming year: plain
    minutes."""
    plain = start + dt.timedelta(minutes=minutes)
    if not hours:
        return plain
    left = dt.timedelta(minutes=minutes)
    day = start.astimezone(zone).date()
    for _ in range(371):
        for begin, end in sorted(hours.get(WEEKDAYS[day.weekday()], ()), key=_minutes_first):
            window_start = local_instant(day, begin, zone)
            window_end = local_instant(day, end, zone)
            window_start = max(window_start, start)
            if window_end <= window_start:
                continue
            if window_end - window_start >= left:
                return window_start + left
            left -= window_end - window_start
        day += dt.timedelta(days=1)
    return plain


def _minutes_first(interval: Any) -> int:
    return _minutes(interval[0])


def local_instant(day: dt.date, text: str, zone: dt.tzinfo) -> dt.datetime:
    """``day`` at the wall-clock time ``text`` in ``zone``, in UTC ("24:00": next midnight)."""
    if text == "24:00":
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    else:
        hour, minute = (int(part) for part in text.split(":"))
        local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
    return local.astimezone(dt.UTC)
