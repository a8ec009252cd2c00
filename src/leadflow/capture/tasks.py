"""Side effects of a submission, run by the worker after commit; safe to run twice.

A failure here (SMTP down, say) fails the task, never the submission: it is committed.
"""

import contextlib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse

from leadflow.capture.models import NotificationLog, Submission, SubmissionStatus
from leadflow.capture.services import optin_token
from leadflow.contacts.services import duplicates_find_for
from leadflow.core.models import Membership, User


def _base_url(base_url: str) -> str:
    return (settings.LEADFLOW_BASE_URL or base_url or "http://127.0.0.1:8000").rstrip("/")


def _send_once(
    submission: Submission,
    *,
    kind: str,
    to: str,
    subject: str,
    template: str,
    context: dict,
    user: User | None = None,
) -> bool:
    if NotificationLog.objects.filter(submission=submission, recipient=to, kind=kind).exists():
        return False
    text = render_to_string(f"capture/email/{template}.txt", context)
    html = render_to_string(f"capture/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
    with contextlib.suppress(IntegrityError):  # a concurrent run sent it too
        NotificationLog.objects.create(submission=submission, recipient=to, kind=kind, user=user)
    return True


@task()
def submission_followup(submission_pk: int, base_url: str = "") -> dict[str, int]:
    """Everything a new submission triggers, in one queued task: notification emails, the
    double opt-in email, and the search for possible duplicates of the contact."""
    result = {
        "notified": submission_notify.call(submission_pk, base_url),
        "optin": 0,
        "duplicates": 0,
    }
    submission = Submission.objects.select_related("form").filter(pk=submission_pk).first()
    if submission is None or submission.contact_id is None:
        return result
    if submission.form.double_opt_in and submission.consents.exists():
        result["optin"] = optin_send.call(submission_pk, base_url)
    result["duplicates"] = duplicates_find_for(
        workspace=submission.workspace, contact_id=submission.contact_id
    )
    return result


def _answer_text(value) -> str:
    """An answer as the timeline shows it: a ticked box is "Yes", never Python's "True"."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


@task()
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
    members = {
        membership.user.email: membership.user
        for membership in Membership.objects.filter(
            workspace=submission.workspace, user_id__in=form.notify_user_ids
        ).select_related("user")
    }
    owner = submission.contact.owner
    if (
        form.notify_owner
        and owner
        and Membership.objects.filter(workspace=submission.workspace, user=owner).exists()
    ):
        members[owner.email] = owner
    if not members:
        return 0
    link = _base_url(base_url) + reverse(
        "contact_detail",
        kwargs={"workspace_slug": submission.workspace.slug, "contact_id": submission.contact_id},
    )
    labels = {field["name"]: field.get("label") or field["name"] for field in form.fields}
    answers = [
        (labels.get(name, name), _answer_text(value)) for name, value in submission.values.items()
    ]
    context = {
        "submission": submission,
        "form": form,
        "contact": submission.contact,
        "answers": answers,
        "link": link,
    }
    subject = f"New lead from {form.name}: {submission.contact}"
    sent = 0
    for email, user in sorted(members.items()):
        sent += _send_once(
            submission,
            kind="notify",
            to=email,
            subject=subject[:200],
            template="notify",
            context=context,
            user=user,
        )
    return sent


@task()
def optin_send(submission_pk: int, base_url: str = "") -> int:
    """Send the double opt-in email with its signed confirmation link."""
    submission = (
        Submission.objects.select_related("form", "contact", "workspace")
        .filter(pk=submission_pk, status=SubmissionStatus.ACCEPTED)
        .first()
    )
    if submission is None or submission.contact is None or not submission.contact.email:
        return 0
    link = _base_url(base_url) + reverse(
        "capture_optin_confirm", kwargs={"token": optin_token(submission)}
    )
    context = {
        "submission": submission,
        "form": submission.form,
        "contact": submission.contact,
        "link": link,
        "workspace": submission.workspace,
    }
    return int(
        _send_once(
            submission,
            kind="optin",
            to=submission.contact.email,
            subject=f"Please confirm your subscription to {submission.workspace.name}",
            template="optin",
            context=context,
        )
    )
