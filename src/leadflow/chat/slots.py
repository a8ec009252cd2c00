"""Free meeting times and the calendar file that confirms one: pure functions, no
database (the meeting step's service gives them the member's hours, zone and busy times).

``free_slots`` walks the member's working hours (``sales.hours``: read in the member's own
zone, day by day, so a daylight-saving change moves them with the wall clock; no hours set:
Monday to Friday 09:00-17:00) from ``now`` for ``days`` local days, cuts each working
window into back-to-back slots of ``duration`` minutes, and leaves out a slot that starts
within ``LEAD_MINUTES`` of now or overlaps a busy interval. ``ics_event`` writes one
iCalendar (RFC 5545) event, its lines folded at 75 octets.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.sales.hours import WEEKDAYS, local_instant

DEFAULT_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
LEAD_MINUTES = 60  # the earliest slot offered starts at least an hour from now
MAX_SLOTS = 8


def free_slots(
    *,
    hours: Mapping[str, Any],
    zone: dt.tzinfo,
    now: dt.datetime,
    duration: int,
    days: int,
    busy: Iterable[tuple[dt.datetime, dt.datetime]] = (),
    limit: int = MAX_SLOTS,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The first ``limit`` free (start, end) pairs in UTC, earliest first."""
    hours = hours or DEFAULT_HOURS
    length = dt.timedelta(minutes=duration)
    earliest = now + dt.timedelta(minutes=LEAD_MINUTES)
    taken = sorted(busy)
    found: list[tuple[dt.datetime, dt.datetime]] = []
    first_day = now.astimezone(zone).date()
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        windows = sorted(hours.get(WEEKDAYS[day.weekday()], ()), key=lambda pair: pair[0])
        for begin, end in windows:
            start, stop = local_instant(day, begin, zone), local_instant(day, end, zone)
            while start + length <= stop:
                slot_end = start + length
                if start >= earliest and not any(b < slot_end and e > start for b, e in taken):
                    found.append((start, slot_end))
                    if len(found) >= limit:
                        return found
                start = slot_end
    return found


def slot_label(start: dt.datetime, zone: dt.tzinfo, zone_name: str) -> str:
    """How a slot is shown: "Tue 8 Dec, 10:00 (Europe/Berlin)", in the member's zone."""
    local = start.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} ({zone_name})"


def slot_value(start: dt.datetime) -> str:
    """A slot's value, the start in UTC ("2026-12-08T09:00:00Z")."""
    return start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_parse(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=dt.UTC)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """A content line folded at 75 octets (continuations start with a space)."""
    raw = line.encode()
    parts = []
    while len(raw) > 75:
        cut = 75 if not parts else 74
        while cut and (raw[cut] & 0xC0) == 0x80:  # never inside a UTF-8 character
            cut -= 1
        parts.append(raw[:cut].decode())
        raw = raw[cut:]
    parts.append(raw.decode())
    return "\r\n ".join(parts)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_event(
    *,
    uid: str,
    start: dt.datetime,
    end: dt.datetime,
    summary: str,
    description: str,
    organizer: str,
    attendee: str,
    now: dt.datetime,
) -> str:
    """One event as an iCalendar file (METHOD:PUBLISH), CRLF line ends."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//LeadFlow//Chat meetings//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
    ]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    if attendee:
        lines.append(f"ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{attendee}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines)
