"""The emails LeadFlow sends, in one place: the member notifications (a new lead from a form or
an ad platform, an invitation to a workspace; next: an assignment, a follow-up reminder) and
the few emails to a lead (the double opt-in link).

Only the worker sends: an app's ``tasks`` module calls ``member_notify`` (or ``email_send``),
and whatever wants an email sent schedules that task with ``core.tasks.task_schedule`` by its
dotted path. A request never waits on SMTP, and a mail server that is down makes the task
try again later (``core.tasks.mail_retrying``), never fails the change that asked for the
email.

Every email is a pair of templates, ``<template>.txt`` and ``<template>.html``, rendered with
the same context and sent through Django's mail (``MAILERS``) from DEFAULT_FROM_EMAIL.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from leadflow.core.models import Membership, User, Workspace

SUBJECT_MAX_LENGTH = 200


def link_base(base_url: str = "") -> str:
    """The site's address for links in an email: LEADFLOW_BASE_URL when set, else the address
    of the request that scheduled the email (tasks carry it), else the local default."""
    return (settings.LEADFLOW_BASE_URL or base_url or "http://127.0.0.1:8000").rstrip("/")


def email_send(
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    record: Callable[[], object] | None = None,
) -> bool:
    """Render ``template`` (.txt and .html) with ``context`` and email it to ``to``.

    With ``record`` the email goes once: ``record()`` writes a row under a unique constraint
    in the same transaction as the send. A row already there (an earlier run, or a
    concurrent one, which waits on the constraint) means nothing is sent; a failed send
    rolls the row back, so the retry sends. Returns whether this call sent the email.
    """
    message = EmailMultiAlternatives(
        subject=subject[:SUBJECT_MAX_LENGTH],
        body=render_to_string(f"{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    if record is None:
        message.send()
        return True
    try:
        with transaction.atomic():
            record()
            message.send()
    except IntegrityError:
        return False
    return True


def member_notify(
    *,
    workspace: Workspace,
    users: Iterable[User | None],
    subject: str,
    template: str,
    context: dict[str, Any],
    record: Callable[[User], object] | None = None,
) -> int:
    """Email ``users`` who are members of ``workspace`` now, each once, in address order.

    Someone who left the workspace (or never was in it) hears nothing, and a person named
    twice gets one email. The context gains ``workspace`` and ``recipient`` (the user).
    ``record(user)`` makes each email once-only as in ``email_send``. Returns how many
    emails this call sent.
    """
    wanted = {user.pk: user for user in users if user is not None}
    members = Membership.objects.filter(workspace=workspace, user_id__in=wanted).values_list(
        "user_id", flat=True
    )
    recipients = {wanted[user_id].email: wanted[user_id] for user_id in members}
    sent = 0
    for address, user in sorted(recipients.items()):
        sent += email_send(
            to=address,
            subject=subject,
            template=template,
            context={"workspace": workspace, "recipient": user, **context},
            record=(lambda user=user: record(user)) if record else None,
        )
    return sent
