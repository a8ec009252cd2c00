"""How LeadFlow tells people things, in one place: the member emails (a new lead from a form
or an ad platform, an invitation to a workspace, an assignment, a follow-up reminder, a
mention), the few emails to a lead (the double opt-in link), and the in-app notifications
behind the bell in the app's header (``Notification`` rows, below).

Only the worker sends: an app's ``tasks`` module calls ``member_notify`` (or ``email_send``),
and whatever wants an email sent schedules that task with ``core.tasks.task_schedule`` by its
dotted path. A request never waits on SMTP, and a mail server that is down makes the task
try again later (``core.tasks.mail_retrying``), never fails the change that asked for the
email.

Every email is a pair of templates, ``<template>.txt`` and ``<template>.html``, rendered with
the same context and sent through Django's mail (``MAILERS``) from DEFAULT_FROM_EMAIL.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from leadflow.core.models import Membership, Notification, User, Workspace

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
    connection: Any = None,
) -> bool:
    """Render ``template`` (.txt and .html) with ``context`` and email it to ``to``
    (through ``connection`` when given: a batch of emails shares one mail-server session).

    With ``record`` the email goes once: ``record()`` writes a row under a unique constraint
    in the same transaction as the send. A row already there (an earlier run, or a
    concurrent one, which waits on the constraint) means nothing is sent; a failed send
    rolls the row back, so the retry sends. Returns whether this call sent the email.
    """
    message = EmailMultiAlternatives(
        subject=subject[:SUBJECT_MAX_LENGTH],
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        connection=connection,
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
    connection: Any = None,
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
            connection=connection,
        )
    return sent


# --- in-app notifications ---------------------------------------------------------------------
#
# The bell in the app's header and the notifications page read these rows. Whoever tells a
# member something in the app writes them with ``notifications_create`` in the transaction of
# the change itself (a lead assigned, a follow-up due, a mention), so the row exists exactly
# when the change does. Core stands below contacts: the caller decides who may hear of a
# contact (``contacts.audience.users_who_see``) and passes only those users.

NOTIFICATION_PAGE = 50
EMAIL_TASK = "leadflow.core.tasks.notifications_email"


def notifications_create(
    *,
    workspace: Workspace,
    user_ids: Iterable[int | None],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    contact_id: int | None = None,
    email: bool = False,
    base_url: str = "",
) -> list[Notification]:
    """Notify these users (each once, only current members of ``workspace``; None and
    duplicates are dropped) with one INSERT, in the caller's transaction. With ``email``
    each also gets the notification by email after the commit, once
    (``core.tasks.notifications_email``). Returns the rows written."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return []
    members = sorted(
        Membership.objects.filter(workspace=workspace, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                workspace=workspace,
                user_id=user_id,
                kind=kind,
                title=title[:200],
                body=body,
                link=link[:500],
                contact_id=contact_id,
                created_at=now,
            )
            for user_id in members
        ]
    )
    if email and rows:
        from leadflow.core.tasks import task_schedule  # tasks stand above this module

        ids = [row.pk for row in rows]
        if any(pk is None for pk in ids):  # a backend without RETURNING on bulk inserts
            ids = list(
                Notification.objects.filter(
                    workspace=workspace, user_id__in=members, created_at=now, kind=kind
                ).values_list("pk", flat=True)
            )
        task_schedule(EMAIL_TASK, ids, base_url)
    return rows


@dataclass(frozen=True)
class NotificationDraft:
    """One in-app notification to write with others (``notifications_write``)."""

    user_id: int
    kind: str
    title: str
    body: str = ""
    link: str = ""
    contact_id: int | None = None


def notifications_write(*, workspace: Workspace, drafts: list[NotificationDraft]) -> int:
    """Write many different notifications at once (a routing batch tells each new owner of
    each lead): one query for who is still a member, one INSERT, in the caller's
    transaction; drafts for non-members are dropped. No email. Returns the rows written."""
    wanted = {draft.user_id for draft in drafts}
    if not wanted:
        return 0
    members = set(
        Membership.objects.filter(workspace=workspace, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                workspace=workspace,
                user_id=draft.user_id,
                kind=draft.kind,
                title=draft.title[:200],
                body=draft.body,
                link=draft.link[:500],
                contact_id=draft.contact_id,
                created_at=now,
            )
            for draft in drafts
            if draft.user_id in members
        ]
    )
    return len(rows)


def notification_list(workspace: Workspace, user: User, *, unread: bool = False):
    """The user's notifications in ``workspace``, newest first (``unread``: only those)."""
    rows = Notification.objects.filter(workspace=workspace, user=user)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")


def notification_unread_count(workspace: Workspace, user: User) -> int:
    """How many of the user's notifications in ``workspace`` are unread: one COUNT on the
    partial index of unread rows."""
    return Notification.objects.filter(workspace=workspace, user=user, read_at__isnull=True).count()


def notification_mark_read(*, workspace: Workspace, user: User, notification_id: int) -> int:
    """Mark one of the user's own notifications read (already read: left as it was).
    Returns 1 when it is the user's, 0 when there is no such notification of theirs (another
    member's or another workspace's id is not found, never touched)."""
    rows = Notification.objects.filter(workspace=workspace, user=user, pk=notification_id)
    if not rows.exists():
        return 0
    rows.filter(read_at__isnull=True).update(read_at=timezone.now())
    return 1


def notifications_mark_all_read(*, workspace: Workspace, user: User) -> int:
    """Mark every unread notification of the user in ``workspace`` read, in one UPDATE.
    Returns how many changed."""
    return Notification.objects.filter(workspace=workspace, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_email_claim(notification: Notification) -> None:
    """The ``record`` of a notification's email: mark it emailed, or raise IntegrityError
    when it already was (``email_send`` then sends nothing). The conditional UPDATE takes the
    row's lock, so of two concurrent runs one sends and the other finds it emailed."""
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        raise IntegrityError("This notification was emailed already.")
