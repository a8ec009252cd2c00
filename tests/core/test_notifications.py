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


def test_a_mail_server_that_is_down_delays_the_email_and_a_later_try_sends_it(
    smtp, settings, workspace, owner_actor
):
    """An email task whose send fails is queued again for later (attempt 1 after a minute),
    not failed for good; once the server is back, that try sends the email."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from leadflow.core.services import member_add
    from leadflow.core.tasks import MAIL_RETRY_DELAYS, invitation_send

    membership, _ = member_add(
        workspace=workspace, email="late@acme-widgets.com", role="sales", actor=owner_actor
    )
    up = settings.MAILERS["default"]["OPTIONS"]["port"]
    mail_kit.use_smtp(settings, mail_kit.free_port())  # nothing listens there
    invitation_send.enqueue(membership.pk, None, "https://crm.example")
    mail_kit.run_worker()

    assert smtp.messages == []
    retry = DBTaskResult.objects.get(task_path=invitation_send.module_path, status="READY")
    assert retry.args_kwargs == {
        "args": [membership.pk, None, "https://crm.example"],
        "kwargs": {"attempt": 1},
    }
    wait = (retry.run_after - timezone.now()).total_seconds()
    assert MAIL_RETRY_DELAYS[0] - 10 < wait <= MAIL_RETRY_DELAYS[0]
    assert not DBTaskResult.objects.filter(status="FAILED").exists()

    mail_kit.use_smtp(settings, up)
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    mail_kit.run_worker()
    (message,) = smtp.messages
    assert message["X-Envelope-To"] == "late@acme-widgets.com"
    assert "https://crm.example/password/reset/" in mail_kit.text_of(message)


def test_an_email_task_gives_up_after_its_last_try(settings, workspace, owner_actor):
    from django_tasks_db.models import DBTaskResult

    from leadflow.core.services import member_add
    from leadflow.core.tasks import MAIL_RETRY_DELAYS, invitation_send

    membership, _ = member_add(
        workspace=workspace, email="never@acme-widgets.com", role="sales", actor=owner_actor
    )
    mail_kit.use_smtp(settings, mail_kit.free_port())
    invitation_send.using().enqueue(membership.pk, None, "", attempt=len(MAIL_RETRY_DELAYS))
    mail_kit.run_worker()

    assert DBTaskResult.objects.get(task_path=invitation_send.module_path).status == "FAILED"
