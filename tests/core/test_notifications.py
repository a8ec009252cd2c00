"""core.notifications: the one way members are emailed, through a real SMTP server (aiosmtpd)."""

import pytest
from aiosmtpd.controller import Controller

from leadflow.core.models import User
from leadflow.core.notifications import email_send, member_notify
from tests.capture import test_notifications as mail_kit

smtp = mail_kit.smtp  # the real SMTP server fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _notify(workspace, users, record=None) -> int:
    return member_notify(
        workspace=workspace,
        users=users,
        subject="Invited to " + "x" * 300,
        template="core/email/invitation",
        context={"inviter": None, "link": "https://leadflow.example/set-password/"},
        record=record,
    )


def test_only_members_hear_and_each_once_in_address_order(
    smtp, workspace, other_workspace, owner, make_member
):
    seller = make_member("sales").user
    outsider = User.objects.get(email="owner@other-co.com")

    sent = _notify(workspace, [seller, outsider, None, owner, seller])

    assert sent == 2
    assert [m["X-Envelope-To"] for m in smtp.messages] == sorted([owner.email, seller.email])
    message = smtp.messages[0]
    assert len(message["Subject"]) == 200
    assert "https://leadflow.example/set-password/" in mail_kit.text_of(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'href="https://leadflow.example/set-password/"' in html
    assert f"Your login is {message['X-Envelope-To']}." in mail_kit.text_of(message)


def test_a_recorded_email_goes_once_and_a_failed_send_leaves_no_record(settings, owner):
    # Any row under a unique constraint makes an email once-only (an app uses its own log).
    marker = "notice-sent@leadflow.test"

    def record():
        User.objects.create(email=marker)

    def send() -> bool:
        return email_send(
            to=owner.email,
            subject="Hello",
            template="core/email/invitation",
            context={"inviter": owner, "link": "https://x.example/", "recipient": owner},
            record=record,
        )

    mail_kit.use_smtp(settings, mail_kit.free_port())  # nothing listens there
    with pytest.raises(OSError):
        send()
    assert not User.objects.filter(email=marker).exists()  # the retry will send

    inbox = mail_kit.Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=mail_kit.free_port())
    controller.start()
    try:
        mail_kit.use_smtp(settings, controller.port)
        assert send() is True
        assert send() is False  # recorded: a second run sends nothing
        assert [m["X-Envelope-To"] for m in inbox.messages] == [owner.email]
        assert User.objects.filter(email=marker).count() == 1
    finally:
        controller.stop()
