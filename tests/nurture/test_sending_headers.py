"""A marketing email as the mail server receives it: one-click unsubscribe headers, a DKIM
signature that verifies (over the unsubscribe headers too), the derived Message-ID, the
personalised parts; and who is skipped at send time, with the reason."""

import dkim
import pytest
from django.core.management import call_command

from leadflow.contacts.suppression import SUPPRESSION_CHECKS, suppression_check_register
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.links import unsubscribe_read
from leadflow.nurture.models import DKIM_KEY_ENV_PREFIX, Delivery
from leadflow.nurture.services import sending
from leadflow.nurture.services.transport import message_id_for
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def test_the_email_carries_one_click_unsubscribe_a_verifying_dkim_signature_and_its_message_id(
    smtp, workspace, tmp_path, monkeypatch
):
    controller, inbox = smtp
    private, public = sending_kit.dkim_keys(tmp_path)
    key_env = secret_name_base(workspace.pk, DKIM_KEY_ENV_PREFIX) + "_ACME"
    monkeypatch.setenv(key_env, private.decode())
    message = sending_kit.message_make(
        workspace,
        port=controller.port,
        dkim={
            "dkim_domain": "acme-widgets.com",
            "dkim_selector": "lf1",
            "dkim_key_env": key_env,
        },
    )
    (contact_id,) = sending_kit.contacts_make(workspace, 1)

    assert sending.message_send(message=message, contact_ids=[contact_id]) == 1
    run_worker()

    ((raw, recipients),) = inbox.raw
    assert recipients == ["person0@example.net"]
    received = inbox.messages()[0]
    unsubscribe = received["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and unsubscribe.endswith("/>")
    link = unsubscribe_read(unsubscribe[1:-2].rsplit("/u/", 1)[1])
    assert (link.workspace_id, link.contact_id, link.address) == (
        workspace.pk,
        contact_id,
        "person0@example.net",
    )
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Message-ID"] == message_id_for(
        message_pk=message.pk, contact_pk=contact_id, domain="acme-widgets.com"
    )
    assert received["From"] == "Acme News <news@acme-widgets.com>"
    assert received["Reply-To"] == "hello@acme-widgets.com"
    assert received["Subject"] == "Hi Person0"
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "Our spring offer (https://acme-widgets.com/spring)" in text

    def dns(name, timeout=5):
        assert name == b"lf1._domainkey.acme-widgets.com."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(raw, dnsfunc=dns)
    signed = dkim.DKIM(raw).sign  # the signature's h= names the unsubscribe headers
    header = received["DKIM-Signature"].replace("\r\n", "").replace(" ", "").lower()
    assert "list-unsubscribe:list-unsubscribe-post" in header
    assert signed is not None
    # Altering the unsubscribe link breaks the signature.
    assert not dkim.verify(
        raw.replace(
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nothing"
        ),
        dnsfunc=dns,
    )

    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.header_message_id == received["Message-ID"]


def test_no_consent_or_a_suppressed_address_is_skipped_with_its_reason_and_sent_once(
    smtp, workspace
):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    statuses = ["granted", "confirmed", "unknown", "withdrawn", "granted"]
    ids = sending_kit.contacts_make(workspace, 5, consent=lambda i: statuses[i])

    def suppressed(workspace_id, address):
        return "unsubscribed" if address == "person4@example.net" else None

    suppression_check_register(suppressed)
    try:
        assert sending.message_send(message=message, contact_ids=ids) == 5
        assert sending.message_send(message=message, contact_ids=ids) == 0  # once per contact
        run_worker()
    finally:
        SUPPRESSION_CHECKS.remove(suppressed)

    assert sorted(to[0] for _, to in inbox.raw) == ["person0@example.net", "person1@example.net"]
    rows = {row.contact_id: row for row in Delivery.objects.all()}
    assert [rows[pk].status for pk in ids] == ["sent", "sent", "skipped", "skipped", "skipped"]
    assert "consent: unknown" in rows[ids[2]].reason
    assert "consent: withdrawn" in rows[ids[3]].reason
    assert "suppression list (unsubscribed)" in rows[ids[4]].reason

    # Sending again (a retry of the task) sends nothing more.
    sending.runs_schedule(message.pk)
    run_worker()
    assert len(inbox.raw) == 2


def test_names_and_text_beyond_ascii_arrive_intact(smtp, workspace):
    from leadflow.contacts.models import Contact
    from leadflow.nurture.models import SendingIdentity

    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    SendingIdentity.objects.update(from_name="Acme Nöws")
    (contact_id,) = sending_kit.contacts_make(workspace, 1)
    Contact.objects.filter(pk=contact_id).update(first_name="Zoë 🌷")
    Contact.objects.create(  # an address that would smuggle a header in: skipped
        workspace=workspace, email="x@example.net\r\nBcc: y@example.net", consent_status="granted"
    )
    ids = list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))
    sending.message_send(message=message, contact_ids=ids)
    run_worker()

    (received,) = inbox.messages()
    assert received["Subject"] == "Hi Zoë 🌷"
    assert received["From"].addresses[0].display_name == "Acme Nöws"
    assert "Hello Zoë 🌷," in received.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Zoë 🌷," in received.get_body(preferencelist=("html",)).get_content()
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["sent", "skipped"]


def test_an_email_that_cannot_be_made_fails_with_its_reason_and_is_never_handed_over(
    smtp, workspace, monkeypatch
):
    controller, inbox = smtp
    key_env = secret_name_base(workspace.pk, DKIM_KEY_ENV_PREFIX) + "_BROKEN"
    monkeypatch.setenv(key_env, "not a private key")
    message = sending_kit.message_make(
        workspace,
        port=controller.port,
        dkim={
            "dkim_domain": "acme-widgets.com",
            "dkim_selector": "lf1",
            "dkim_key_env": key_env,
        },
    )
    ids = sending_kit.contacts_make(workspace, 2)
    sending.message_send(message=message, contact_ids=ids)
    run_worker()

    assert inbox.raw == []
    rows = list(Delivery.objects.values_list("status", "reason"))
    assert [status for status, _ in rows] == ["failed", "failed"]
    assert all(
        reason.startswith("The email could not be made: KeyFormatError") for _, reason in rows
    )
