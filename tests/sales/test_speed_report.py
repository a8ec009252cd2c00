"""The speed-to-lead report: median and 90th percentile of the first-response time and the
share within the deadline, by person, team, source and hour, with hand-computed figures;
the same through the API and the page; a salesperson who sees only own leads sees only
those; another workspace sees nothing."""

import datetime as dt

import pytest
from django.test import Client

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.sales.models import FirstTouch, Strategy, Trigger
from leadflow.sales.selectors import percentile, speed_to_lead_report
from leadflow.sales.services import leads_route
from leadflow.sales.services.first_touch import Touch, first_touches_record
from tests.conftest import PASSWORD
from tests.sales.conftest import WEDNESDAY_10_UTC

MINUTE = dt.timedelta(minutes=1)
SINCE = WEDNESDAY_10_UTC - dt.timedelta(days=1)
UNTIL = WEDNESDAY_10_UTC + dt.timedelta(days=1)
NOW = WEDNESDAY_10_UTC + dt.timedelta(hours=3)


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([60], 0.9) == 60
    assert percentile([60, 120, 300, 600], 0.5) == 210
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


@pytest.fixture
def history(workspace, salesperson, team_of, rule, lead):
    """Ann gets 4 leads (touched after 1, 2, 5 and 10 minutes), Bob 2 (one after 20
    minutes, one never); deadline 15 minutes; arrivals at 10:00 UTC."""
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("Inbound", [ann, bob])
    rule(
        Strategy.ROUND_ROBIN,
        team=team,
        first_touch_minutes=15,
        first_touch_business_hours=False,
        breach_escalation="none",
    )
    contacts = [lead(source="google") for _ in range(6)]
    leads_route(
        workspace=workspace,
        triggers={contact.pk: Trigger.MQL for contact in contacts},
        now=WEDNESDAY_10_UTC,
    )
    owned = {
        user.pk: list(
            Contact.objects.filter(pk__in=[c.pk for c in contacts], owner=user).order_by("pk")
        )
        for user in (ann, bob)
    }
    assert [len(owned[ann.pk]), len(owned[bob.pk])] == [3, 3]  # round robin
    # Ann touches hers after 1, 2, 5 minutes; Bob after 10 and 20 minutes, one never.
    touches = [
        Touch(contact.pk, WEDNESDAY_10_UTC + minutes * MINUTE, ann.pk, "call.logged")
        for contact, minutes in zip(owned[ann.pk], (1, 2, 5), strict=True)
    ] + [
        Touch(contact.pk, WEDNESDAY_10_UTC + minutes * MINUTE, bob.pk, "email.sent")
        for contact, minutes in zip(owned[bob.pk][:2], (10, 20), strict=True)
    ]
    first_touches_record(touches)
    return ann, bob, owned


def test_figures_by_person_and_in_total(workspace, owner_actor, history):
    ann, bob, _ = history
    report = speed_to_lead_report(
        workspace, owner_actor, since=SINCE, until=UNTIL, group_by="person", now=NOW
    )
    rows = {row.key: row for row in report.rows}
    assert (rows[ann.pk].leads, rows[ann.pk].touched) == (3, 3)
    assert rows[ann.pk].median_seconds == 120
    assert rows[ann.pk].p90_seconds == pytest.approx(60 * (2 + 0.8 * 3))  # 2 min + 0.8 of 3
    assert (rows[ann.pk].settled, rows[ann.pk].within_deadline) == (3, 3)
    assert (rows[bob.pk].leads, rows[bob.pk].touched, rows[bob.pk].untouched) == (3, 2, 1)
    assert rows[bob.pk].median_seconds == 15 * 60
    # Bob: 10 min in time, 20 min late, one untouched and past due at NOW.
    assert (rows[bob.pk].settled, rows[bob.pk].within_deadline) == (3, 1)
    total = report.total
    assert (total.leads, total.touched) == (6, 5)
    assert total.median_seconds == 5 * 60  # 1, 2, 5, 10, 20 minutes
    assert total.share_within_deadline == pytest.approx(4 / 6)
    # Before the untouched lead's deadline it is not counted against anyone.
    early = speed_to_lead_report(
        workspace,
        owner_actor,
        since=SINCE,
        until=UNTIL,
        group_by="person",
        now=WEDNESDAY_10_UTC + 14 * MINUTE,
    )
    assert (early.total.settled, early.total.within_deadline) == (5, 4)


def test_by_team_source_and_hour_in_a_time_zone(workspace, owner_actor, history):
    by_team = speed_to_lead_report(
        workspace, owner_actor, since=SINCE, until=UNTIL, group_by="team"
    )
    assert [(row.label, row.leads) for row in by_team.rows] == [("Inbound", 6)]
    by_source = speed_to_lead_report(
        workspace, owner_actor, since=SINCE, until=UNTIL, group_by="source"
    )
    assert [(row.label, row.leads) for row in by_source.rows] == [("google", 6)]
    from zoneinfo import ZoneInfo

    by_hour = speed_to_lead_report(
        workspace,
        owner_actor,
        since=SINCE,
        until=UNTIL,
        group_by="hour",
        time_zone=ZoneInfo("Asia/Kolkata"),  # UTC+5:30: 10:00 UTC is 15:30
    )
    assert [(row.key, row.label) for row in by_hour.rows] == [(15, "15:00–15:59")]
    # Outside the period: nothing.
    later = speed_to_lead_report(workspace, owner_actor, since=UNTIL, until=UNTIL + MINUTE)
    assert later.rows == [] and later.total.leads == 0


def test_a_salesperson_who_sees_only_own_leads_sees_only_those(workspace, history):
    ann, _, _ = history
    actor = Actor.for_user(ann, Membership.objects.get(workspace=workspace, user=ann))
    assert actor.sees_only_own_leads
    report = speed_to_lead_report(workspace, actor, since=SINCE, until=UNTIL)
    assert [row.key for row in report.rows] == [ann.pk] and report.total.leads == 3


def test_the_api_answers_the_same_figures_and_names_bad_fields(api, other_api, history):
    ann, _, _ = history
    answer = api.get("/reports/speed-to-lead?since=2026-01-13&until=2026-01-15")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["total"]["leads"] == 6 and body["total"]["touched"] == 5
    assert {row["key"]: row["median_seconds"] for row in body["rows"]}[ann.pk] == 120
    bad = api.get("/reports/speed-to-lead?group_by=planet&time_zone=Mars/Base")
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["errors"]}
    assert {"group_by", "time_zone"} <= fields, bad.json()
    backwards = api.get("/reports/speed-to-lead?since=2026-01-15&until=2026-01-13")
    assert backwards.status_code == 422
    other = other_api.get("/reports/speed-to-lead?since=2026-01-13&until=2026-01-15")
    assert other.status_code == 200 and other.json()["total"]["leads"] == 0


def test_the_page_shows_the_figures_by_person_and_by_hour(workspace, owner, history):
    browser = Client()
    assert browser.login(email=owner.email, password=PASSWORD)
    url = f"/w/{workspace.slug}/reports/speed-to-lead/?range=custom&from=2026-01-13&to=2026-01-15"
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-kpi="leads">6<' in html and 'data-kpi="median">5 min<' in html
    assert "ann@acme-widgets.com" in html
    hours = browser.get(url + "&group=hour&tz=Asia/Kolkata").content.decode()
    assert "15:00–15:59" in hours
    bad = browser.get(url + "&group=hour&tz=Nowhere/Land")
    assert bad.status_code == 200 and "showing UTC instead" in bad.content.decode()
    assert FirstTouch.objects.count() == 6
