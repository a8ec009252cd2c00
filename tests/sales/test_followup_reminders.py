"""The follow-up reminder sweep: each due reminder goes once, in the app at once and by
email through a real SMTP server, however often and however concurrently the sweep runs;
nothing goes for a follow-up done, not yet due, or on a lead the assignee can no longer
see. A lead's new owner gets an in-app notification in the assignment's transaction."""

import datetime as dt
import threading

import pytest
from django.db import connection

from leadflow.contacts.services import contact_update
from leadflow.core.models import Notification, NotificationKind
from leadflow.core.notifications import notification_unread_count
from leadflow.sales.models import FollowUp
from leadflow.sales.services import followup_complete, followup_create, leads_reassign
from leadflow.sales.tasks import followup_reminders_send
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)


def schedule(workspace, actor, contact, title, due, **data):
    return followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": title, "due_at": due, **data},
        actor=actor,
    )


def test_a_due_reminder_goes_once_in_the_app_and_by_email(
    smtp,  # noqa: F811
    workspace,
    owner,
    owner_actor,
    salesperson,
    lead,
):
    ann = salesperson("ann")
    contact = lead(first_name="Kim", last_name="Lee", owner_id=ann.pk)
    due = schedule(
        workspace,
        owner_actor,
        contact,
        "Call Kim",
        "2026-01-15T08:30",
        assignee_id=ann.pk,
        notes="Ask about the budget",
    )
    later = schedule(
        workspace, owner_actor, contact, "Later", "2026-01-15T10:00", assignee_id=ann.pk
    )
    early = schedule(
        workspace,
        owner_actor,
        contact,
        "Early reminder",
        "2026-01-20T10:00",
        assignee_id=ann.pk,
        reminder_at="2026-01-15T08:00",
    )
    done = schedule(workspace, owner_actor, contact, "Done", "2026-01-15T08:00", assignee_id=ann.pk)
    followup_complete(workspace=workspace, followup_id=done.pk, actor=owner_actor)

    assert followup_reminders_send.call(now=NOW) == 2
    assert followup_reminders_send.call(now=NOW) == 0  # a second sweep finds nothing
    assert set(FollowUp.objects.filter(reminded_at=NOW).values_list("pk", flat=True)) == {
        due.pk,
        early.pk,
    }
    assert FollowUp.objects.get(pk=later.pk).reminded_at is None
    notes = Notification.objects.filter(user=ann, kind=NotificationKind.FOLLOWUP_DUE)
    assert sorted(notes.values_list("title", flat=True)) == [
        "Follow-up due: Call Kim",
        "Follow-up due: Early reminder",
    ]
    assert notification_unread_count(workspace, ann) == 2

    assert smtp.messages == []  # the emails go from the worker, after the commit
    run_worker()
    run_worker()  # a second run sends nothing more
    messages = smtp.to(ann.email)
    assert sorted(m["Subject"] for m in messages) == [
        "Follow-up due: Call Kim",
        "Follow-up due: Early reminder",
    ]
    body = text_of(next(m for m in messages if m["Subject"] == "Follow-up due: Call Kim"))
    assert "Call with Kim Lee, due Jan 15, 2026 08:30 (UTC)." in body
    assert "Ask about the budget" in body
    assert f"/w/{workspace.slug}/contacts/{contact.pk}/" in body
    assert smtp.to(owner.email) == []

    # Moving the due time makes the reminder due again, once.
    from leadflow.sales.services import followup_update

    followup_update(
        workspace=workspace,
        followup_id=due.pk,
        data={"due_at": "2026-01-16T08:30"},
        actor=owner_actor,
    )
    assert followup_reminders_send.call(now=NOW) == 0
    assert followup_reminders_send.call(now=NOW + dt.timedelta(days=1)) == 2  # due and later
    assert followup_reminders_send.call(now=NOW + dt.timedelta(days=1)) == 0


def test_no_reminder_about_a_lead_the_assignee_can_no_longer_see(
    smtp,  # noqa: F811
    workspace,
    owner_actor,
    salesperson,
    lead,
):
    ann, bob = salesperson("ann"), salesperson("bob")
    contact = lead(owner_id=ann.pk)
    schedule(workspace, owner_actor, contact, "Call", "2026-01-15T08:30", assignee_id=ann.pk)
    contact_update(
        workspace=workspace, contact_id=contact.pk, data={"owner_id": bob.pk}, actor=owner_actor
    )
    assert followup_reminders_send.call(now=NOW) == 1  # claimed, but tells nobody
    run_worker()
    assert not Notification.objects.filter(user=ann).exists()
    assert smtp.messages == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers")
def test_concurrent_sweeps_remind_each_follow_up_once(workspace, owner, owner_actor, lead):
    contact = lead()
    for number in range(40):
        schedule(workspace, owner_actor, contact, f"F{number}", "2026-01-15T08:00")
    counts, barrier = [], threading.Barrier(4)

    def sweep():
        barrier.wait()
        try:
            counts.append(followup_reminders_send.call(now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 40
    assert Notification.objects.filter(user=owner, kind=NotificationKind.FOLLOWUP_DUE).count() == 40


def test_a_new_owner_gets_an_in_app_notification_in_the_assignments_transaction(
    workspace, owner, owner_actor, salesperson, lead
):
    ann = salesperson("ann")
    contact = lead(first_name="Kim", last_name="Lee")
    leads_reassign(
        workspace=workspace, contact_ids=[contact.pk], owner_id=ann.pk, actor=owner_actor
    )
    [note] = Notification.objects.filter(user=ann)
    assert note.kind == NotificationKind.ASSIGNED and note.title == "New lead for you: Kim Lee"
    assert note.link == f"/w/{workspace.slug}/contacts/{contact.pk}/"
    assert note.contact_id == contact.pk and note.read_at is None
    # Whoever takes a lead himself is not told.
    leads_reassign(
        workspace=workspace, contact_ids=[contact.pk], owner_id=owner.pk, actor=owner_actor
    )
    assert not Notification.objects.filter(user=owner).exists()
