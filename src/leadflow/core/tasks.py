"""Scheduling background work so that it is never lost and never runs on uncommitted data.

With the database-backed queue (the default) a task row is written in the SAME transaction
as the change that needs it: both commit or neither does (a transactional outbox), and it
costs no extra commit. With RQ on Redis the task is sent after the commit.

Tasks stand above services: a ``tasks`` module imports services and calls them, and a
service never imports a ``tasks`` module. A service names the task it schedules by its
dotted path (``"leadflow.capture.tasks.submission_followup"``), resolved here.

Core's own background work lives here too: the invitation email to a new member.

Email tasks are ``@mail_retrying``: a mail server that is down or refuses the message (any
``OSError``, ``smtplib.SMTPException`` included) schedules the same task again, later
(``MAIL_RETRY_DELAYS``: from a minute to a day, about two days in all), instead of failing
it for good. Emails already sent are recorded by the app (``core.notifications``), so a
retry sends only what is missing.
"""

import datetime as dt
import functools
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.db import connection, transaction
from django.db.models import Q
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string
from django_tasks_db.backend import DatabaseBackend

from leadflow.core.models import Membership, Notification, User
from leadflow.core.notifications import link_base, member_notify, notification_email_claim

logger = logging.getLogger("leadflow.mail")

# Seconds before each retry of an email task whose send failed: 8 tries after the first.
MAIL_RETRY_DELAYS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)


def task_schedule(task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` to run after the current transaction commits.

    ``task`` is a task, or its dotted path (how services name theirs, as they stand below
    their ``tasks`` module)."""
    if isinstance(task, str):
        task = import_string(task)
    if isinstance(task.get_backend(), DatabaseBackend) and task.run_after is None:
        # Due now, said as a time: the database queue orders ready tasks by due time, and
        # one with none sorts after every one that has one, so under a steady stream of
        # deliveries (due now) an email or an import would wait for as long as they come.
        task = task.using(run_after=timezone.now())
    if connection.in_atomic_block and isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(partial(task.enqueue, *args))


def task_schedule_coalesced(task: Any, *args: Any, priority: int = 0) -> None:
    """Enqueue ``task(*args)``, unless the same call already waits in the database queue,
    due now: that one has not started, so it will read everything committed up to here.
    Made for work that reads "everything new" (the activity log's delivery), where one run
    per commit is wasted effort that, under a steady stream of commits, queues faster than
    the workers drain it. Only outside a transaction (after the commit that needs it): in
    one, the waiting task could start and finish before this transaction commits, so it
    is scheduled as usual. ``priority``: the database queue runs higher first (a run that
    continues a long backlog gives way to fresh work with a lower one)."""
    if isinstance(task, str):
        task = import_string(task)
    if not connection.in_atomic_block:
        queued = _queued(task, *args, due=True)
        # A waiting run takes the lower priority (a backlog's next slice gives way).
        if queued is not None and queued.filter(priority__gt=priority).update(priority=priority):
            return
        if queued is not None and queued.exists():
            return
    if isinstance(task.get_backend(), DatabaseBackend):
        # Due now, said as a time: the queue orders ready tasks by due time, and one with no
        # time sorts after every one that has one, so a quiet workspace's run would wait
        # behind a busy workspace's rechecks for as long as they keep coming.
        task = task.using(run_after=timezone.now(), priority=priority)
    task_schedule(task, *args)


def task_waiting(task: Any, *args: Any, due: bool = False) -> bool:
    """Whether ``task(*args)`` waits in the database queue, not started (with ``due``: and
    due to run now, not later). Always False on another backend (RQ)."""
    queued = _queued(task, *args, due=due)
    return queued is not None and queued.exists()


def _queued(task: Any, *args: Any, due: bool = False):
    """The database queue's waiting runs of ``task(*args)``; None on another backend."""
    if not isinstance(task.get_backend(), DatabaseBackend):
        return None
    from django_tasks_db.models import DBTaskResult, get_date_max

    queued = DBTaskResult.objects.filter(
        task_path=task.module_path, status="READY", args_kwargs={"args": list(args), "kwargs": {}}
    )
    if due:
        queued = queued.filter(Q(run_after=get_date_max()) | Q(run_after__lte=timezone.now()))
    return queued


def mail_retrying(func: Callable[..., int]) -> Callable[..., int]:
    """For an email task (put it under ``@task()``): a failed send schedules the task again
    after the next of ``MAIL_RETRY_DELAYS`` with ``attempt`` one higher, and answers 0; when
    the tries are spent the error is raised and the task fails (logged with its arguments).
    """

    @functools.wraps(func)
    def retrying(*args: Any, attempt: int = 0, **kwargs: Any) -> int:
        try:
            return func(*args, **kwargs)
        except OSError as error:
            if attempt >= len(MAIL_RETRY_DELAYS):
                logger.error(
                    "%s%r: sending failed %d times, giving up", func.__name__, args, attempt + 1
                )
                raise
            delay = MAIL_RETRY_DELAYS[attempt]
            logger.warning(
                "%s%r: sending failed (%s); trying again in %d s", func.__name__, args, error, delay
            )
            again = import_string(f"{func.__module__}.{func.__qualname__}")
            again.using(run_after=timezone.now() + dt.timedelta(seconds=delay)).enqueue(
                *args, attempt=attempt + 1, **kwargs
            )
            return 0

    return retrying


@task()
@mail_retrying
def invitation_send(membership_pk: int, inviter_pk: int | None = None, base_url: str = "") -> int:
    """Email a new member the link to choose a password and join the workspace.

    Nothing is sent to someone no longer a member, to a deactivated account, or to someone
    who has chosen a password already (a second run after they did). The link is Django's
    password-reset link, valid until the password is set (PASSWORD_RESET_TIMEOUT)."""
    membership = (
        Membership.objects.select_related("user", "workspace").filter(pk=membership_pk).first()
    )
    if membership is None:
        return 0
    user = membership.user
    if not user.is_active or user.has_usable_password():
        return 0
    link = link_base(base_url) + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return member_notify(
        workspace=membership.workspace,
        users=[user],
        subject=f"You have been added to {membership.workspace.name} on LeadFlow",
        template="core/email/invitation",
        context={"inviter": User.objects.filter(pk=inviter_pk).first(), "link": link},
    )


@task()
@mail_retrying
def notifications_email(notification_ids: list[int], base_url: str = "") -> int:
    """Email each of these in-app notifications to its member, once: a notification already
    emailed (an earlier or a concurrent run) is skipped, a failed send leaves it to the retry
    (``core.notifications.notification_email_claim``). Nothing goes to someone no longer a
    member. Returns how many emails this run sent."""
    sent = 0
    notifications = Notification.objects.select_related("workspace", "user").filter(
        pk__in=notification_ids, emailed_at__isnull=True
    )
    for notification in notifications.order_by("pk"):
        sent += member_notify(
            workspace=notification.workspace,
            users=[notification.user],
            subject=notification.title,
            template="core/email/notification",
            context={
                "notification": notification,
                "link": link_base(base_url) + notification.link if notification.link else "",
            },
            record=lambda user, notification=notification: notification_email_claim(notification),
        )
    return sent
