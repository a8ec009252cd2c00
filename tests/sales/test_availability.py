"""Who is available decides who gets a lead: working hours read in each salesperson's time
zone (across a daylight-saving change), away, the daily capacity (his local day), and the
rule's fallback when nobody is. Fixed instants are passed as ``now``."""

import datetime as dt

import pytest

from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from leadflow.sales.models import Assignment, Fallback, Strategy, Trigger
from leadflow.sales.services import lead_route, team_member_update
from tests.sales.conftest import OFFICE_HOURS, WEDNESDAY_10_UTC

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def route(workspace, contact, now):
    return lead_route(workspace=workspace, contact_id=contact.pk, trigger=Trigger.CREATED, now=now)


def owner_of(contact) -> int | None:
    return Contact.objects.get(pk=contact.pk).owner_id


def test_working_hours_are_read_in_each_salespersons_time_zone(
    workspace, salesperson, team_of, rule, lead
):
    tokyo, new_york = salesperson("kenji"), salesperson("nina")
    team, _ = team_of(
        "World",
        [
            (tokyo, {"working_hours": OFFICE_HOURS, "time_zone": "Asia/Tokyo"}),
            (new_york, {"working_hours": OFFICE_HOURS, "time_zone": "America/New_York"}),
        ],
    )
    rule(Strategy.ROUND_ROBIN, team=team)
    # 01:00 UTC on a Wednesday: 10:00 in Tokyo, 20:00 (Tuesday) in New York.
    morning_in_tokyo = dt.datetime(2026, 1, 14, 1, 0, tzinfo=UTC)
    # 15:00 UTC: 00:00 Thursday in Tokyo, 10:00 in New York.
    morning_in_new_york = dt.datetime(2026, 1, 14, 15, 0, tzinfo=UTC)
    first, second, third = lead(), lead(), lead()
    route(workspace, first, morning_in_tokyo)
    route(workspace, second, morning_in_tokyo)  # Nina is next in turn, but off duty
    route(workspace, third, morning_in_new_york)
    assert [owner_of(c) for c in (first, second, third)] == [tokyo.pk, tokyo.pk, new_york.pk]


def test_a_daylight_saving_change_moves_the_working_window_in_utc(
    workspace, salesperson, team_of, rule, lead
):
    """London starts summer time on Sunday 29 March 2026: 08:30 UTC is 08:30 on the Friday
    before (not yet at work) and 09:30 on the Monday after (at work)."""
    ann = salesperson("ann")
    team, _ = team_of("UK", [(ann, {"working_hours": OFFICE_HOURS, "time_zone": "Europe/London"})])
    rule(Strategy.ROUND_ROBIN, team=team)
    friday = dt.datetime(2026, 3, 27, 8, 30, tzinfo=UTC)
    monday = dt.datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    before, after = lead(), lead()
    assert route(workspace, before, friday).queued
    assert owner_of(before) is None
    assert route(workspace, after, monday).owner_id == ann.pk
    # And 16:30 UTC on that Monday is 17:30 in London: gone home.
    late = lead()
    assert route(workspace, late, dt.datetime(2026, 3, 30, 16, 30, tzinfo=UTC)).queued


def test_an_away_member_gets_nothing_until_his_away_until_passes(
    workspace, owner_actor, salesperson, team_of, rule, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    back = WEDNESDAY_10_UTC + dt.timedelta(hours=2)
    team, members = team_of("EMEA", [(ann, {"away": True, "away_until": back}), bob])
    rule(Strategy.ROUND_ROBIN, team=team)
    contacts = [lead() for _ in range(4)]
    route(workspace, contacts[0], WEDNESDAY_10_UTC)
    route(workspace, contacts[1], WEDNESDAY_10_UTC + dt.timedelta(hours=1))
    route(workspace, contacts[2], back)  # back now: Ann's turn again
    team_member_update(
        workspace=workspace,
        team_member_id=members[1].pk,
        data={"away": True, "away_until": None},  # away until further notice
        actor=owner_actor,
    )
    route(workspace, contacts[3], back + dt.timedelta(days=30))
    assert [owner_of(c) for c in contacts] == [bob.pk, bob.pk, ann.pk, ann.pk]


def test_the_daily_capacity_counts_the_members_own_local_day(
    workspace, salesperson, team_of, rule, lead
):
    """Ann (Sydney, cap 2) and Bob (no cap). At 12:30 UTC it is already 23:30 in Sydney;
    at 13:30 UTC it is the next day there, and Ann has room again."""
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("APAC", [(ann, {"daily_capacity": 2, "time_zone": "Australia/Sydney"}), bob])
    rule(Strategy.ROUND_ROBIN, team=team)
    evening = dt.datetime(2026, 1, 14, 12, 30, tzinfo=UTC)
    contacts = [lead() for _ in range(6)]
    for contact in contacts[:5]:
        route(workspace, contact, evening)
    route(workspace, contacts[5], evening + dt.timedelta(hours=1))
    assert [owner_of(c) for c in contacts] == [ann.pk, bob.pk, ann.pk, bob.pk, bob.pk, ann.pk]


def test_a_cap_of_zero_takes_the_member_out_of_the_rotation(
    workspace, salesperson, team_of, rule, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [(ann, {"daily_capacity": 0}), bob])
    rule(Strategy.WEIGHTED_ROUND_ROBIN, team=team)
    contacts = [lead() for _ in range(3)]
    for contact in contacts:
        route(workspace, contact, WEDNESDAY_10_UTC)
    assert {owner_of(c) for c in contacts} == {bob.pk}


def test_fallback_queue_leaves_the_lead_unassigned_for_the_team_when_nobody_works_now(
    workspace, salesperson, team_of, rule, lead
):
    ann = salesperson("ann")
    team, _ = team_of("EMEA", [(ann, {"working_hours": OFFICE_HOURS})])
    rule(Strategy.ROUND_ROBIN, team=team, fallback=Fallback.QUEUE)
    saturday = dt.datetime(2026, 1, 17, 11, 0, tzinfo=UTC)
    contact = lead()
    assignment = route(workspace, contact, saturday)
    assert owner_of(contact) is None
    assert assignment.queued and assignment.team_id == team.pk
    assert assignment.reason == "Nobody in EMEA available: left in the team's queue"


def test_fallback_next_member_ignores_hours_but_still_not_away_or_capacity(
    workspace, salesperson, team_of, rule, lead
):
    ann, bob, cy = salesperson("ann"), salesperson("bob"), salesperson("cy")
    hours = {"working_hours": OFFICE_HOURS}
    team, _ = team_of(
        "EMEA",
        [
            (ann, {**hours, "away": True}),
            (bob, {**hours, "daily_capacity": 1}),
            (cy, hours),
        ],
    )
    rule(Strategy.ROUND_ROBIN, team=team, fallback=Fallback.NEXT_MEMBER)
    saturday = dt.datetime(2026, 1, 17, 11, 0, tzinfo=UTC)
    contacts = [lead() for _ in range(3)]
    for contact in contacts:
        route(workspace, contact, saturday)
    assert [owner_of(c) for c in contacts] == [bob.pk, cy.pk, cy.pk]
    reasons = list(Assignment.objects.order_by("id").values_list("reason", flat=True))
    assert reasons[0] == "Nobody in EMEA within working hours: next in turn, outside hours"
    # Nobody at all (Ann away, Bob and Cy capped): the queue.
    team.members.filter(user=cy).update(daily_capacity=2)
    last = lead()
    assert route(workspace, last, saturday).queued


def test_bad_availability_settings_are_refused_naming_each_field(
    workspace, owner_actor, salesperson, team_of
):
    _, (member,) = team_of("EMEA", [salesperson("ann")])
    with pytest.raises(ValidationFailed) as failed:
        team_member_update(
            workspace=workspace,
            team_member_id=member.pk,
            data={
                "time_zone": "Mars/Olympus_Mons",
                "working_hours": {"mon": [["17:00", "09:00"]], "someday": []},
                "weight": 0,
                "daily_capacity": -1,
                "away_until": dt.datetime(2026, 1, 1),  # naive
                "colour": "blue",
            },
            actor=owner_actor,
        )
    assert {error.field for error in failed.value.errors} == {
        "time_zone",
        "working_hours.mon[0]",
        "working_hours.someday",
        "weight",
        "daily_capacity",
        "away_until",
        "colour",
    }
