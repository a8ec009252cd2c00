"""Take a break: every marketing email sent counts one more ignored in a row; at the
workspace's ``pause_after_ignored`` the person gets a break (and the sender holds their
next email); an open or a click ends it and starts the count again. And exactly once: a
delivery recorded as sent by a run that died before writing its activity is written by
the next run."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from leadflow.contacts.models import Activity
from leadflow.nurture.models import ContactPacing, Delivery, DeliveryStatus, PacingSettings
from leadflow.nurture.services import sending
from leadflow.nurture.services.tracking import sent_record
from leadflow.nurture.tracking import click_token
from leadflow.nurture.tracking_kinds import BREAK_ENDED, BREAK_STARTED, EMAIL_SENT
from tests.nurture import sending_kit
from tests.tracking.helpers import CHROME

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp():
    cache.clear()
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@override_settings(LEADFLOW_NURTURE_BREAK_DAYS=20)
def test_three_ignored_emails_give_a_break_and_a_click_ends_it(smtp, workspace):
    controller, inbox = smtp
    first = sending_kit.message_make(workspace, port=controller.port)
    PacingSettings.objects.filter(workspace=workspace).update(cap_messages=0, pause_after_ignored=3)
    messages = [first] + [
        sending.message_create(
            workspace=workspace,
            name=f"News {n}",
            template_id=first.template_id,
            identity_id=first.identity_id,
        )
        for n in range(3)
    ]
    reader, other = sending_kit.contacts_make(workspace, 2)
    for number, message in enumerate(messages[:3], start=1):
        sending.message_send(message=message, contact_ids=[reader, other])
        run_worker()
        pacing = ContactPacing.objects.get(contact_id=reader)
        assert pacing.ignored_in_row == number
        assert (pacing.paused_until is not None) == (number == 3)
    assert len(inbox.raw) == 6
    pacing = ContactPacing.objects.get(contact_id=reader)
    assert timezone.now() + dt.timedelta(days=19) < pacing.paused_until
    assert pacing.paused_until < timezone.now() + dt.timedelta(days=21)
    (started,) = Activity.objects.filter(contact_id=reader, kind=BREAK_STARTED)
    assert started.data["ignored"] == 3
    assert Activity.objects.filter(contact_id=reader, kind=EMAIL_SENT).count() == 3

    # The fourth email waits: the person is on a break.
    sending.message_send(message=messages[3], contact_ids=[reader])
    run_worker()
    assert len(inbox.raw) == 6
    held = Delivery.objects.get(message=messages[3], contact_id=reader)
    assert held.status == DeliveryStatus.QUEUED and "taking a break" in held.reason

    # They click a link of the first email: engaged again, the break is over.
    delivery = Delivery.objects.get(message=first, contact_id=reader)
    Delivery.objects.filter(pk=delivery.pk).update(handed_at=timezone.now() - dt.timedelta(hours=1))
    link = click_token(workspace.pk, delivery.pk, "https://acme-widgets.com/spring")
    assert Client(headers={"User-Agent": CHROME}).get(f"/t/c/{link}/").status_code == 302
    pacing = ContactPacing.objects.get(contact_id=reader)
    assert (pacing.ignored_in_row, pacing.paused_until) == (0, None)
    assert Activity.objects.filter(contact_id=reader, kind=BREAK_ENDED).count() == 1
    # The other person, who did not engage, stays on their break.
    assert ContactPacing.objects.get(contact_id=other).paused_until is not None


def test_pause_after_ignored_0_never_gives_a_break(smtp, workspace):
    controller, _ = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    PacingSettings.objects.filter(workspace=workspace).update(cap_messages=0, pause_after_ignored=0)
    (reader,) = sending_kit.contacts_make(workspace, 1)
    ContactPacing.objects.create(contact_id=reader, workspace=workspace, ignored_in_row=40)
    sending.message_send(message=message, contact_ids=[reader])
    run_worker()
    pacing = ContactPacing.objects.get(contact_id=reader)
    assert (pacing.ignored_in_row, pacing.paused_until) == (41, None)


def test_a_sent_delivery_a_dead_run_did_not_record_is_recorded_once_by_the_next(smtp, workspace):
    controller, _ = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    PacingSettings.objects.filter(workspace=workspace).update(cap_messages=0)
    contact_ids = sending_kit.contacts_make(workspace, 3)
    sending.message_send(message=message, contact_ids=contact_ids)
    run_worker()
    assert Activity.objects.filter(kind=EMAIL_SENT).count() == 3
    # As a run killed between its "sent" commit and the batch's record leaves them:
    Activity.objects.filter(kind=EMAIL_SENT, contact_id__in=contact_ids[:2]).delete()
    ContactPacing.objects.filter(contact_id__in=contact_ids[:2]).update(ignored_in_row=0)
    Delivery.objects.filter(contact_id__in=contact_ids[:2]).update(record_pending=True)

    sending.message_deliver_run(message_pk=message.pk)
    assert Activity.objects.filter(kind=EMAIL_SENT).count() == 3
    assert set(ContactPacing.objects.values_list("ignored_in_row", flat=True)) == {1}
    assert sent_record(message_pk=message.pk) == 0  # nothing twice
    assert Activity.objects.filter(kind=EMAIL_SENT).count() == 3
