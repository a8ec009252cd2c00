"""Where and when a contact is: a contact's time zone, and the end of quiet hours.

Quiet hours are a window of wall-clock time in the contact's zone (21:00-08:00 crosses
midnight) when no marketing message goes out. ``quiet_until`` answers the first moment at
or after ``now`` outside the window, in UTC, correct across daylight-saving changes: a
window end that falls in a skipped hour (spring forward) opens at the first wall-clock
moment that exists after it, and a repeated hour (fall back) is counted once, at its first
occurrence.
"""

import datetime as dt
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_zones


def zone_get(name: str | None) -> ZoneInfo | None:
    """The zone named, or None for an empty or unknown name."""
    if not name or name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code -> its zones, from the tz database's zone.tab (shipped by tzdata)."""
    import tzdata

    table = Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab"
    zones: dict[str, list[str]] = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            zones.setdefault(parts[0].upper(), []).append(parts[2])
    return {country: tuple(names) for country, names in zones.items()}


def contact_zone(*, phone: str = "", country: str = "", default: ZoneInfo) -> ZoneInfo:
    """The contact's time zone as well as we can tell: the one zone of their phone number's
    area, else the one zone of their country, else ``default`` (the workspace's). A country
    or number spanning several zones says nothing sure, so the default stands."""
    if phone:
        try:
            number = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None:
            names = [
                name for name in phone_zones.time_zones_for_number(number) if name in _zone_names()
            ]
            if len(names) == 1:
                return ZoneInfo(names[0])
    zone = _country_zone((country or "").upper())
    return zone or default


@cache
def _country_zone(country: str) -> ZoneInfo | None:
    """The country's zone when all its zones keep the same clock (Germany's Berlin and
    Busingen), else None (the United States)."""
    names = [name for name in _country_zones().get(country, ()) if name in _zone_names()]
    if not names:
        return None
    zones = [ZoneInfo(name) for name in names]
    probes = [dt.datetime(2026, month, 15, 12, tzinfo=dt.UTC) for month in (1, 4, 7, 10)]
    clocks = {tuple(probe.astimezone(zone).utcoffset() for probe in probes) for zone in zones}
    return zones[0] if len(clocks) == 1 else None


def _inside(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False  # an empty window
    if start < end:
        return start <= local < end
    return local >= start or local < end  # crosses midnight


def _wall(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``: its first occurrence
    when the hour repeats; when it does not exist (skipped), the moment the clocks jump."""
    wanted = dt.datetime.combine(day, at)
    first = wanted.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wanted:
        return first
    # Skipped: fold=1 reads it with the offset after the jump (an instant before it), fold=0
    # with the offset before (an instant after it). The jump lies between: find it.
    low = wanted.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    high = first
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wanted:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def quiet_until(
    now: dt.datetime, zone: ZoneInfo, start: dt.time, end: dt.time
) -> dt.datetime | None:
    """When quiet hours (``start``-``end`` wall time in ``zone``) end, in UTC, if ``now`` is
    inside them; None when ``now`` is outside (a message may go now)."""
    local = now.astimezone(zone)
    if not _inside(local.time().replace(tzinfo=None), start, end):
        return None
    day = local.date()
    if start > end and local.time() >= start:
        day += dt.timedelta(days=1)  # the evening part: the window ends tomorrow morning
    opens = _wall(day, end, zone)
    if opens <= now:
        # Inside by the wall clock after the end's first occurrence: the hour repeated
        # (clocks went back). The window ends when the wall clock reaches its end again.
        again = dt.datetime.combine(day, end, tzinfo=zone).replace(fold=1).astimezone(dt.UTC)
        opens = again if again > now else _wall(day + dt.timedelta(days=1), end, zone)
    return opens


def next_wall_time(
    now: dt.datetime, zone: ZoneInfo, weekdays: list[int], at: dt.time
) -> dt.datetime:
    """The first instant after ``now`` when the wall clock in ``zone`` shows ``at`` on one
    of ``weekdays`` (0 = Monday), daylight-saving changes included (a skipped time is the
    moment the clocks jump; a repeated one its first occurrence)."""
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + dt.timedelta(days=offset)
        if day.weekday() in weekdays:
            moment = _wall(day, at, zone)
            if moment > now:
                return moment
    return _wall(today + dt.timedelta(days=14), at, zone)  # unreachable with a weekday given
