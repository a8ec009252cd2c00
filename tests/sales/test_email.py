"""A member's personal email to a lead, through the worker and a real SMTP server
(aiosmtpd): sent exactly once whatever runs twice, From the sender's name at the
installation's address with Reply-To the sender, ``email.queued`` at once and ``email.sent``
only once the mail server has it; a refused recipient fails it on the timeline; a server
that is down leaves it queued for a retry. Tenancy and own-leads visibility hold."""

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Activity, ConsentStatus
from leadflow.contacts.services import contact_upsert
from leadflow.contacts.suppression import SUPPRESSION_CHECKS, suppression_check_register
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Membership
from leadflow.sales.models import PersonalEmail
from leadflow.sales.services import email_template_create, personal_email_send
from leadflow.sales.tasks import personal_email_deliver
from tests.capture.test_notifications import (  # noqa: F401
    Inbox,
    free_port,
    run_worker,
    smtp,
    text_of,
    use_smtp,
)

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed


def _kinds(contact) -> list[str]:
    return list(
        Activity.objects.filter(contact=contact, kind__startswith="email.")
        .order_by("id")
        .values_list("kind", flat=True)
    )


@pytest.fixture
def ann(make_member, workspace):
    """A salesperson who sees only her own leads."""
    user = make_member("sales", "ann@acme-widgets.com").user
    user.full_name = "Ann Seller"
    user.save()
    return user


@pytest.fixture
def ann_actor(ann, workspace):
    return Actor.for_user(ann, Membership.objects.get(workspace=workspace, user=ann))


@pytest.fixture
def kim(workspace, owner_actor, ann):
    return contact_upsert(
        workspace=workspace,
        data={"email": "kim@initech.com", "first_name": "Kim", "owner_id": ann.pk},
        actor=owner_actor,
    ).contact


def _send(workspace, contact, actor, **extra):
    values = {"subject": "Hello {{ first_name }}", "body": "Hi {{ first_name | there }},\nAnn"}
    values.update(extra)
    return personal_email_send(workspace=workspace, contact_id=contact.pk, actor=actor, **values)


def test_the_email_goes_once_from_the_sender_even_when_posted_and_run_twice(
    smtp,  # noqa: F811
    settings,
    workspace,
    kim,
    ann_actor,
):
    settings.DEFAULT_FROM_EMAIL = "Acme <sales@acme-mail.test>"
    template = email_template_create(
        workspace=workspace,
        data={"name": "Intro", "subject": "s", "body": "b"},
        actor=ann_actor,
    )
    first = _send(workspace, kim, ann_actor, client_id="click-1", template_id=template.pk)
    again = _send(workspace, kim, ann_actor, client_id="click-1", template_id=template.pk)
    assert first.created and not again.created and again.email.pk == first.email.pk
    assert PersonalEmail.objects.count() == 1
    assert _kinds(kim) == ["email.queued"]  # nothing has gone yet
    assert smtp.messages == []

    run_worker()
    email = PersonalEmail.objects.get()
    assert email.status == "sent" and email.sent_at and email.template_id == template.pk
    [message] = smtp.messages
    assert message["X-Envelope-To"] == "kim@initech.com"
    assert message["Subject"] == "Hello Kim"
    assert message["From"] == "Ann Seller <sales@acme-mail.test>"
    assert message["Reply-To"] == "ann@acme-widgets.com"
    assert message["Message-ID"] == email.message_id
    assert text_of(message).replace("\r\n", "\n").strip() == "Hi Kim,\nAnn"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hi Kim,<br>Ann" in html
    assert _kinds(kim) == ["email.queued", "email.sent"]
    sent = Activity.objects.get(contact=kim, kind="email.sent")
    assert sent.actor_user_id == email.sender_id  # a person's touch: the first-touch clock

    # The task run again (a retry, a second worker) and the POST retried: nothing more.
    assert personal_email_deliver.call(email.pk) == 0
    assert not _send(workspace, kim, ann_actor, client_id="click-1").created
    run_worker()
    assert len(smtp.messages) == 1
    assert _kinds(kim) == ["email.queued", "email.sent"]


def test_a_refused_recipient_fails_the_email_with_the_servers_answer(
    settings, workspace, kim, ann_actor
):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 No such user here"

    inbox = Refusing()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller.port)
        email = _send(workspace, kim, ann_actor).email
        run_worker()
    finally:
        controller.stop()
    email.refresh_from_db()
    assert email.status == "failed" and email.sent_at is None
    assert "550" in email.error and "No such user" in email.error
    assert inbox.messages == []
    assert _kinds(kim) == ["email.queued", "email.failed"]
    failed = Activity.objects.get(contact=kim, kind="email.failed")
    assert "No such user" in failed.data["error"]
    assert personal_email_deliver.call(email.pk) == 0  # failed for good: never retried


def test_a_mail_server_that_is_down_leaves_it_queued_and_a_later_try_sends_it(
    settings, workspace, kim, ann_actor
):
    use_smtp(settings, free_port())  # nothing listens there
    email = _send(workspace, kim, ann_actor).email
    run_worker()
    email.refresh_from_db()
    assert email.status == "queued" and email.attempts == 1
    assert email.error.startswith("Not sent yet, trying again")
    assert _kinds(kim) == ["email.queued"]  # not "sent": nothing reached a mail server
    retry = DBTaskResult.objects.filter(
        status="READY", task_path__endswith="personal_email_deliver"
    )
    assert retry.count() == 1 and retry.get().args_kwargs["kwargs"] == {"attempt": 1}

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller.port)
        assert personal_email_deliver.call(email.pk) == 1
    finally:
        controller.stop()
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 2 and email.error == ""
    assert len(inbox.messages) == 1


def test_no_address_withdrawn_consent_or_a_suppressed_address_is_refused(
    smtp,  # noqa: F811
    workspace,
    owner_actor,
    kim,
    ann_actor,
):
    nobody = contact_upsert(
        workspace=workspace, data={"phone": "+447911123456"}, actor=owner_actor
    ).contact
    with pytest.raises(ValidationFailed) as refused:
        _send(workspace, nobody, owner_actor)
    assert [error.field for error in refused.value.errors] == ["to"]

    def suppressed(workspace_id, address):
        return "unsubscribed" if address == "kim@initech.com" else None

    suppression_check_register(suppressed)
    try:
        with pytest.raises(ValidationFailed) as refused:
            _send(workspace, kim, ann_actor)
        assert "suppression list (unsubscribed)" in refused.value.errors[0].message
    finally:
        SUPPRESSION_CHECKS.remove(suppressed)

    # Queued, then consent withdrawn before the worker ran: it is not sent.
    email = _send(workspace, kim, ann_actor).email
    kim.refresh_from_db()
    from leadflow.contacts.services import contact_consent_set

    contact_consent_set(
        workspace=workspace, contact=kim, status=ConsentStatus.WITHDRAWN, actor=owner_actor
    )
    with pytest.raises(ValidationFailed):
        _send(workspace, kim, ann_actor)
    run_worker()
    email.refresh_from_db()
    assert email.status == "failed" and "withdrew consent" in email.error
    assert smtp.messages == []
    assert PersonalEmail.objects.count() == 1


def test_only_contacts_the_sender_may_see_in_the_senders_workspace(
    workspace, other_workspace, owner_actor, ann_actor, kim
):
    theirs = contact_upsert(
        workspace=other_workspace, data={"email": "x@other-co.com"}, actor=Actor.system()
    ).contact
    not_anns = contact_upsert(
        workspace=workspace, data={"email": "lee@initech.com"}, actor=owner_actor
    ).contact
    with pytest.raises(NotFound):
        _send(workspace, theirs, owner_actor)
    with pytest.raises(NotFound):
        _send(workspace, not_anns, ann_actor)  # a salesperson who sees only her own leads
    assert _send(workspace, not_anns, owner_actor).created
    # A client id names one email: reused for another contact, it is refused.
    _send(workspace, kim, ann_actor, client_id="same")
    with pytest.raises(ValidationFailed) as refused:
        _send(workspace, not_anns, owner_actor, client_id="same")
    assert refused.value.errors[0].field == "client_id"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_two_workers_at_once_send_one_email(smtp, workspace, kim, ann_actor):  # noqa: F811
    import threading

    email = _send(workspace, kim, ann_actor).email
    results = []

    def run():
        try:
            results.append(personal_email_deliver.call(email.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(smtp.messages) == 1
