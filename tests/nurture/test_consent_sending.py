"""Sending only with a lawful basis for the message's purpose (the consent ledger): a
newsletter goes to contacts whose newsletter consent is confirmed (double opt-in), and is
skipped, with the reason, for the others; the statuses are read once per batch; an
unsubscribe from it withdraws the newsletter purpose as well as marketing email."""

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.consent import consent_statuses
from leadflow.contacts.models import Contact
from leadflow.contacts.services import ConsentGiven, consent_record_many
from leadflow.core.actors import Actor
from leadflow.nurture.links import UnsubscribeLink, unsubscribe_url
from leadflow.nurture.models import Delivery, Message
from leadflow.nurture.services import sending
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)
SYSTEM = Actor.system("tests")


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def ledger(workspace, *rows):
    consent_record_many(
        workspace=workspace,
        entries=[
            (contact_id, ConsentGiven(purpose=purpose, status=status, source="api"))
            for contact_id, purpose, status in rows
        ],
        actor=SYSTEM,
    )


def test_a_newsletter_goes_only_to_contacts_who_confirmed_it(smtp, workspace):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    Message.objects.filter(pk=message.pk).update(topic="newsletter")
    message.refresh_from_db()
    confirmed, granted, marketing_only, withdrawn, *more = sending_kit.contacts_make(
        workspace, 12, consent=lambda i: "unknown"
    )
    ledger(
        workspace,
        (confirmed, "newsletter", "granted"),
        (confirmed, "newsletter", "confirmed"),
        (granted, "newsletter", "granted"),
        (marketing_only, "marketing_email", "confirmed"),
        (withdrawn, "newsletter", "confirmed"),
        (withdrawn, "newsletter", "withdrawn"),
        *[(pk, "newsletter", "confirmed") for pk in more],
    )
    assert sending.message_send(message=message, contact_ids=[confirmed, granted]) == 2
    assert sending.message_send(message=message, contact_ids=[marketing_only, withdrawn, *more])

    with CaptureQueriesContext(connection) as queries:
        result = sending.message_deliver_run(message_pk=message.pk)
    assert (result.sent, result.skipped) == (1 + len(more), 3)
    ledger_reads = [q for q in queries.captured_queries if "contacts_consententry" in q["sql"]]
    assert len(ledger_reads) == 1  # one set-based read for the batch, not one per contact
    emails = dict(Contact.objects.filter(workspace=workspace).values_list("pk", "email"))
    received = sorted(rcpt for _, rcpts in inbox.raw for rcpt in rcpts)
    assert received == sorted(emails[pk] for pk in [confirmed, *more])
    skipped = dict(
        Delivery.objects.filter(message=message, status="skipped").values_list(
            "contact_id", "reason"
        )
    )
    assert set(skipped) == {granted, marketing_only, withdrawn}
    assert skipped[granted] == "No consent for newsletter (consent: granted)."
    assert skipped[marketing_only] == "No consent for newsletter (consent: unknown)."
    assert skipped[withdrawn] == "No consent for newsletter (consent: withdrawn)."


def test_marketing_email_needs_a_grant_in_the_ledger(smtp, workspace):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    yes, no, denied = sending_kit.contacts_make(workspace, 3, consent=lambda i: "unknown")
    ledger(
        workspace,
        (yes, "marketing_email", "granted"),
        (no, "newsletter", "confirmed"),
        (denied, "marketing_email", "denied"),
    )
    sending.message_send(message=message, contact_ids=[yes, no, denied])
    result = sending.message_deliver_run(message_pk=message.pk)
    assert (result.sent, result.skipped) == (1, 2)
    assert [rcpts for _, rcpts in inbox.raw] == [["person0@example.net"]]


def test_unsubscribing_from_a_newsletter_withdraws_its_purpose_too(workspace):
    (kim,) = sending_kit.contacts_make(workspace, 1, consent=lambda i: "unknown")
    ledger(workspace, (kim, "marketing_email", "granted"), (kim, "newsletter", "confirmed"))
    message = Message.objects.create(
        workspace=workspace,
        name="Monthly",
        topic="newsletter",
        template=sending_kit.email_settings.template_create(
            workspace=workspace, data={"name": "N", "subject": "News", "html_body": "<p>Hi</p>"}
        ),
        identity=sending_kit.email_settings.identity_create(
            workspace=workspace,
            data={"from_name": "Acme", "from_address": "news@acme-widgets.com"},
        ),
    )
    link = UnsubscribeLink(
        workspace_id=workspace.pk,
        contact_id=kim,
        address="person0@example.net",
        message_key=str(message.pk),
    )
    path = urlsplit(unsubscribe_url(link)).path
    response = Client().post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert consent_statuses(workspace.pk, [kim], "newsletter") == {kim: "withdrawn"}
    assert consent_statuses(workspace.pk, [kim], "marketing_email") == {kim: "withdrawn"}
    contact = Contact.objects.get(pk=kim)
    rows = list(contact.consent_entries.order_by("id").values_list("purpose", "status", "source"))
    assert rows[-2:] == [
        ("marketing_email", "withdrawn", "one_click_unsubscribe"),
        ("newsletter", "withdrawn", "one_click_unsubscribe"),
    ]
    # A retry writes nothing more.
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert contact.consent_entries.count() == len(rows)
