"""Not obsessive: quiet hours in the contact's zone (across midnight and daylight-saving
changes, checked against a minute-by-minute walk), the contact's zone, and the cap on
marketing messages that concurrent senders can never pass."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import ContactPacing, MarketingSend, PacingSettings
from leadflow.nurture.services.pacing import (
    CAPPED,
    GO,
    PAUSED,
    QUIET,
    pacing_claim,
    pacing_release,
    pacing_settings_update,
)
from leadflow.nurture.zones import contact_zone, quiet_until

T = dt.time
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "start", "end", "expected"),
    [
        # an ordinary evening and morning, 21:00-08:00 New York (EDT, UTC-4)
        (at(2026, 6, 2, 2, 0), NEW_YORK, T(21), T(8), at(2026, 6, 2, 12, 0)),
        (at(2026, 6, 2, 11, 59), NEW_YORK, T(21), T(8), at(2026, 6, 2, 12, 0)),
        (at(2026, 6, 2, 12, 0), NEW_YORK, T(21), T(8), None),
        (at(2026, 6, 2, 0, 59), NEW_YORK, T(21), T(8), None),  # 20:59 local
        (at(2026, 6, 2, 1, 0), NEW_YORK, T(21), T(8), at(2026, 6, 2, 12, 0)),  # 21:00
        # spring forward (8 March 2026, 02:00 EST -> 03:00 EDT): the night is an hour shorter
        (at(2026, 3, 8, 2, 0), NEW_YORK, T(21), T(8), at(2026, 3, 8, 12, 0)),
        # the window's end falls in the skipped hour: it opens when the clocks jump
        (at(2026, 3, 8, 6, 0), NEW_YORK, T(21), T(2, 30), at(2026, 3, 8, 7, 0)),
        # fall back (1 November 2026, 02:00 EDT -> 01:00 EST): the night is an hour longer
        (at(2026, 11, 1, 4, 0), NEW_YORK, T(21), T(8), at(2026, 11, 1, 13, 0)),
        # the end falls in the repeated hour: the wall clock reaches it twice
        (at(2026, 11, 1, 5, 10), NEW_YORK, T(21), T(1, 30), at(2026, 11, 1, 5, 30)),
        (at(2026, 11, 1, 6, 10), NEW_YORK, T(21), T(1, 30), at(2026, 11, 1, 6, 30)),
        # a daytime window that does not cross midnight; an empty one
        (at(2026, 1, 5, 12, 30), LONDON, T(12), T(14), at(2026, 1, 5, 14, 0)),
        (at(2026, 1, 5, 12, 30), LONDON, T(12), T(12), None),
        # London's spring forward (29 March 2026 01:00 GMT -> 02:00 BST)
        (at(2026, 3, 28, 22, 0), LONDON, T(21), T(8), at(2026, 3, 29, 7, 0)),
    ],
)
def test_quiet_hours_end_at_the_right_instant(now, zone, start, end, expected):
    assert quiet_until(now, zone, start, end) == expected


def _walked(now: dt.datetime, zone: ZoneInfo, start: dt.time, end: dt.time) -> dt.datetime | None:
    """The first minute (from ``now``) whose wall-clock time is outside the window."""

    def inside(moment: dt.datetime) -> bool:
        local = moment.astimezone(zone).time()
        if start == end:
            return False
        return start <= local < end if start < end else local >= start or local < end

    if not inside(now):
        return None
    moment = now.replace(second=0, microsecond=0)
    while inside(moment) or moment <= now:
        moment += dt.timedelta(minutes=1)
    return moment


ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=150, deadline=None)
@given(
    minute=st.integers(min_value=0, max_value=365 * 24 * 60),
    zone=st.sampled_from(ZONES),
    start=st.integers(min_value=0, max_value=23 * 4).map(lambda q: T(q // 4, q % 4 * 15)),
    end=st.integers(min_value=0, max_value=23 * 4).map(lambda q: T(q // 4, q % 4 * 15)),
)
def test_quiet_hours_agree_with_a_minute_by_minute_walk(minute, zone, start, end):
    now = at(2026, 1, 1) + dt.timedelta(minutes=minute, seconds=17)
    zone = ZoneInfo(zone)
    found, walked = quiet_until(now, zone, start, end), _walked(now, zone, start, end)
    assert (found is None) == (walked is None)
    if found is not None:
        assert found > now
        assert abs(found - walked) < dt.timedelta(minutes=1)


def test_a_contacts_zone_comes_from_the_phone_then_the_country():
    default = ZoneInfo("UTC")
    assert contact_zone(phone="+14155550100", default=default).key == "America/Los_Angeles"
    assert contact_zone(phone="+442079460123", default=default).key == "Europe/London"
    assert contact_zone(country="DE", default=default).key == "Europe/Berlin"
    assert contact_zone(country="US", default=default) is default  # six zones say nothing
    assert contact_zone(phone="not a number", country="IN", default=default).key == "Asia/Kolkata"


NOON_UTC = at(2026, 6, 3, 12, 0)  # a Wednesday, daytime in London


def person(workspace, number: int = 0, **fields) -> Contact:
    return Contact.objects.create(
        workspace=workspace, email=f"p{number}@example.com", country="GB", **fields
    )


@pytest.mark.django_db
def test_the_cap_lets_three_messages_in_a_week_and_says_when_the_next_may_go(workspace):
    lead = person(workspace)
    for day in range(3):
        verdict = pacing_claim(
            workspace_id=workspace.pk,
            wanted={lead.pk: f"m{day}"},
            now=NOON_UTC + dt.timedelta(days=day),
        )[lead.pk]
        assert verdict.outcome == GO
    fourth = pacing_claim(
        workspace_id=workspace.pk, wanted={lead.pk: "m3"}, now=NOON_UTC + dt.timedelta(days=3)
    )[lead.pk]
    assert fourth.outcome == CAPPED
    assert fourth.retry_at == NOON_UTC + dt.timedelta(days=7)  # the first leaves the window
    # a retried sender's message counts once
    again = pacing_claim(
        workspace_id=workspace.pk, wanted={lead.pk: "m1"}, now=NOON_UTC + dt.timedelta(days=3)
    )[lead.pk]
    assert again.outcome == GO
    assert MarketingSend.objects.filter(contact=lead).count() == 3
    # a message not sent after all gives its place back
    pacing_release(workspace_id=workspace.pk, contact_id=lead.pk, key="m2")
    freed = pacing_claim(
        workspace_id=workspace.pk, wanted={lead.pk: "m3"}, now=NOON_UTC + dt.timedelta(days=3)
    )[lead.pk]
    assert freed.outcome == GO
    # a week after the first, a place is free again
    later = pacing_claim(
        workspace_id=workspace.pk,
        wanted={lead.pk: "m4"},
        now=NOON_UTC + dt.timedelta(days=7, minutes=1),
    )[lead.pk]
    assert later.outcome == GO


@pytest.mark.django_db
def test_quiet_hours_and_pauses_hold_a_message_and_say_until_when(workspace, other_workspace):
    london = person(workspace, 1)
    sydney = person(workspace, 2, phone="+61291234567")
    paused = person(workspace, 3)
    foreign = person(other_workspace, 4)
    ContactPacing.objects.create(
        contact=paused, workspace=workspace, paused_until=NOON_UTC + dt.timedelta(days=30)
    )
    verdicts = pacing_claim(
        workspace_id=workspace.pk,
        wanted={london.pk: "m", sydney.pk: "m", paused.pk: "m", foreign.pk: "m"},
        now=NOON_UTC,
    )
    assert verdicts[london.pk].outcome == GO
    # 22:00 in Sydney (AEST, UTC+10): quiet until 08:00 there
    assert verdicts[sydney.pk].outcome == QUIET
    assert verdicts[sydney.pk].retry_at == at(2026, 6, 3, 22, 0)
    assert verdicts[paused.pk].outcome == PAUSED
    assert foreign.pk not in verdicts  # another workspace's contact is not paced here
    assert not MarketingSend.objects.filter(contact__in=[sydney, paused, foreign]).exists()


@pytest.mark.django_db
def test_settings_are_checked_field_by_field(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as caught:
        pacing_settings_update(
            workspace_id=workspace.pk,
            actor=owner_actor,
            changes={"cap_messages": -1, "time_zone": "Mars/Olympus", "quiet_end": "8", "x": 1},
            now=NOON_UTC,
        )
    assert {error.field for error in caught.value.errors} == {
        "cap_messages",
        "time_zone",
        "quiet_end",
        "x",
    }
    assert not PacingSettings.objects.filter(workspace=workspace).exists()
    saved = pacing_settings_update(
        workspace_id=workspace.pk,
        actor=owner_actor,
        changes={"cap_messages": 1, "cap_days": 2, "time_zone": "Europe/Paris"},
        now=NOON_UTC,
    )
    assert (saved.cap_messages, saved.cap_days, saved.time_zone) == (1, 2, "Europe/Paris")


SENDERS = 8


@pytest.mark.django_db(transaction=True)
def test_eight_sequences_at_once_never_pass_the_cap(workspace):
    """Eight senders (threads on their own connections) each try to send their own message
    to the same ten people at the same moment: each person gets exactly the cap."""
    people = [person(workspace, number).pk for number in range(10)]
    start = threading.Barrier(SENDERS)
    errors: list[BaseException] = []

    def sequence(number: int) -> None:
        try:
            start.wait()
            pacing_claim(
                workspace_id=workspace.pk,
                wanted={pk: f"sequence-{number}" for pk in people},
                now=NOON_UTC,
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sequence, args=(number,)) for number in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for pk in people:
        assert MarketingSend.objects.filter(contact_id=pk).count() == 3


@pytest.mark.django_db
def test_the_pacing_api_reads_changes_and_names_each_bad_field(
    api, other_api, api_key_for, workspace
):
    assert api.get("/nurture/pacing").json() == {
        "cap_messages": 3,
        "cap_days": 7,
        "quiet_enabled": True,
        "quiet_start": "21:00:00",
        "quiet_end": "08:00:00",
        "time_zone": "UTC",
        "pause_after_ignored": 5,
    }
    changed = api.patch("/nurture/pacing", {"cap_messages": 2, "quiet_start": "22:30"})
    assert changed.status_code == 200
    assert (changed.json()["cap_messages"], changed.json()["quiet_start"]) == (2, "22:30:00")
    bad = api.patch(
        "/nurture/pacing",
        {"cap_days": 0, "time_zone": "Nowhere", "colour": "red", "quiet_end": None},
    )
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"colour"}  # unknown first
    bad = api.patch("/nurture/pacing", {"cap_days": 0, "time_zone": "Nowhere", "quiet_end": None})
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"quiet_end"}
    bad = api.patch("/nurture/pacing", {"cap_days": 0, "time_zone": "Nowhere"})
    assert {error["field"] for error in bad.json()["errors"]} == {"cap_days", "time_zone"}
    assert api.get("/nurture/pacing").json()["cap_messages"] == 2
    # each workspace has its own
    assert other_api.get("/nurture/pacing").json()["cap_messages"] == 3
    reader = api_key_for(workspace, scopes=["settings:read"])
    assert reader.patch("/nurture/pacing", {"cap_messages": 1}).status_code == 403
