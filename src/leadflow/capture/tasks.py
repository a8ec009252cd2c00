"""Side effects of a submission, run by the worker after commit; safe to run twice.

A mail server that is down makes an email task try again later (``core.tasks.mail_retrying``)
and never fails the submission: it is committed.
Emails go out through ``core.notifications`` (the team's notice with ``member_notify``, the
lead's opt-in link with ``email_send``); a ``NotificationLog`` row makes each one once-only.
"""

from django.db import IntegrityError
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from leadflow.capture.magnet_links import magnet_link
from leadflow.capture.models import (
    MagnetGrant,
    NotificationLog,
    SeatStatus,
    Submission,
    SubmissionStatus,
)
from leadflow.capture.services import optin_token
from leadflow.core.models import User
from leadflow.core.notifications import email_send, link_base, member_notify
from leadflow.core.tasks import mail_retrying


@task()
def submission_followup(submission_pk: int, base_url: str = "") -> dict[str, int]:
    """Everything a new submission triggers, in one queued task: notification emails, the
    double opt-in email (also for a form with a magnet: it is delivered on confirmation).
    (Possible duplicates are found by the duplicate finder, which reads the activity log.)"""
    result = {
        "notified": submission_notify.call(submission_pk, base_url),
        "optin": 0,
    }
    submission = Submission.objects.select_related("form").filter(pk=submission_pk).first()
    if submission is None or submission.contact_id is None:
        return result
    if submission.form.double_opt_in and (
        submission.consents.exists() or submission.form.magnet_id
    ):
        result["optin"] = optin_send.call(submission_pk, base_url)
    return result


def _answer_text(value) -> str:
    """An answer as the timeline shows it: a ticked box is "Yes", never Python's "True"."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


@task()
@mail_retrying
def submission_notify(submission_pk: int, base_url: str = "") -> int:
    """Email the form's chosen members (and the contact's owner) the lead's answers."""
    submission = (
        Submission.objects.select_related("form", "contact", "contact__owner", "workspace")
        .filter(pk=submission_pk, status=SubmissionStatus.ACCEPTED)
        .first()
    )
    if submission is None or submission.contact is None:
        return 0
    form = submission.form
    users = list(User.objects.filter(pk__in=form.notify_user_ids))
    if form.notify_owner:
        users.append(submission.contact.owner)
    link = link_base(base_url) + reverse(
        "contact_detail",
        kwargs={"workspace_slug": submission.workspace.slug, "contact_id": submission.contact_id},
    )
    labels = {field["name"]: field.get("label") or field["name"] for field in form.fields}
    answers = [
        (labels.get(name, name), _answer_text(value)) for name, value in submission.values.items()
    ]
    return member_notify(
        workspace=submission.workspace,
        users=users,
        subject=f"New lead from {form.name}: {submission.contact}",
        template="capture/email/notify",
        context={
            "submission": submission,
            "form": form,
            "contact": submission.contact,
            "answers": answers,
            "link": link,
        },
        record=lambda user: NotificationLog.objects.create(
            submission=submission, recipient=user.email, kind="notify", user=user
        ),
    )


@task()
@mail_retrying
def optin_send(submission_pk: int, base_url: str = "") -> int:
    """Send the double opt-in email with its signed confirmation link."""
    submission = (
        Submission.objects.select_related("form", "contact", "workspace")
        .filter(pk=submission_pk, status=SubmissionStatus.ACCEPTED)
        .first()
    )
    if submission is None or submission.contact is None or not submission.contact.email:
        return 0
    link = link_base(base_url) + reverse(
        "capture_optin_confirm", kwargs={"token": optin_token(submission)}
    )
    recipient = submission.contact.email
    sent = email_send(
        to=recipient,
        subject=f"Please confirm your subscription to {submission.workspace.name}",
        template="capture/email/optin",
        context={
            "submission": submission,
            "form": submission.form,
            "contact": submission.contact,
            "link": link,
            "workspace": submission.workspace,
        },
        record=lambda: NotificationLog.objects.create(
            submission=submission, recipient=recipient, kind="optin"
        ),
    )
    return int(sent)


def _grant_for_email(grant_pk: int) -> MagnetGrant | None:
    grant = (
        MagnetGrant.objects.select_related("magnet", "contact", "workspace")
        .filter(pk=grant_pk)
        .first()
    )
    if grant is None or not grant.contact.email or not grant.magnet.active:
        return None
    return grant


def _magnet_email(
    grant: MagnetGrant, base_url: str, record=None, *, fresh: bool = False, freed: bool = False
) -> bool:
    magnet = grant.magnet
    subject = "A seat is yours: " if freed else "Your new link: " if fresh else "Here is "
    return email_send(
        to=grant.contact.email,
        subject=subject + magnet.name,
        template="capture/email/magnet",
        context={
            "grant": grant,
            "magnet": magnet,
            "contact": grant.contact,
            "workspace": grant.workspace,
            "link": magnet_link(grant, link_base(base_url)),
            "fresh": fresh,
            "freed": freed,
        },
        record=record,
    )


@task()
@mail_retrying
def magnet_deliver(grant_pk: int, base_url: str = "") -> int:
    """Email a lead the magnet they earned, exactly once: ``delivered_at`` is set in the
    transaction of the send (a run that finds it set sends nothing). A lead who waited and
    then got a seat gets one more, "A seat is yours", once: ``seat_delivered_at`` is set in
    its send (and in the first email's when that one already told of the seat).
    Transactional: no marketing cap or pacing applies."""
    grant = _grant_for_email(grant_pk)
    if grant is None:
        return 0
    seated = grant.seat == SeatStatus.SEATED
    rows = MagnetGrant.objects.filter(pk=grant.pk)

    def record() -> None:
        if not rows.filter(delivered_at__isnull=True).update(delivered_at=timezone.now()):
            raise IntegrityError("delivered already")
        if seated:  # this email says the seat is booked: the seat needs no email of its own
            rows.filter(seat_delivered_at__isnull=True).update(seat_delivered_at=timezone.now())

    def record_seat() -> None:
        if not rows.filter(seat=SeatStatus.SEATED, seat_delivered_at__isnull=True).update(
            seat_delivered_at=timezone.now()
        ):
            raise IntegrityError("told of the seat already")

    if grant.delivered_at is None:
        return int(_magnet_email(grant, base_url, record))
    if seated and grant.seat_delivered_at is None:
        return int(_magnet_email(grant, base_url, record_seat, freed=True))
    return 0


@task()
@mail_retrying
def magnet_link_send(grant_pk: int, base_url: str = "") -> int:
    """Email a lead a fresh link (asked for from an expired one; rate limited there)."""
    grant = _grant_for_email(grant_pk)
    if grant is None:
        return 0
    return int(_magnet_email(grant, base_url, fresh=True))
