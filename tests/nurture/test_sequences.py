"""Sequences through their services and the real worker: a trigger enrols (once, however
often it is delivered), the steps run in order (email through a real SMTP server, waits,
branches, tags), goals convert and exit conditions take contacts out within the delivery
of the activity that caused them, re-entry follows its rule, and a bad flow is refused
with each bad field named."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_update, contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import (
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
)
from leadflow.nurture.sequence_kinds import SEQUENCE_ENTERED, SEQUENCE_FINISHED
from leadflow.nurture.services.segments import segment_create
from leadflow.nurture.services.sending import message_create
from leadflow.nurture.services.sequence_runner import sequences_run
from leadflow.nurture.services.sequences import (
    sequence_create,
    sequence_enroll,
    sequence_status_set,
    sequence_update,
)
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400
TAGGED_VIP = {
    "version": 1,
    "match": "all",
    "children": [{"field": "tags", "operator": "has_any", "value": ["vip"]}],
}
CUSTOMER = {
    "version": 1,
    "match": "all",
    "children": [{"field": "lifecycle_stage", "operator": "eq", "value": "customer"}],
}
US = {
    "version": 1,
    "match": "all",
    "children": [{"field": "country", "operator": "eq", "value": "US"}],
}


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def add(workspace, **data):
    data.setdefault("consent_status", "granted")
    return contact_upsert(workspace=workspace, actor=Actor.system(), data=data).contact


def active(workspace, actor, **values):
    sequence = sequence_create(workspace=workspace, actor=actor, values=values)
    return sequence_status_set(
        workspace=workspace, actor=actor, sequence_id=sequence.pk, status="active"
    )


def second(message):
    return message_create(
        workspace=message.workspace,
        name="Second",
        template_id=message.template_id,
        identity_id=message.identity_id,
    )


def passed(enrollment):
    return list(
        EnrollmentStep.objects.filter(enrollment=enrollment)
        .order_by("at", "step")
        .values_list("step", "outcome")
    )


def test_a_flow_sends_waits_branches_and_completes(smtp, workspace, owner_actor):
    controller, inbox = smtp
    welcome = sending_kit.message_make(workspace, port=controller.port)
    nudge = second(welcome)
    vip = add(workspace, email="vip@example.net", first_name="Val", tags=["vip"])
    plain = add(workspace, email="plain@example.net", first_name="Pat")
    sequence = active(
        workspace,
        owner_actor,
        name="Onboarding",
        steps=[
            {"id": 1, "type": "email", "message_id": welcome.pk, "next": 2},
            {"id": 2, "type": "wait", "seconds": DAY, "next": 3},
            {"id": 3, "type": "branch", "conditions": TAGGED_VIP, "yes": 4, "no": 5},
            {"id": 4, "type": "tag", "tag": "vip-onboarded", "next": None},
            {"id": 5, "type": "email", "message_id": nudge.pk, "next": None},
        ],
    )
    enrolled = sequence_enroll(
        workspace=workspace,
        actor=owner_actor,
        sequence_id=sequence.pk,
        contact_ids=[vip.pk, plain.pk, vip.pk],
    )
    assert enrolled == sorted([vip.pk, plain.pk])
    run_worker()  # the run scheduled by the enrolment, then the sends it queued
    assert sorted(m["To"] for m in inbox.messages()) == ["plain@example.net", "vip@example.net"]
    waiting = Enrollment.objects.get(contact=plain)
    assert (waiting.step, waiting.waiting, waiting.status) == (2, True, "active")
    assert waiting.wake_at > timezone.now() + dt.timedelta(hours=23)

    # Nothing moves before the wait is over; a day later the branch splits them.
    assert sequences_run().moved == 0
    sequences_run(now=timezone.now() + dt.timedelta(days=1, minutes=1))
    run_worker()
    assert [m["To"] for m in inbox.messages()][2:] == ["plain@example.net"]
    assert "vip-onboarded" in set(vip.tags.values_list("name", flat=True))
    assert "vip-onboarded" not in set(plain.tags.values_list("name", flat=True))
    done = {e.contact_id: e for e in Enrollment.objects.filter(sequence=sequence)}
    assert {e.status for e in done.values()} == {EnrollmentStatus.COMPLETED}
    assert passed(done[vip.pk]) == [(1, ""), (2, ""), (3, "yes"), (4, "")]
    assert passed(done[plain.pk]) == [(1, ""), (2, ""), (3, "no"), (5, "")]
    # Each email once per step: deliveries carry the step's id.
    assert sorted(Delivery.objects.values_list("step", flat=True)) == [1, 1, 5]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    kinds = list(
        Activity.objects.filter(contact=plain, kind__startswith="sequence.")
        .order_by("pk")
        .values_list("kind", "data__outcome")
    )
    assert kinds == [(SEQUENCE_ENTERED, None), (SEQUENCE_FINISHED, "completed")]


def test_a_segment_trigger_enrols_once_and_the_goal_converts_at_once(workspace, owner_actor):
    segment = segment_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "Americans", "kind": "dynamic", "conditions": US},
    )
    sequence = active(
        workspace,
        owner_actor,
        name="Welcome US",
        trigger={"kind": "segment.entered", "segment_id": segment.pk},
        goal=CUSTOMER,
        steps=[{"id": 1, "type": "wait", "seconds": 7 * DAY, "next": None}],
    )
    ann = add(workspace, email="ann@example.net", country="US")
    add(workspace, email="bob@example.net", country="GB")
    run_worker()  # segments, then sequences, then the run
    enrolment = Enrollment.objects.get(sequence=sequence)
    assert enrolment.contact_id == ann.pk
    assert (enrolment.step, enrolment.waiting) == (1, True)
    # The same activity delivered again (a re-run of the subscriber) enrols no one more.
    from leadflow.nurture.services.sequence_runner import activities_react

    activities_react(workspace, list(Activity.objects.filter(kind="segment.entered")))
    assert Enrollment.objects.filter(sequence=sequence).count() == 1

    contact_update(
        workspace=workspace,
        contact_id=ann.pk,
        data={"lifecycle_stage": "customer"},
        actor=owner_actor,
    )
    run_worker()
    enrolment.refresh_from_db()
    assert enrolment.status == EnrollmentStatus.CONVERTED
    assert enrolment.finished_at is not None


def test_exit_conditions_take_contacts_out_and_reentry_follows_its_rule(workspace, owner_actor):
    sequence = active(
        workspace,
        owner_actor,
        name="Trial",
        trigger={"kind": "tag.added", "tag": "trial"},
        exit_conditions=CUSTOMER,
        reentry="after_finish",
        steps=[{"id": 1, "type": "wait", "seconds": 3 * DAY, "next": None}],
    )
    once = active(
        workspace,
        owner_actor,
        name="Once",
        trigger={"kind": "tag.added", "tag": "trial"},
        steps=[{"id": 1, "type": "wait", "seconds": 60, "next": None}],
    )
    kim = add(workspace, email="kim@example.net", tags=["trial"])
    run_worker()
    assert Enrollment.objects.get(sequence=sequence, contact=kim).status == "active"
    contact_update(
        workspace=workspace,
        contact_id=kim.pk,
        data={"lifecycle_stage": "customer"},
        actor=owner_actor,
    )
    run_worker()
    first = Enrollment.objects.get(sequence=sequence, contact=kim)
    assert first.status == EnrollmentStatus.EXITED
    sequences_run(now=timezone.now() + dt.timedelta(minutes=2))
    assert Enrollment.objects.get(sequence=once, contact=kim).status == "completed"

    # Tagged again: "after_finish" enrols a second entry, "never" does not.
    contact_update(
        workspace=workspace,
        contact_id=kim.pk,
        data={"tags": [], "lifecycle_stage": "lead"},
        actor=owner_actor,
    )
    contact_update(
        workspace=workspace, contact_id=kim.pk, data={"tags": ["trial"]}, actor=owner_actor
    )
    run_worker()
    entries = sorted(
        Enrollment.objects.filter(sequence=sequence, contact=kim).values_list("entry", "status")
    )
    assert entries == [(0, "exited"), (1, "active")]
    assert Enrollment.objects.filter(sequence=once, contact=kim).count() == 1


def test_waiting_for_an_activity_goes_on_when_it_happens_or_at_the_timeout(workspace, owner_actor):
    sequence = active(
        workspace,
        owner_actor,
        name="Waiting for a form",
        steps=[
            {
                "id": 1,
                "type": "wait_for",
                "kind": "note.added",
                "timeout_seconds": 2 * DAY,
                "next": 2,
                "timeout_next": 3,
            },
            {"id": 2, "type": "tag", "tag": "did-it", "next": None},
            {"id": 3, "type": "tag", "tag": "timed-out", "next": None},
        ],
    )
    quick = add(workspace, email="quick@example.net")
    slow = add(workspace, email="slow@example.net")
    sequence_enroll(
        workspace=workspace,
        actor=owner_actor,
        sequence_id=sequence.pk,
        contact_ids=[quick.pk, slow.pk],
    )
    run_worker()
    assert set(Enrollment.objects.values_list("waiting", flat=True)) == {True}
    from leadflow.contacts.services import note_add

    note_add(workspace=workspace, contact_id=quick.pk, body="Called back", actor=owner_actor)
    run_worker()  # the note wakes the enrolment at once
    assert "did-it" in set(quick.tags.values_list("name", flat=True))
    assert Enrollment.objects.get(contact=slow).status == "active"
    sequences_run(now=timezone.now() + dt.timedelta(days=2, minutes=1))
    assert "timed-out" in set(slow.tags.values_list("name", flat=True))
    assert passed(Enrollment.objects.get(contact=quick))[0] == (1, "activity")
    assert passed(Enrollment.objects.get(contact=slow))[0] == (1, "timeout")


def test_a_bad_flow_is_refused_with_each_bad_field_named(workspace, other_workspace, owner_actor):
    foreign = sending_kit.message_make(other_workspace, port=25)
    with pytest.raises(ValidationFailed) as failed:
        sequence_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "Broken",
                "trigger": {"kind": "form.submitted", "form_id": "x"},
                "steps": [
                    {"id": 1, "type": "email", "message_id": foreign.pk, "next": 2},
                    {"id": 2, "type": "wait", "seconds": 5, "next": None},
                    {"id": 3, "type": "teleport"},
                    {"id": 4, "type": "wait_until", "weekdays": [7], "time": "25:00"},
                ],
            },
        )
    fields = {error.field for error in failed.value.errors}
    assert fields == {
        "trigger.form_id",
        "steps[0].message_id",
        "steps[1].seconds",
        "steps[2].type",
        "steps[3].weekdays",
        "steps[3].time",
    }
    with pytest.raises(ValidationFailed) as failed:
        sequence_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "Circle",
                "steps": [
                    {"id": 1, "type": "tag", "tag": "a", "next": 2},
                    {"id": 2, "type": "tag", "tag": "b", "next": 1},
                ],
            },
        )
    assert "circle" in failed.value.errors[0].message
    assert not Contact.objects.filter(workspace=workspace).exists()
    # One sequence's message in another's step would be sent in only one of them (a
    # delivery is once per message, contact, step and entry): refused by name; the owner
    # may use it again in its own steps.
    mine = sending_kit.message_make(workspace, port=25)
    email = {"id": 1, "type": "email", "message_id": mine.pk}
    owner = sequence_create(
        workspace=workspace, actor=owner_actor, values={"name": "Owner", "steps": [email]}
    )
    with pytest.raises(ValidationFailed) as failed:
        sequence_create(
            workspace=workspace, actor=owner_actor, values={"name": "Thief", "steps": [email]}
        )
    assert [(e.field, e.message) for e in failed.value.errors] == [
        ("steps[0].message_id", "This message belongs to another sequence: give this step its own.")
    ]
    sequence_update(
        workspace=workspace,
        actor=owner_actor,
        sequence_id=owner.pk,
        values={"steps": [{**email, "next": 2}, {**email, "id": 2}]},
    )


def test_a_step_someone_waits_at_cannot_be_removed(workspace, owner_actor):
    sequence = active(
        workspace,
        owner_actor,
        name="Drip",
        steps=[{"id": 1, "type": "wait", "seconds": DAY, "next": None}],
    )
    kim = add(workspace, email="kim@example.net")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[kim.pk]
    )
    sequences_run()
    with pytest.raises(ValidationFailed) as failed:
        sequence_update(
            workspace=workspace,
            actor=owner_actor,
            sequence_id=sequence.pk,
            values={"steps": [{"id": 2, "type": "tag", "tag": "x", "next": None}]},
        )
    assert failed.value.errors[0].field == "steps"


def test_wait_until_is_the_next_wall_time_across_daylight_saving():
    from zoneinfo import ZoneInfo

    from leadflow.nurture.zones import next_wall_time

    berlin = ZoneInfo("Europe/Berlin")
    utc = dt.UTC
    # Saturday: the next Monday 09:00 in Berlin (winter time, UTC+1).
    saturday = dt.datetime(2026, 1, 10, 12, 0, tzinfo=utc)
    assert next_wall_time(saturday, berlin, [0], dt.time(9, 0)) == dt.datetime(
        2026, 1, 12, 8, 0, tzinfo=utc
    )
    # Sunday 29 March 2026, 02:30 does not exist in Berlin (02:00 → 03:00): the jump.
    before_spring = dt.datetime(2026, 3, 28, 12, 0, tzinfo=utc)
    assert next_wall_time(before_spring, berlin, [6], dt.time(2, 30)) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=utc
    )
    # Sunday 25 October 2026, 02:30 happens twice: the first (summer time, UTC+2).
    before_autumn = dt.datetime(2026, 10, 24, 12, 0, tzinfo=utc)
    assert next_wall_time(before_autumn, berlin, [6], dt.time(2, 30)) == dt.datetime(
        2026, 10, 25, 0, 30, tzinfo=utc
    )
    # Today's time already passed: next week's.
    monday_noon = dt.datetime(2026, 1, 12, 11, 0, tzinfo=utc)
    assert next_wall_time(monday_noon, berlin, [0], dt.time(9, 0)) == dt.datetime(
        2026, 1, 19, 8, 0, tzinfo=utc
    )


def test_a_wait_until_step_sleeps_until_the_contacts_own_morning(workspace, owner_actor):
    sequence = active(
        workspace,
        owner_actor,
        name="Monday mornings",
        steps=[
            {"id": 1, "type": "wait_until", "weekdays": [0], "time": "09:00", "next": 2},
            {"id": 2, "type": "tag", "tag": "monday", "next": None},
        ],
    )
    tokyo = add(workspace, email="jp@example.net", phone="+81 3-1234-5678")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[tokyo.pk]
    )
    sunday = dt.datetime(2026, 1, 11, 12, 0, tzinfo=dt.UTC)
    Enrollment.objects.update(wake_at=sunday, waiting_since=sunday)
    sequences_run(now=sunday)
    enrolment = Enrollment.objects.get()
    # Monday 09:00 in Tokyo (UTC+9) is Monday 00:00 UTC.
    assert enrolment.wake_at == dt.datetime(2026, 1, 12, 0, 0, tzinfo=dt.UTC)
    sequences_run(now=dt.datetime(2026, 1, 12, 0, 1, tzinfo=dt.UTC))
    assert "monday" in set(tokyo.tags.values_list("name", flat=True))


def test_two_runs_at_once_never_move_the_same_enrolment(workspace, owner_actor):
    import threading

    from django.db import connection

    sequence = active(
        workspace,
        owner_actor,
        name="Race",
        steps=[{"id": 1, "type": "tag", "tag": "raced", "next": None}],
    )
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"r{i}@example.net") for i in range(300)]
    )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True))
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=ids
    )
    claimed = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            claimed.append(sequences_run(limit=200).claimed)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while sequences_run().claimed:
        pass
    assert sum(claimed) <= 300
    assert Enrollment.objects.filter(status="completed").count() == 300
    assert EnrollmentStep.objects.count() == 300
    # One tag.added per contact: no enrolment was moved twice.
    assert Activity.objects.filter(kind="tag.added", data__tag="raced").count() == 300


def test_a_paused_sequence_holds_everyone_where_they_stand(workspace, owner_actor):
    sequence = active(
        workspace,
        owner_actor,
        name="Pausable",
        steps=[{"id": 1, "type": "tag", "tag": "moved", "next": None}],
    )
    kim = add(workspace, email="kim@example.net")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[kim.pk]
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="paused"
    )
    assert sequences_run().claimed == 0
    assert Enrollment.objects.get().status == "active"
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )
    sequences_run()
    assert Enrollment.objects.get().status == "completed"


def test_eight_sequences_sending_at_once_never_pass_the_cap(smtp, workspace, owner_actor):
    """Eight active sequences, each with its own email, enrol the same five people; eight
    senders run at once (threads, own connections) through a real SMTP server: each person
    gets exactly the cap (3 in 7 days), the other deliveries wait, queued, with the reason."""
    import threading

    from django.db import connection

    from leadflow.nurture.services.sending import message_deliver_run

    controller, inbox = smtp
    first = sending_kit.message_make(workspace, port=controller.port)
    messages = [first] + [
        message_create(
            workspace=workspace,
            name=f"Message {number}",
            template_id=first.template_id,
            identity_id=first.identity_id,
        )
        for number in range(1, 8)
    ]
    people = [add(workspace, email=f"cap{i}@example.net").pk for i in range(5)]
    for number, message in enumerate(messages):
        sequence = active(
            workspace,
            owner_actor,
            name=f"Drip {number}",
            steps=[{"id": 1, "type": "email", "message_id": message.pk, "next": None}],
        )
        sequence_enroll(
            workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=people
        )
    sequences_run()
    assert Delivery.objects.filter(status="queued").count() == 40
    start = threading.Barrier(len(messages))
    errors: list[BaseException] = []

    def sender(message) -> None:
        try:
            start.wait()
            message_deliver_run(message_pk=message.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(message,)) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    received = [m["To"] for m in inbox.messages()]
    for pk in people:
        address = Contact.objects.get(pk=pk).email
        assert received.count(address) == 3, address
    held = Delivery.objects.filter(status="queued")
    assert held.count() == 40 - 15
    assert all("cap" in reason.lower() for reason in held.values_list("reason", flat=True))


def test_owner_steps_notify_the_owner_and_give_sales_a_follow_up(workspace, owner_actor, owner):
    from leadflow.core.models import Notification
    from leadflow.sales.models import FollowUp

    sequence = active(
        workspace,
        owner_actor,
        name="Hand-raisers",
        steps=[
            {"id": 1, "type": "notify_owner", "title": "Hot again", "next": 2},
            {"id": 2, "type": "followup", "title": "Call back", "due_hours": 4, "kind": "call"},
        ],
    )
    owned = add(workspace, email="owned@example.net", first_name="Olga", owner_id=owner.pk)
    orphan = add(workspace, email="orphan@example.net")
    sequence_enroll(
        workspace=workspace,
        actor=owner_actor,
        sequence_id=sequence.pk,
        contact_ids=[owned.pk, orphan.pk],
    )
    sequences_run()
    (note,) = Notification.objects.filter(kind="sequence")
    assert (note.user_id, note.contact_id, note.title) == (owner.pk, owned.pk, "Hot again: Olga")
    (followup,) = FollowUp.objects.all()
    assert (followup.contact_id, followup.assignee_id, followup.title) == (
        owned.pk,
        owner.pk,
        "Call back",
    )
    assert (
        dt.timedelta(hours=3, minutes=59)
        < followup.due_at - timezone.now()
        <= dt.timedelta(hours=4)
    )
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"completed"}


def test_a_step_the_data_no_longer_allows_is_marked_failed_and_the_contacts_go_on(
    workspace, owner_actor, make_member
):
    from leadflow.core.models import Membership

    seller = make_member("sales")
    sequence = active(
        workspace,
        owner_actor,
        name="Assign",
        steps=[
            {"id": 1, "type": "owner", "user_id": seller.user_id, "next": 2},
            {"id": 2, "type": "tag", "tag": "after", "next": None},
        ],
    )
    kim = add(workspace, email="kim@example.net")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[kim.pk]
    )
    Membership.objects.filter(pk=seller.pk).delete()  # the member left meanwhile
    sequences_run()
    enrolment = Enrollment.objects.get()
    assert enrolment.status == "completed"
    assert passed(enrolment) == [(1, "failed"), (2, "")]
    kim.refresh_from_db()
    assert kim.owner_id is None
    assert "after" in set(kim.tags.values_list("name", flat=True))
