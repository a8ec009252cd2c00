"""Side effects of a submission, through a real SMTP server (aiosmtpd) and the database
worker: notification emails to the team, the double opt-in email and its signed link."""

import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command
from django.test import Client

from leadflow.capture import tasks
from leadflow.capture.models import ConsentRecord, NotificationLog, Submission
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


def use_smtp(settings, port: int):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free local port, and Django pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    yield inbox
    controller.stop()


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_team_is_emailed_once_per_person(smtp, public, lead_form, owner, make_member):
    marketer = make_member("marketer").user
    seller = make_member("sales").user
    make_member("viewer")  # not chosen: hears nothing
    lead_form.notify_user_ids = [owner.pk, marketer.pk]
    lead_form.notify_owner = True
    lead_form.save()
    # Jane is already known and owned by a salesperson: the owner hears about her too.
    contact_upsert(
        workspace=lead_form.workspace,
        actor=Actor.system(),
        data={"email": "jane@initech.com", "owner_id": seller.pk},
    )

    assert public.submit().status_code == 201
    assert smtp.messages == []  # nothing is sent in the request: the worker does it
    run_worker()

    recipients = sorted(m["X-Envelope-To"] for m in smtp.messages)
    assert recipients == sorted([owner.email, marketer.email, seller.email])
    contact = Contact.objects.get(email="jane@initech.com")
    for message in smtp.messages:
        assert message["Subject"] == "New lead from Book a demo: Jane"
        body = text_of(message)
        assert "Work email: jane@initech.com" in body
        assert "Interest: Demo" in body
        assert "Reach me by: Email" in body
        assert "Page: https://www.acme-widgets.com/demo" in body
        assert f"/w/{lead_form.workspace.slug}/contacts/{contact.pk}/" in body
        html = message.get_body(preferencelist=("html",)).get_content()
        assert (
            f'href="http://testserver/w/{lead_form.workspace.slug}/contacts/{contact.pk}/"' in html
        )
    assert mail.outbox == []  # it truly went over SMTP, not into the test outbox
    assert NotificationLog.objects.filter(kind="notify").count() == 3

    # The task is safe to run twice: a retry sends nothing more.
    submission = Submission.objects.get()
    tasks.submission_notify.enqueue(submission.pk, "http://testserver")
    run_worker()
    assert len(smtp.messages) == 3


def test_what_a_visitor_typed_is_escaped_in_the_html_email(smtp, public, lead_form, owner):
    lead_form.notify_user_ids = [owner.pk]
    lead_form.save()
    from .conftest import good_fields

    public.submit(good_fields(message="<b>bold</b> <script>x</script>"))
    run_worker()
    (message,) = smtp.messages
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_a_ticked_box_reads_yes_in_the_email_as_on_the_timeline(smtp, public, lead_form, owner):
    lead_form.notify_user_ids = [owner.pk]
    lead_form.save()

    public.submit()
    run_worker()
    (message,) = smtp.messages
    consent_label = next(f["label"] for f in lead_form.fields if f["name"] == "consent")
    assert f"{consent_label}: Yes" in text_of(message)
    assert "True" not in text_of(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<td>Yes</td>" in html and "True" not in html


def test_a_form_that_notifies_nobody_sends_nothing(smtp, public):
    assert public.submit().status_code == 201
    run_worker()
    assert smtp.messages == []


def _confirmation_link(message) -> str:
    return re.search(r"http://testserver(/f/confirm/\S+/)", text_of(message)).group(1)


def test_double_opt_in(smtp, public, lead_form):
    lead_form.double_opt_in = True
    lead_form.save()
    assert public.submit().status_code == 201
    run_worker()

    (message,) = smtp.to("jane@initech.com")
    assert message["Subject"] == "Please confirm your subscription to Acme Widgets"
    assert "Hello Jane," in text_of(message)
    link = _confirmation_link(message)
    contact = Contact.objects.get(email="jane@initech.com")
    consent = ConsentRecord.objects.get(contact=contact)
    assert contact.consent_status == "granted" and consent.confirmed_at is None

    # A link that was tampered with finds nothing and changes nothing.
    token = link.removeprefix("/f/confirm/").removesuffix("/")
    tampered = f"/f/confirm/{token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}/"
    client = Client()
    assert client.get(tampered).status_code == 404
    assert client.get("/f/confirm/not-a-token/").status_code == 404
    consent.refresh_from_db()
    contact.refresh_from_db()
    assert consent.confirmed_at is None and contact.consent_status == "granted"

    changes = Activity.objects.filter(contact=contact, kind="consent.changed")
    before = changes.count()
    response = client.get(link)
    assert response.status_code == 200
    assert "Your subscription to Acme Widgets is confirmed." in response.content.decode()
    consent.refresh_from_db()
    contact.refresh_from_db()
    assert consent.confirmed_at is not None
    assert contact.consent_status == "confirmed"
    assert changes.count() == before + 1
    assert changes.latest("id").data == {
        "from": "granted",
        "to": "confirmed",
        "purpose": "marketing_email",
        "source": "double_opt_in",
    }
    # The ledger: the form's grant (its text, version and address), then the confirmation.
    rows = list(contact.consent_entries.order_by("id"))
    assert [(r.status, r.source) for r in rows] == [
        ("granted", "form"),
        ("confirmed", "double_opt_in"),
    ]
    assert rows[1].text == rows[0].text == consent.text and rows[1].version == consent.version
    assert rows[1].ip == "127.0.0.1"

    # Clicking again is harmless; the email went once.
    assert client.get(link).status_code == 200
    assert changes.count() == before + 1
    submission = Submission.objects.get()
    tasks.optin_send.enqueue(submission.pk, "http://testserver")
    run_worker()
    assert len(smtp.to("jane@initech.com")) == 1


def test_no_opt_in_email_without_consent(smtp, public, lead_form):
    from .conftest import good_fields

    lead_form.double_opt_in = True
    lead_form.fields = [
        {**f, "required": False} if f["type"] == "consent" else f for f in lead_form.fields
    ]
    lead_form.save()
    assert public.submit(good_fields(consent=False)).status_code == 201
    run_worker()
    assert smtp.to("jane@initech.com") == []


def test_smtp_down_keeps_the_lead_and_the_notice_tries_again_later(
    settings, public, lead_form, owner
):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    use_smtp(settings, free_port())  # nothing listens there
    lead_form.notify_user_ids = [owner.pk]
    lead_form.save()
    assert public.submit().status_code == 201
    run_worker()

    # The follow-up and the activity delivery (the duplicate finder) ran; the notice is
    # queued again for later, not failed.
    # (A delivery may also wait to look again behind another test database's transaction.)
    deliver = "leadflow.contacts.tasks.activities_deliver"
    tasks = DBTaskResult.objects.exclude(task_path=deliver, status="READY")
    statuses = dict(tasks.values_list("task_path", "status"))
    assert statuses == {
        "leadflow.contacts.tasks.activities_deliver": "SUCCESSFUL",
        "leadflow.capture.tasks.submission_followup": "SUCCESSFUL",
        "leadflow.capture.tasks.submission_notify": "READY",
    }
    retry = tasks.get(status="READY")
    assert retry.args_kwargs["kwargs"] == {"attempt": 1}
    assert retry.run_after > timezone.now()
    assert Submission.objects.get().status == "accepted"
    assert Contact.objects.filter(email="jane@initech.com").exists()
    assert not NotificationLog.objects.exists()

    # Once the server is back, the retry delivers the email, once.
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller.port)
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_worker()
        assert [m["X-Envelope-To"] for m in inbox.messages] == [owner.email]
        assert DBTaskResult.objects.get(pk=retry.pk).status == "SUCCESSFUL"
    finally:
        controller.stop()
