"""Speed to lead: routing starts a lead's first-touch clock with its deadline (in business
hours, across time zones and daylight-saving changes), a person's call, meeting or email
stops it once, and the sweep reminds and escalates a missed deadline once, with a
controllable clock."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.models import Membership, Notification
from leadflow.sales.hours import working_deadline
from leadflow.sales.kinds import FIRST_TOUCH_ESCALATED, FIRST_TOUCH_OVERDUE
from leadflow.sales.models import (
    Escalation,
    FirstTouch,
    FirstTouchNotice,
    PersonalEmail,
    Strategy,
    Trigger,
)
from leadflow.sales.services import leads_reassign, leads_route, personal_email_send
from leadflow.sales.services.first_touch import first_touch_deadlines_process
from leadflow.sales.subscribers import activities_touch
from leadflow.sales.tasks import first_touch_notify
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401
from tests.sales.conftest import OFFICE_HOURS, WEDNESDAY_10_UTC

MINUTE = dt.timedelta(minutes=1)
NEW_YORK = ZoneInfo("America/New_York")


# --- the deadline in working time --------------------------------------------------------------


def test_business_minutes_skip_the_night_and_the_weekend():
    friday_1650 = dt.datetime(2026, 1, 16, 16, 50, tzinfo=dt.UTC)
    due = working_deadline(OFFICE_HOURS, dt.UTC, friday_1650, 15)
    assert due == dt.datetime(2026, 1, 19, 9, 5, tzinfo=dt.UTC)  # Monday: 10 + 5 minutes
    # Inside the day: plain minutes; no hours at all: plain minutes.
    assert (
        working_deadline(OFFICE_HOURS, dt.UTC, WEDNESDAY_10_UTC, 15)
        == WEDNESDAY_10_UTC + 15 * MINUTE
    )
    assert working_deadline({}, dt.UTC, friday_1650, 15) == friday_1650 + 15 * MINUTE
    # Lunch breaks count as off.
    split = {"wed": [["09:00", "12:00"], ["13:00", "17:00"]]}
    before_lunch = dt.datetime(2026, 1, 14, 11, 55, tzinfo=dt.UTC)
    assert working_deadline(split, dt.UTC, before_lunch, 15) == dt.datetime(
        2026, 1, 14, 13, 10, tzinfo=dt.UTC
    )


def test_a_daylight_saving_change_moves_the_window_with_the_wall_clock():
    # New York springs forward on Sunday 8 March 2026: Friday 16:55 EST + 15 business
    # minutes is Monday 09:10 EDT, which is 13:10 UTC (it was 14:xx UTC the week before).
    friday = dt.datetime(2026, 3, 6, 16, 55, tzinfo=NEW_YORK)
    due = working_deadline(OFFICE_HOURS, NEW_YORK, friday.astimezone(dt.UTC), 15)
    assert due == dt.datetime(2026, 3, 9, 13, 10, tzinfo=dt.UTC)
    assert due.astimezone(NEW_YORK).hour == 9
    week_before = dt.datetime(2026, 2, 27, 16, 55, tzinfo=NEW_YORK).astimezone(dt.UTC)
    assert working_deadline(OFFICE_HOURS, NEW_YORK, week_before, 15) == dt.datetime(
        2026, 3, 2, 14, 10, tzinfo=dt.UTC
    )


# --- starting and stopping the clock -----------------------------------------------------------


@pytest.fixture
def routed(workspace, salesperson, team_of, rule, lead):
    """routed(people=None, **rule fields) -> (contact, clock): a lead routed round robin in
    a team of ``people`` (default: Ann, office hours in New York) at ``WEDNESDAY_10_UTC``,
    to the next member outside hours when nobody is in them."""

    def make(people=None, **fields):
        members = people or [
            (salesperson("ann"), {"working_hours": OFFICE_HOURS, "time_zone": "America/New_York"})
        ]
        team, _ = team_of("Inbound", members)
        rule(Strategy.ROUND_ROBIN, team=team, **{"fallback": "next_member", **fields})
        contact = lead(first_name="Kim")
        leads_route(workspace=workspace, triggers={contact.pk: Trigger.MQL}, now=WEDNESDAY_10_UTC)
        return Contact.objects.get(pk=contact.pk), FirstTouch.objects.filter(
            contact=contact
        ).first()

    return make


def _touch(workspace, contact, user, kind="call.logged", at=None):
    membership = Membership.objects.get(workspace=workspace, user=user)
    return activity_record(
        workspace=workspace,
        contact=contact,
        kind=kind,
        actor=Actor.for_user(user, membership),
        data={"outcome": "connected"},
        occurred_at=at,
    )


def test_routing_starts_the_clock_with_the_deadline_in_the_owners_hours(routed):
    # 10:00 UTC on a winter Wednesday is 05:00 in New York: the deadline is 09:15 there.
    contact, clock = routed(first_touch_minutes=15)
    assert clock.owner_id == contact.owner_id is not None
    assert clock.started_at == WEDNESDAY_10_UTC
    assert clock.due_at == dt.datetime(2026, 1, 14, 14, 15, tzinfo=dt.UTC)
    assert clock.escalate_at == clock.due_at + 15 * MINUTE
    assert clock.escalation == Escalation.NOTIFY_TEAM_LEAD


def test_plain_minutes_when_the_rule_says_so_and_no_deadline_without_minutes(routed, workspace):
    contact, clock = routed(first_touch_minutes=15, first_touch_business_hours=False)
    assert clock.due_at == WEDNESDAY_10_UTC + 15 * MINUTE
    FirstTouch.objects.all().delete()
    # Without a deadline the response time is still measured.
    rule = clock.rule
    rule.first_touch_minutes = None
    rule.save()
    Contact.objects.filter(pk=contact.pk).update(owner=None)
    leads_route(workspace=workspace, triggers={contact.pk: Trigger.MQL}, now=WEDNESDAY_10_UTC)
    clock = FirstTouch.objects.get(contact=contact)
    assert clock.due_at is None and clock.escalate_at is None


def test_one_running_clock_per_lead_and_none_for_a_reassignment_by_hand(
    routed, workspace, owner_actor, salesperson
):
    contact, _ = routed(first_touch_minutes=15)
    bob = salesperson("bob")
    leads_reassign(
        workspace=workspace, contact_ids=[contact.pk], actor=owner_actor, owner_id=bob.pk
    )
    Contact.objects.filter(pk=contact.pk).update(owner=None)
    leads_route(workspace=workspace, triggers={contact.pk: Trigger.MQL}, now=WEDNESDAY_10_UTC)
    assert FirstTouch.objects.filter(contact=contact).count() == 1


def test_the_first_touch_by_a_person_stops_the_clock_once(routed, workspace):
    contact, clock = routed(first_touch_minutes=15)
    ann = contact.owner
    system_note = activity_record(
        workspace=workspace, contact=contact, kind="email.sent", actor=Actor.system("nurture")
    )
    early = _touch(workspace, contact, ann, at=WEDNESDAY_10_UTC - MINUTE)  # before the start
    first = _touch(workspace, contact, ann, kind="meeting.logged", at=WEDNESDAY_10_UTC + 7 * MINUTE)
    later = _touch(workspace, contact, ann, at=WEDNESDAY_10_UTC + 9 * MINUTE)
    activities_touch([system_note, early, later, first])  # any order, delivered twice
    activities_touch([later])
    clock.refresh_from_db()
    assert clock.touched_at == WEDNESDAY_10_UTC + 7 * MINUTE
    assert clock.touch_kind == "meeting.logged" and clock.touched_by_id == ann.pk
    assert clock.response_seconds == 7 * 60


# --- the sweep ----------------------------------------------------------------------------------


def test_a_missed_deadline_is_reminded_once_then_escalated_once(routed, workspace, owner):
    contact, clock = routed(first_touch_minutes=15, first_touch_business_hours=False)
    due = clock.due_at
    assert first_touch_deadlines_process(now=due - MINUTE) == {"reminded": 0, "escalated": 0}
    assert first_touch_deadlines_process(now=due) == {"reminded": 1, "escalated": 0}
    assert first_touch_deadlines_process(now=due + MINUTE) == {"reminded": 0, "escalated": 0}
    done = first_touch_deadlines_process(now=clock.escalate_at + MINUTE)
    assert done == {"reminded": 0, "escalated": 1}
    assert first_touch_deadlines_process(now=clock.escalate_at + 9 * MINUTE) == {
        "reminded": 0,
        "escalated": 0,
    }
    kinds = list(
        Activity.objects.filter(contact=contact, kind__startswith="first_touch.")
        .values_list("kind", flat=True)
        .order_by("pk")
    )
    assert kinds == [FIRST_TOUCH_OVERDUE, FIRST_TOUCH_ESCALATED]
    # In the app at once: the owner at the deadline, then (no team lead) the owner/admins.
    told = Notification.objects.filter(kind="first_touch_overdue").order_by("pk")
    assert [(n.user_id, n.title) for n in told] == [
        (contact.owner_id, "First touch overdue: Kim"),
        (owner.pk, "Lead still untouched: Kim"),
    ]


def test_a_touch_not_yet_delivered_to_the_subscriber_still_spares_the_reminder(routed, workspace):
    contact, clock = routed(first_touch_minutes=15, first_touch_business_hours=False)
    _touch(workspace, contact, contact.owner, at=clock.due_at - MINUTE)  # not delivered
    assert first_touch_deadlines_process(now=clock.escalate_at) == {"reminded": 0, "escalated": 0}
    clock.refresh_from_db()
    assert clock.touched_at == clock.due_at - MINUTE and clock.reminded_at is None


def test_escalation_by_reassignment_gives_the_lead_to_someone_else(routed, workspace, salesperson):
    ann, bob = salesperson("ann"), salesperson("bob")
    contact, clock = routed(
        people=[ann, bob],
        first_touch_minutes=15,
        first_touch_business_hours=False,
        breach_escalation=Escalation.REASSIGN,
        escalate_after_minutes=5,
    )
    first_owner = contact.owner_id
    first_touch_deadlines_process(now=clock.escalate_at)
    contact.refresh_from_db()
    assert contact.owner_id not in (None, first_owner)
    escalated = Activity.objects.get(contact=contact, kind=FIRST_TOUCH_ESCALATED)
    assert escalated.data["action"] == "reassign" and escalated.data["owner_id"] == contact.owner_id


@pytest.mark.django_db(transaction=True)
def test_the_owner_and_then_the_team_lead_are_emailed_once_each(
    smtp,  # noqa: F811
    routed,
    workspace,
    salesperson,
):
    ann, lee = salesperson("ann"), salesperson("lee")
    contact, clock = routed(
        people=[ann, (lee, {"is_lead": True, "away": True})],
        first_touch_minutes=15,
        first_touch_business_hours=False,
    )
    assert contact.owner_id == ann.pk
    first_touch_deadlines_process(now=clock.escalate_at)
    for _ in range(2):  # a retried task sends nothing more
        first_touch_notify.call(clock.pk, "overdue")
        first_touch_notify.call(clock.pk, "escalated")
    [reminder] = smtp.to(ann.email)
    assert reminder["Subject"] == "First touch overdue: Kim"
    assert f"/contacts/{contact.pk}/" in text_of(reminder)
    [escalation] = smtp.to(lee.email)
    assert escalation["Subject"] == "Lead still untouched: Kim"
    assert FirstTouchNotice.objects.count() == 2
    # Touched since: nothing more is sent, even for a kind not sent yet.
    FirstTouchNotice.objects.all().delete()
    _touch(workspace, contact, ann, at=clock.escalate_at)
    activities_touch(list(Activity.objects.filter(kind="call.logged")))
    assert first_touch_notify.call(clock.pk, "overdue") == 0


@pytest.mark.django_db(transaction=True)
def test_sweeps_running_at_once_remind_once(routed):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no concurrent sweep to race")
    _, clock = routed(first_touch_minutes=15, first_touch_business_hours=False)
    results, barrier = [], threading.Barrier(4)

    def sweep():
        barrier.wait()
        try:
            results.append(first_touch_deadlines_process(now=clock.due_at))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result["reminded"] for result in results) == 1
    assert Activity.objects.filter(kind=FIRST_TOUCH_OVERDUE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_personal_email_the_mail_server_accepted_is_the_first_touch(
    smtp,  # noqa: F811
    routed,
    workspace,
):
    contact, clock = routed(first_touch_minutes=15, first_touch_business_hours=False)
    ann = contact.owner
    actor = Actor.for_user(ann, Membership.objects.get(workspace=workspace, user=ann))
    email = personal_email_send(
        workspace=workspace, contact_id=contact.pk, subject="Hi", body="Hello Kim", actor=actor
    ).email
    run_worker()  # sends it; email.sent by Ann is announced, and the subscriber stops the clock
    run_worker()
    [message] = smtp.to(contact.email)
    assert message["Subject"] == "Hi"
    clock.refresh_from_db()
    sent = Activity.objects.get(contact=contact, kind="email.sent")
    assert (clock.touch_kind, clock.touched_by_id, clock.touched_at) == (
        "email.sent",
        ann.pk,
        sent.occurred_at,
    )
    assert PersonalEmail.objects.get(pk=email.pk).status == "sent"
