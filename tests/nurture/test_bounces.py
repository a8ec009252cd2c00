"""Bounces and complaints read from the bounce mailbox of a real IMAP server (dovecot) and
a Maildir: DSNs (hard, soft, delayed), an ARF complaint, a non-standard bounce read by
flufl.bounce; matched to their delivery by its Message-ID, else the address; recorded once
however often they are read; and what they do (suppression, the soft-bounce run, the
delivery's mark, the contact's timeline)."""

import mailbox

import pytest

from leadflow.contacts.models import Activity
from leadflow.core.errors import ValidationFailed
from leadflow.core.scheduler import PERIODIC_JOBS
from leadflow.nurture.bounce_kinds import EMAIL_BOUNCED, EMAIL_COMPLAINED
from leadflow.nurture.models import Bounce, BounceSettings, Delivery, SoftBounceRun, Suppression
from leadflow.nurture.selectors.email import message_counts
from leadflow.nurture.services import sending
from leadflow.nurture.services.bounce_mailbox import (
    DONE_KEYWORD,
    mailbox_check,
    mailbox_read,
    mailboxes_read_all,
)
from leadflow.nurture.services.bounce_settings import bounce_settings_save
from leadflow.nurture.services.bounces import delivery_arrived
from leadflow.nurture.services.settings import smtp_settings_save
from tests.nurture import sending_kit
from tests.nurture.bounce_kit import PASSWORD, USER, imap_env, imap_server, report  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(workspace):
    """Three contacts sent one message each through a real SMTP server: their deliveries."""
    controller, _ = sending_kit.smtp_server()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        ids = sending_kit.contacts_make(workspace, 3)
        sending.message_send(message=message, contact_ids=ids)
        sending.message_deliver_run(message_pk=message.pk)
    finally:
        controller.stop()
    return list(Delivery.objects.filter(message=message).order_by("id"))


@pytest.fixture
def mailbox_on(workspace, owner_actor, imap_server, monkeypatch):  # noqa: F811
    imap_server.empty()
    monkeypatch.setenv(imap_env(workspace), PASSWORD)
    bounce_settings_save(
        workspace=workspace,
        actor=owner_actor,
        data={
            "mailbox_kind": "imap", "host": "127.0.0.1", "port": imap_server.port,
            "tls_mode": "none", "username": USER, "password_env": imap_env(workspace),
        },
    )  # fmt: skip
    return imap_server


def bounce_of(name, delivery, bounce_id="1", message_id=None):
    return report(
        name,
        address=delivery.address,
        message_id=message_id or delivery.header_message_id,
        bounce_id=f"{name}-{bounce_id}",
    )


def test_the_mailbox_pass_is_on_the_workers_clock():
    assert PERIODIC_JOBS["nurture.bounce_mailboxes"].task_path.endswith("bounce_mailboxes_read")


def test_a_hard_bounce_in_the_imap_mailbox_suppresses_marks_the_delivery_and_the_timeline(
    workspace, sent, mailbox_on
):
    delivery = sent[1]
    assert delivery.status == "sent" and delivery.header_message_id
    mailbox_on.deliver(bounce_of("hard.eml", delivery))

    outcome = mailbox_read(workspace=workspace)

    assert (outcome.read, outcome.recorded) == (1, 1)
    bounce = Bounce.objects.get(workspace=workspace)
    assert (bounce.kind, bounce.delivery_id, bounce.contact_id) == (
        "hard",
        delivery.pk,
        delivery.contact_id,
    )
    assert bounce.status_code == "5.1.1" and "User unknown" in bounce.diagnostic
    # The server quoted the address: it is kept only as its hash.
    assert delivery.address not in bounce.diagnostic and "(address)" in bounce.diagnostic
    assert bounce.suppressed and bounce.source == "mailbox"
    delivery.refresh_from_db()
    assert delivery.bounce == "hard" and delivery.bounced_at is not None
    suppression = Suppression.objects.get(workspace=workspace)
    assert suppression.reason == "hard_bounce" and delivery.address not in suppression.note
    (activity,) = Activity.objects.filter(contact_id=delivery.contact_id, kind=EMAIL_BOUNCED)
    assert activity.data["bounce"] == "hard" and activity.data["suppressed"] is True
    assert message_counts(delivery.message)["bounced"] == 1
    assert any(DONE_KEYWORD.encode() in line for line in mailbox_on.flags())
    # The email is done: the next pass reads nothing.
    assert mailbox_read(workspace=workspace).read == 0


def test_the_same_bounce_read_twice_is_recorded_once(workspace, sent, mailbox_on):
    raw = bounce_of("hard.eml", sent[0])
    mailbox_on.deliver(raw)
    mailbox_on.deliver(raw)  # the mail server delivered it twice

    outcome = mailbox_read(workspace=workspace)

    assert (outcome.read, outcome.recorded, outcome.repeated) == (2, 1, 1)
    assert Bounce.objects.filter(workspace=workspace).count() == 1
    assert Activity.objects.filter(kind=EMAIL_BOUNCED).count() == 1
    assert Suppression.objects.filter(workspace=workspace).count() == 1


def test_a_bounce_read_again_after_a_crash_before_flagging_is_recorded_once(
    workspace, sent, mailbox_on
):
    mailbox_on.deliver(bounce_of("hard.eml", sent[0]))
    mailbox_read(workspace=workspace)
    imap = mailbox_on.session()
    imap.select("INBOX")
    imap.store("1:*", "-FLAGS", f"({DONE_KEYWORD})")  # as if the pass died before flagging
    imap.logout()

    assert mailbox_read(workspace=workspace).recorded == 0
    assert Bounce.objects.count() == 1 and Activity.objects.filter(kind=EMAIL_BOUNCED).count() == 1


def test_a_complaint_report_suppresses_at_once(workspace, sent, mailbox_on):
    delivery = sent[2]
    mailbox_on.deliver(bounce_of("complaint.eml", delivery))

    mailbox_read(workspace=workspace)

    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.delivery_id) == ("complaint", delivery.pk)
    assert Suppression.objects.get().reason == "complaint"
    assert Activity.objects.filter(contact_id=delivery.contact_id, kind=EMAIL_COMPLAINED).exists()
    delivery.refresh_from_db()
    assert delivery.bounce == "complaint"
    assert message_counts(delivery.message)["complained"] == 1


def test_a_non_standard_bounce_is_read_by_flufl_bounce_and_matched_by_message_id(
    workspace, sent, mailbox_on
):
    mailbox_on.deliver(bounce_of("qmail.eml", sent[0]))

    mailbox_read(workspace=workspace)

    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.delivery_id) == ("hard", sent[0].pk)
    assert "flufl.bounce" in bounce.diagnostic


def test_without_a_known_message_id_the_address_finds_its_latest_delivery(
    workspace, sent, mailbox_on
):
    mailbox_on.deliver(bounce_of("hard.eml", sent[1], message_id="<elsewhere@example.org>"))

    mailbox_read(workspace=workspace)

    assert Bounce.objects.get().delivery_id == sent[1].pk


def test_delays_and_auto_replies_are_not_bounces_but_are_done(workspace, sent, mailbox_on):
    mailbox_on.deliver(bounce_of("delayed.eml", sent[0]))
    mailbox_on.deliver(bounce_of("autoreply.eml", sent[0]))

    outcome = mailbox_read(workspace=workspace)

    # The auto-reply answers our email: recorded as one (test_replies.py), never a bounce.
    assert (outcome.read, outcome.recorded, outcome.replies, outcome.other) == (2, 0, 1, 1)
    assert not Bounce.objects.exists() and not Suppression.objects.exists()
    assert mailbox_read(workspace=workspace).read == 0


def test_soft_bounces_suppress_after_the_limit_in_a_row_and_a_delivery_resets_the_run(
    workspace, owner_actor, sent, mailbox_on
):
    bounce_settings_save(workspace=workspace, actor=owner_actor, data={"soft_bounce_limit": 2})
    # Three messages to the same person: three deliveries of the same address.
    first = sent[0]
    others = []
    controller, _ = sending_kit.smtp_server()
    smtp_settings_save(
        workspace=workspace, data={"host": "127.0.0.1", "port": controller.port, "tls_mode": "none"}
    )
    try:
        for _ in range(2):
            message = sending.message_create(
                workspace=workspace, name="More", template_id=first.message.template_id,
                identity_id=first.message.identity_id,
            )  # fmt: skip
            sending.message_send(message=message, contact_ids=[first.contact_id])
            sending.message_deliver_run(message_pk=message.pk)
            others.append(Delivery.objects.get(message=message))
    finally:
        controller.stop()

    mailbox_on.deliver(bounce_of("soft.eml", first, "a"))
    mailbox_on.deliver(bounce_of("soft.eml", first, "b"))  # the same email reported again
    mailbox_read(workspace=workspace)
    assert SoftBounceRun.objects.get().count == 1 and not Suppression.objects.exists()

    delivery_arrived(workspace=workspace, address=first.address)  # a provider said: delivered
    assert SoftBounceRun.objects.get().count == 0

    mailbox_on.deliver(bounce_of("soft.eml", others[0], "c"))
    mailbox_read(workspace=workspace)
    assert not Suppression.objects.exists()
    mailbox_on.deliver(bounce_of("soft.eml", others[1], "d"))
    mailbox_read(workspace=workspace)

    assert Suppression.objects.get().reason == "soft_bounces"
    assert Bounce.objects.filter(kind="soft").count() == 3  # the repeated report: once
    assert list(Bounce.objects.filter(suppressed=True).values_list("delivery_id", flat=True)) == [
        others[1].pk
    ]


def test_another_workspaces_bounce_mailbox_never_touches_this_workspaces_deliveries(
    workspace, other_workspace, owner_actor, sent, mailbox_on, monkeypatch
):
    # The same mailbox, now the other workspace's (with a password variable of its own).
    monkeypatch.setenv(imap_env(other_workspace), PASSWORD)
    BounceSettings.objects.filter(workspace=workspace).update(
        workspace=other_workspace, password_env=imap_env(other_workspace)
    )
    mailbox_on.deliver(bounce_of("hard.eml", sent[0]))

    mailbox_read(workspace=other_workspace)

    bounce = Bounce.objects.get()
    assert bounce.workspace_id == other_workspace.pk and bounce.delivery_id is None
    assert not Suppression.objects.filter(workspace=workspace).exists()
    assert Delivery.objects.get(pk=sent[0].pk).bounce == ""


def test_imap_over_tls_with_the_installations_ca_and_the_test_button(
    workspace, owner_actor, mailbox_on, settings
):
    settings.LEADFLOW_BOUNCE_CA_FILE = mailbox_on.ca_file
    mailbox_on.deliver(b"From: a@example.org\r\nSubject: x\r\n\r\nnot a bounce\r\n")
    for mode, port in (("ssl", mailbox_on.ssl_port), ("starttls", mailbox_on.port)):
        bounce_settings_save(
            workspace=workspace, actor=owner_actor, data={"tls_mode": mode, "port": port}
        )
        assert mailbox_check(workspace=workspace) == 1


def test_a_wrong_password_is_named_by_the_test_button_and_noted_by_the_pass(
    workspace, mailbox_on, monkeypatch
):
    monkeypatch.setenv(imap_env(workspace), "wrong")
    with pytest.raises(ValidationFailed) as failure:
        mailbox_check(workspace=workspace)
    assert failure.value.errors[0].field == "mailbox"

    assert mailboxes_read_all() == 0
    found = BounceSettings.objects.get(workspace=workspace)
    assert found.last_checked_at is not None and "MailboxError" in found.last_error


def test_a_maildir_mailbox_is_read_and_its_emails_moved_to_processed(
    workspace, owner_actor, sent, settings, tmp_path
):
    settings.LEADFLOW_BOUNCE_MAILDIR_DIR = tmp_path
    box = mailbox.Maildir(tmp_path / "acme", create=True)
    box.add(bounce_of("hard.eml", sent[0]))
    box.add(bounce_of("soft.eml", sent[1]))
    bounce_settings_save(
        workspace=workspace, actor=owner_actor,
        data={"mailbox_kind": "maildir", "maildir_name": "acme"},
    )  # fmt: skip

    assert mailboxes_read_all() == 2

    assert sorted(Bounce.objects.values_list("kind", flat=True)) == ["hard", "soft"]
    assert len(box) == 0 and len(box.get_folder("Processed")) == 2
    assert mailbox_read(workspace=workspace).read == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mailbox_kind": "pop3"}, "mailbox_kind"),
        ({"mailbox_kind": "imap", "host": "", "username": "x"}, "host"),
        ({"password_env": "SECRET_KEY"}, "password_env"),
        ({"mailbox_kind": "maildir", "maildir_name": "../etc"}, "maildir_name"),
        ({"soft_bounce_limit": 0}, "soft_bounce_limit"),
        ({"port": 70000}, "port"),
        ({"mailgun_key_env": "DATABASE_URL"}, "mailgun_key_env"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(workspace, owner_actor, data, field):
    with pytest.raises(ValidationFailed) as failure:
        bounce_settings_save(workspace=workspace, actor=owner_actor, data=data)
    assert field in [error.field for error in failure.value.errors]
    assert not BounceSettings.objects.exists()


class RefusingInbox(sending_kit.RawInbox):
    """A mail server that refuses one recipient for good (550 5.1.1), as a receiving
    server does for an unknown user."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == "person1@example.net":
            return "550 5.1.1 <person1@example.net>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_permanent_refusal_at_send_time_is_a_hard_bounce(workspace):
    from aiosmtpd.controller import Controller

    from tests.capture.test_notifications import free_port

    inbox = RefusingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        ids = sending_kit.contacts_make(workspace, 2)
        sending.message_send(message=message, contact_ids=ids)
        result = sending.message_deliver_run(message_pk=message.pk)
    finally:
        controller.stop()

    assert (result.sent, result.failed) == (1, 1)
    refused = Delivery.objects.get(message=message, contact_id=ids[1])
    assert refused.status == "failed" and refused.bounce == "hard"
    bounce = Bounce.objects.get()
    assert (bounce.delivery_id, bounce.source, bounce.status_code) == (refused.pk, "smtp", "5.1.1")
    assert Suppression.objects.get().reason == "hard_bounce"
    assert Activity.objects.filter(contact_id=ids[1], kind=EMAIL_BOUNCED).count() == 1
    assert message_counts(message)["bounced"] == 1


def test_the_contacts_timeline_tells_the_bounce(workspace, owner, sent, mailbox_on):
    from django.test import Client

    mailbox_on.deliver(bounce_of("hard.eml", sent[0]))
    mailbox_on.deliver(bounce_of("complaint.eml", sent[1]))
    mailbox_read(workspace=workspace)
    client = Client()
    client.force_login(owner)

    first = client.get(f"/w/{workspace.slug}/contacts/{sent[0].contact_id}/").content.decode()
    second = client.get(f"/w/{workspace.slug}/contacts/{sent[1].contact_id}/").content.decode()

    assert "Email bounced (hard)" in first and "5.1.1" in first
    assert "the address is now suppressed" in first
    assert "Marked an email as spam" in second


@pytest.mark.django_db(transaction=True)
def test_the_periodic_task_reads_the_mailboxes_on_the_worker(workspace, sent, mailbox_on):
    from django.core.management import call_command

    from leadflow.nurture.bounce_tasks import bounce_mailboxes_read

    mailbox_on.deliver(bounce_of("hard.eml", sent[0]))
    bounce_mailboxes_read.enqueue()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    assert Bounce.objects.get().delivery_id == sent[0].pk
    assert BounceSettings.objects.get(workspace=workspace).last_checked_at is not None
