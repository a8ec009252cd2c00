"""Scheduling background work so that it is never lost and never runs on uncommitted data.

With the database-backed queue (the default) a task row is written in the SAME transaction
as the change that needs it: both commit or neither does (a transactional outbox), and it
costs no extra commit. With RQ on Redis the task is sent after the commit.

Tasks stand above services: a ``tasks`` module imports services and calls them, and a
service never imports a ``tasks`` module. A service names the task it schedules by its
dotted path (``"leadflow.capture.tasks.submission_followup"``), resolved here.

Core's own background work lives here too: the invitation email to a new member.
"""

from functools import partial
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.db import connection, transaction
from django.tasks import task
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string
from django_tasks_db.backend import DatabaseBackend

from leadflow.core.models import Membership, User
from leadflow.core.notifications import link_base, member_notify


def task_schedule(task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` to run after the current transaction commits.

    ``task`` is a task, or its dotted path (how services name theirs, as they stand below
    their ``tasks`` module)."""
    if isinstance(task, str):
        task = import_string(task)
    if connection.in_atomic_block and isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(partial(task.enqueue, *args))


@task()
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
