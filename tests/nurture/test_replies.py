"""Replies to marketing email read from the bounce mailbox of a real IMAP server (dovecot)
and a Maildir, answering emails really sent through aiosmtpd: a person's reply and
auto-replies recorded on the right contact (once, however often the mailbox is read), a
forged Message-ID recognised as nobody's, and a sequence the contact leaves when they
reply (never on an auto-reply)."""

import mailbox
from email.utils import parseaddr

import pytest
from django.core.management import call_command

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Activity, Contact
from leadflow.nurture.models import Delivery, Enrollment, EnrollmentStatus, Reply, Sequence
from leadflow.nurture.reply_kinds import EMAIL_AUTO_REPLIED, EMAIL_REPLIED
from leadflow.nurture.selectors.email import message_counts
from leadflow.nurture.selectors.sequences import sequence_figures
from leadflow.nurture.services import sending
from leadflow.nurture.services.bounce_mailbox import mailbox_read
from leadflow.nurture.services.bounce_settings import bounce_settings_save
from leadflow.nurture.services.replies import reply_parse
from leadflow.nurture.services.sequences import (
    sequence_create,
    sequence_enroll,
    sequence_status_set,
)
from tests.nurture import sending_kit
from tests.nurture.bounce_kit import imap_server  # noqa: F401
from tests.nurture.test_bounces import mailbox_on  # noqa: F401

REPLIED_EVER = {
    "version": 1,
    "match": "all",
    "children": [
        {"field": "activity.email.replied", "operator": "at_least", "value": {"times": 1}}
    ],
}


def reply_to(sent_email, *, body="Yes please, call me.", subject=None, headers=(), own="1"):
    """A reply as a mail client writes it to an email LeadFlow sent (its parsed message):
    from the recipient, to the Reply-To, In-Reply-To and References naming its Message-ID."""
    lines = [
        f"From: {sent_email['To']}",
        f"To: {parseaddr(sent_email['Reply-To'])[1]}",
        f"Subject: {subject or 'Re: ' + sent_email['Subject']}",
        "Date: Sun, 6 Dec 2026 12:00:00 +0000",
        f"Message-ID: <reply-{own}@example.net>",
        f"In-Reply-To: {sent_email['Message-ID']}",
        f"References: <older@example.net> {sent_email['Message-ID']}",
        *headers,
        "",
        body,
        "",
        f"On Sunday, Acme News wrote:\n> {sent_email['Subject']}",
    ]
    return "\r\n".join(lines).encode()


@pytest.fixture
def sent_emails(workspace):
    """Three contacts sent one message each through a real SMTP server: the emails as they
    arrived there, by recipient."""
    controller, inbox = sending_kit.smtp_server()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        ids = sending_kit.contacts_make(workspace, 3)
        sending.message_send(message=message, contact_ids=ids)
        sending.message_deliver_run(message_pk=message.pk)
    finally:
        controller.stop()
    return {email["To"]: email for email in inbox.messages()}


def kinds_of(address):
    contact = Contact.objects.get(email=address)
    return list(
        Activity.objects.filter(contact=contact, kind__in=[EMAIL_REPLIED, EMAIL_AUTO_REPLIED])
        .order_by("pk")
        .values_list("kind", "data__subject", "data__auto")
    )


@pytest.mark.django_db
def test_replies_in_the_imap_mailbox_are_recorded_once_on_the_contact_who_was_sent_the_email(
    workspace,
    owner,
    sent_emails,
    mailbox_on,  # noqa: F811
):
    first, second = (sent_emails[f"person{i}@example.net"] for i in range(2))
    mailbox_on.deliver(reply_to(first, own="a"))
    mailbox_on.deliver(reply_to(second, own="b", headers=["Auto-Submitted: auto-replied"]))
    mailbox_on.deliver(reply_to(second, own="c", subject="Out of Office: away until Monday"))
    # A forged id: the right message and contact numbers, a digest not made with the secret.
    forged = "<" + "f" * 24 + first["Message-ID"][25:]
    assert forged != first["Message-ID"]
    forged_reply = reply_to(first, own="d").replace(first["Message-ID"].encode(), forged.encode())
    mailbox_on.deliver(forged_reply)

    outcome = mailbox_read(workspace=workspace)

    assert (outcome.read, outcome.replies, outcome.other, outcome.recorded) == (4, 3, 1, 0)
    assert kinds_of("person0@example.net") == [(EMAIL_REPLIED, "Re: " + first["Subject"], False)]
    assert kinds_of("person1@example.net") == [
        (EMAIL_AUTO_REPLIED, "Re: " + second["Subject"], True),
        (EMAIL_AUTO_REPLIED, "Out of Office: away until Monday", True),
    ]
    assert kinds_of("person2@example.net") == []
    delivery = Delivery.objects.get(address="person0@example.net")
    assert Reply.objects.get(auto=False).delivery_id == delivery.pk
    # Read again after a crash before the emails were flagged: nothing more.
    mailbox_on.deliver(reply_to(first, own="a"))
    again = mailbox_read(workspace=workspace)
    assert (again.read, again.replies, again.repeated) == (1, 0, 1)
    assert Reply.objects.count() == 3
    # "Did email.replied" in the condition language counts the person, never an auto-reply.
    query = conditions_compile(tree_from_json(REPLIED_EVER), ConditionContext(workspace))
    assert list(Contact.objects.filter(query).values_list("email", flat=True)) == [
        "person0@example.net"
    ]
    # The timeline tells them apart.
    from django.test import Client

    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/contacts/{delivery.contact_id}/").content.decode()
    assert "Replied to an email" in page and "Re: " + first["Subject"] in page
    other = Contact.objects.get(email="person1@example.net")
    page = client.get(f"/w/{workspace.slug}/contacts/{other.pk}/").content.decode()
    assert "Auto-reply to an email (not counted as a reply)" in page


def test_reports_daemons_and_emails_answering_nothing_are_not_replies():
    assert reply_parse(b"From: kim@example.net\r\nSubject: Hello\r\n\r\nNo thread.") is None
    daemon = b"From: MAILER-DAEMON@mx.example.net\r\nIn-Reply-To: <a.1.2@acme.com>\r\n\r\nx"
    assert reply_parse(daemon) is None
    report = (
        b"From: mx@example.net\r\nIn-Reply-To: <a.1.2@acme.com>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b--\r\n"
    )
    assert reply_parse(report) is None
    precedence = b"From: k@example.net\r\nIn-Reply-To: <a.1.2@acme.com>\r\nPrecedence: bulk\r\n\r\n"
    assert reply_parse(precedence).auto
    person = b"From: k@example.net\r\nIn-Reply-To: <a.1.2@acme.com>\r\nAuto-Submitted: no\r\n\r\n"
    assert not reply_parse(person).auto


@pytest.mark.django_db(transaction=True)
def test_a_contact_who_replies_leaves_the_sequences_that_exit_on_a_reply(
    workspace, owner, owner_actor, settings, tmp_path
):
    controller, inbox = sending_kit.smtp_server()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        contact_ids = sending_kit.contacts_make(workspace, 2)
        wait = [{"id": 1, "type": "wait", "seconds": 7 * 86400, "next": None}]
        sequences = {}
        for name, values in (
            ("On reply", {"exit_on_reply": True, "steps": [
                {"id": 1, "type": "email", "message_id": message.pk, "next": 2},
                {"id": 2, "type": "wait", "seconds": 7 * 86400, "next": None},
            ]}),
            ("By condition", {"exit_conditions": REPLIED_EVER, "steps": wait}),
            ("Regardless", {"steps": wait}),
        ):  # fmt: skip
            created = sequence_create(
                workspace=workspace, actor=owner_actor, values={"name": name, **values}
            )
            sequence_status_set(
                workspace=workspace, actor=owner_actor, sequence_id=created.pk, status="active"
            )
            sequence_enroll(
                workspace=workspace,
                actor=owner_actor,
                sequence_id=created.pk,
                contact_ids=contact_ids,
            )
            sequences[name] = created
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    finally:
        controller.stop()
    emails = {email["To"]: email for email in inbox.messages()}
    assert sorted(emails) == ["person0@example.net", "person1@example.net"]

    settings.LEADFLOW_BOUNCE_MAILDIR_DIR = tmp_path
    box = mailbox.Maildir(tmp_path / "acme", create=True)
    bounce_settings_save(
        workspace=workspace, actor=owner_actor,
        data={"mailbox_kind": "maildir", "maildir_name": "acme"},
    )  # fmt: skip
    box.add(reply_to(emails["person0@example.net"], own="x"))
    box.add(reply_to(emails["person1@example.net"], own="y", headers=["X-Autoreply: yes"]))
    assert mailbox_read(workspace=workspace).replies == 2
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    status = set(Enrollment.objects.values_list("sequence__name", "contact__email", "status"))
    exited, active = EnrollmentStatus.EXITED, EnrollmentStatus.ACTIVE
    assert status == {
        ("On reply", "person0@example.net", exited),
        ("On reply", "person1@example.net", active),
        ("By condition", "person0@example.net", exited),
        ("By condition", "person1@example.net", active),
        ("Regardless", "person0@example.net", active),
        ("Regardless", "person1@example.net", active),
    }
    # A reply from before the contact entered does not take them out of "On reply" ones.
    later = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "Later", "exit_on_reply": True, "steps": wait},
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=later.pk, status="active"
    )
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=later.pk, contact_ids=contact_ids
    )
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert set(Enrollment.objects.filter(sequence=later).values_list("status", flat=True)) == {
        EnrollmentStatus.ACTIVE
    }
    reasons = Enrollment.objects.filter(status=EnrollmentStatus.EXITED).values_list
    assert sorted(reasons("sequence__name", "reason")) == [
        ("By condition", "Met an exit condition"),
        ("On reply", "Replied"),
    ]
    assert len(box) == 0 and len(box.get_folder("Processed")) == 2
    # The email step counts the person's reply, not the auto-reply; so does the message.
    figures = sequence_figures(sequences["On reply"])
    assert (figures.steps[1].replied, figures.steps[2].replied) == (1, None)
    counts = message_counts(message)
    assert (counts["sent"], counts["replied"], counts["auto_replied"]) == (2, 1, 1)
    from django.test import Client

    client = Client()
    client.force_login(owner)
    flow = client.get(f"/w/{workspace.slug}/sequences/{sequences['On reply'].pk}/")
    assert "· 1 replied" in " ".join(flow.content.decode().split())


@pytest.mark.django_db
def test_exit_when_the_contact_replies_is_one_click_in_the_settings_and_the_api(
    workspace, client_for, api
):
    marketer = client_for("marketer")
    new = f"/w/{workspace.slug}/sequences/new/"
    assert 'name="exit_on_reply"' in marketer.get(new).content.decode()
    created = marketer.post(new, {"name": "Nurture", "reentry": "never", "exit_on_reply": "1"})
    assert created.status_code == 302, created.content.decode()[:2000]
    sequence = Sequence.objects.get(workspace=workspace)
    assert sequence.exit_on_reply is True
    detail = marketer.get(f"/w/{workspace.slug}/sequences/{sequence.pk}/").content.decode()
    assert "exit: on a reply" in detail
    settings_page = f"/w/{workspace.slug}/sequences/{sequence.pk}/settings/"
    form = marketer.get(settings_page).content.decode()
    assert "checked" in form.split('name="exit_on_reply"')[1].split(">")[0]
    assert marketer.post(settings_page, {"name": "Nurture", "reentry": "never"}).status_code == 302
    sequence.refresh_from_db()
    assert sequence.exit_on_reply is False

    path = f"/nurture/sequences/{sequence.pk}"
    assert api.patch(path, {"exit_on_reply": True}).json()["exit_on_reply"] is True
    refused = api.patch(path, {"exit_on_reply": None})
    assert refused.status_code == 422 and "exit_on_reply" in refused.content.decode()
