"""Free meeting times and the calendar file, pure (no database): slots follow the wall
clock in the member's zone across a daylight-saving change, busy times and the first hour
are left out, no hours set means weekdays 09:00-17:00; the .ics folds long lines at 75
octets and escapes text."""

import datetime as dt
from zoneinfo import ZoneInfo

from leadflow.chat.slots import free_slots, ics_event, slot_label, slot_parse, slot_value

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_slots_follow_the_wall_clock_across_a_daylight_saving_change():
    # Sunday 29 March 2026 Berlin moves from UTC+1 to UTC+2.
    hours = {"fri": [["09:00", "10:00"]], "mon": [["09:00", "10:00"]]}
    slots = free_slots(
        hours=hours, zone=BERLIN, now=at("2026-03-26T12:00+00:00"), duration=30, days=5
    )
    assert [(s.isoformat(), e.isoformat()) for s, e in slots] == [
        ("2026-03-27T08:00:00+00:00", "2026-03-27T08:30:00+00:00"),
        ("2026-03-27T08:30:00+00:00", "2026-03-27T09:00:00+00:00"),
        ("2026-03-30T07:00:00+00:00", "2026-03-30T07:30:00+00:00"),
        ("2026-03-30T07:30:00+00:00", "2026-03-30T08:00:00+00:00"),
    ]
    assert all(s.astimezone(BERLIN).hour == 9 for s, _ in slots[::2])


def test_busy_times_the_first_hour_and_the_limit_are_respected():
    hours = {"tue": [["09:00", "12:00"]]}
    now = at("2026-12-08T08:20+01:00")  # a Tuesday, 08:20 in Berlin
    busy = [(at("2026-12-08T10:15+01:00"), at("2026-12-08T10:45+01:00"))]
    slots = free_slots(hours=hours, zone=BERLIN, now=now, duration=30, days=1, busy=busy)
    starts = [f"{s.astimezone(BERLIN):%H:%M}" for s, _ in slots]
    assert starts == ["09:30", "11:00", "11:30"]  # 09:00 is within the hour; 10:00, 10:30 busy
    limited = free_slots(hours=hours, zone=BERLIN, now=now, duration=30, days=1, limit=2)
    assert len(limited) == 2


def test_no_hours_set_means_weekdays_nine_to_five():
    slots = free_slots(hours={}, zone=UTC, now=at("2026-12-05T00:00+00:00"), duration=60, days=3)
    assert {s.weekday() for s, _ in slots} == {0}  # Saturday and Sunday are skipped
    assert f"{slots[0][0]:%H:%M}" == "09:00" and len(slots) == 8


def test_a_slot_value_and_label_read_back():
    start = at("2026-12-08T09:00+00:00")
    assert slot_value(start) == "2026-12-08T09:00:00Z"
    assert slot_parse(slot_value(start)) == start
    assert slot_parse("tomorrow") is None
    assert slot_label(start, BERLIN, "Europe/Berlin") == "Tue 8 Dec, 10:00 (Europe/Berlin)"


def test_the_ics_event_folds_long_lines_and_escapes_text():
    text = ics_event(
        uid="chat-meeting-1@example.com",
        start=at("2026-12-08T09:00+00:00"),
        end=at("2026-12-08T09:30+00:00"),
        summary="Meeting with Zoë; the team, " + "ü" * 60,
        description="Line one\nline two",
        organizer="sam@acme-widgets.com",
        attendee="ann@initech.com",
        now=at("2026-12-06T12:00+00:00"),
    )
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20261208T090000Z" in lines and "DTEND:20261208T093000Z" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Meeting with Zoë\\; the team\\, " + "ü" * 60 in unfolded
    assert "DESCRIPTION:Line one\\nline two" in unfolded
