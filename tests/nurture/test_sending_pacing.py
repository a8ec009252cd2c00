"""The sender keeps to each person's pacing and preferences, through a real SMTP server:
the workspace's cap across messages, the person's own rhythm, their pause and quiet hours
hold a delivery (still queued, not claimed before the time it may go, the reason said);
a topic opted out of skips it; a place under the cap is given back when nothing was sent."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.nurture.models import (
    ContactPreferences,
    Delivery,
    MarketingSend,
    PacingSettings,
    Topic,
    TopicOptOut,
)
from leadflow.nurture.services import sending
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def second_message(first):
    return sending.message_create(
        workspace=first.workspace,
        name="Summer news",
        template_id=first.template_id,
        identity_id=first.identity_id,
    )


def test_the_cap_holds_the_next_message_until_a_place_frees(smtp, workspace):
    controller, inbox = smtp
    first = sending_kit.message_make(workspace, port=controller.port)
    PacingSettings.objects.filter(workspace=workspace).update(cap_messages=1, cap_days=7)
    ann, bob = sending_kit.contacts_make(workspace, 2)
    sending.message_send(message=first, contact_ids=[ann])
    run_worker()
    assert len(inbox.raw) == 1
    second = second_message(first)
    sending.message_send(message=second, contact_ids=[ann, bob])
    run_worker()
    assert sorted(recipients[0] for _, recipients in inbox.raw) == [
        "person0@example.net",
        "person1@example.net",
    ]  # bob had room; ann did not
    held = Delivery.objects.get(message=second, contact_id=ann)
    sent_first = Delivery.objects.get(message=first, contact_id=ann).sent_at
    assert held.status == "queued" and held.lease_owner == ""
    assert held.lease_expires_at == MarketingSend.objects.get(
        contact_id=ann
    ).sent_at + dt.timedelta(days=7)
    assert abs(held.lease_expires_at - (sent_first + dt.timedelta(days=7))) < dt.timedelta(
        seconds=5
    )
    assert "cap" in held.reason
    # not claimed again before its time: another run sends nothing more
    run_worker()
    assert len(inbox.raw) == 2
    assert MarketingSend.objects.filter(contact_id=ann).count() == 1


def test_a_persons_rhythm_pause_and_topic_are_honoured(smtp, workspace):
    controller, inbox = smtp
    first = sending_kit.message_make(workspace, port=controller.port)  # cap 3 in 7 days
    weekly, paused, opted_out, free = sending_kit.contacts_make(workspace, 4)
    now = timezone.now()
    ContactPreferences.objects.create(workspace=workspace, contact_id=weekly, frequency="weekly")
    ContactPreferences.objects.create(
        workspace=workspace, contact_id=paused, paused_until=now + dt.timedelta(days=30)
    )
    events = Topic.objects.create(workspace=workspace, name="Events")
    TopicOptOut.objects.create(workspace=workspace, contact_id=opted_out, topic=events)
    sending.message_send(message=first, contact_ids=[weekly, free])
    run_worker()
    about_events = sending.message_create(
        workspace=workspace,
        name="Events",
        template_id=first.template_id,
        identity_id=first.identity_id,
        subscription_topic_id=events.pk,
    )
    sending.message_send(message=about_events, contact_ids=[weekly, paused, opted_out, free])
    run_worker()
    got = sorted(recipients[0] for _, recipients in inbox.raw)
    assert got == ["person0@example.net", "person3@example.net", "person3@example.net"]
    by_contact = {row.contact_id: row for row in Delivery.objects.filter(message=about_events)}
    assert by_contact[weekly].status == "queued" and "cap" in by_contact[weekly].reason
    assert by_contact[weekly].lease_expires_at > now + dt.timedelta(days=6)
    assert by_contact[paused].status == "queued" and "paused" in by_contact[paused].reason
    assert by_contact[paused].lease_expires_at == now + dt.timedelta(days=30)
    assert by_contact[opted_out].status == "skipped" and "topic" in by_contact[opted_out].reason
    assert by_contact[free].status == "sent"
    # the skipped and the held took no place under the cap
    assert not MarketingSend.objects.filter(contact_id__in=[paused, opted_out]).exists()


def test_quiet_hours_where_the_person_is_hold_the_message_until_morning(smtp, workspace):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port, quiet=True)
    now = timezone.now()
    # A window around this moment in the workspace's zone (UTC): now is inside it.
    start = (now - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + dt.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    PacingSettings.objects.filter(workspace=workspace).update(quiet_start=start, quiet_end=end)
    (person,) = sending_kit.contacts_make(workspace, 1)
    sending.message_send(message=message, contact_ids=[person])
    run_worker()
    assert inbox.raw == []
    held = Delivery.objects.get(message=message)
    assert held.status == "queued" and "quiet hours" in held.reason
    opens = (now + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    assert held.lease_expires_at == opens
    assert not MarketingSend.objects.exists()


def test_the_email_carries_each_persons_own_offer_code_given_once(smtp, workspace):
    from leadflow.contacts.models import Tag
    from leadflow.core.actors import Actor
    from leadflow.nurture.models import MarketingTemplate, OfferCode
    from leadflow.nurture.services.offers import offer_create

    controller, inbox = smtp
    first = sending_kit.message_make(workspace, port=controller.port)
    MarketingTemplate.objects.filter(pk=first.template_id).update(
        html_body='<p>Your code: {{ offer.code|default:"none today" }} ({{ offer.name }})</p>',
        text_body="",
    )
    actor = Actor.system("tests")
    general = offer_create(
        workspace=workspace, actor=actor, data={"name": "Welcome", "prefix": "HI-"}
    )
    garden = offer_create(
        workspace=workspace,
        actor=actor,
        data={"name": "Garden", "prefix": "GRN-", "interests": ["garden"]},
    )
    gardener, other = sending_kit.contacts_make(workspace, 2)
    Tag.objects.create(workspace=workspace, name="garden").contacts.add(gardener)
    best = sending.message_create(
        workspace=workspace,
        name="Best offers",
        template_id=first.template_id,
        identity_id=first.identity_id,
        offer_best=True,
    )
    sending.message_send(message=best, contact_ids=[gardener, other])
    run_worker()
    bodies = {
        received["To"]: received.get_body(("plain",)).get_content() for received in inbox.messages()
    }
    codes = {row.contact_id: row.code for row in OfferCode.objects.filter(contact__isnull=False)}
    assert codes[gardener].startswith("GRN-") and codes[other].startswith("HI-")
    assert (
        codes[gardener] in bodies["person0@example.net"]
        and "(Garden)" in bodies["person0@example.net"]
    )
    assert codes[other] in bodies["person1@example.net"]
    # a message with one offer gives the same person the same code again
    fixed = sending.message_create(
        workspace=workspace,
        name="Garden again",
        template_id=first.template_id,
        identity_id=first.identity_id,
        offer_id=garden.pk,
    )
    sending.message_send(message=fixed, contact_ids=[gardener])
    run_worker()
    assert OfferCode.objects.filter(offer=garden, contact_id=gardener).count() == 1
    assert inbox.messages()[-1].get_body(("plain",)).get_content().count(codes[gardener]) == 1
    assert general.codes.count() == 1
