"""Sales' background jobs, each safe to run twice: telling a lead's new owner, by email,
after the commit that gave them the lead (an ``AssignmentNotice`` row makes it once-only;
a mail server that is down makes it try again later, ``core.tasks.mail_retrying``), and
the follow-up reminder sweep (``followup_reminders_send``)."""

import datetime as dt

from django.db import connection, transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.audience import users_who_see
from leadflow.core.models import NotificationKind
from leadflow.core.notifications import link_base, member_notify, notifications_create
from leadflow.core.tasks import mail_retrying
from leadflow.sales.followup_kinds import due_text
from leadflow.sales.models import Assignment, AssignmentNotice, FollowUp
from leadflow.sales.selectors import assignee_time_zone


@task()
@mail_retrying
def assignment_notify(assignment_pk: int, base_url: str = "") -> int:
    """Email the owner of this assignment the lead, with a link that opens it. Nothing is
    sent when the lead has changed hands since (the assignment is no longer its owner's),
    to someone no longer a member, or to whoever gave the lead to themselves."""
    assignment = (
        Assignment.objects.select_related("workspace", "contact", "owner", "team", "rule")
        .filter(pk=assignment_pk, owner__isnull=False)
        .first()
    )
    if assignment is None or assignment.contact.owner_id != assignment.owner_id:
        return 0
    if assignment.actor_user_id == assignment.owner_id:
        return 0
    contact = assignment.contact
    link = link_base(base_url) + reverse(
        "contact_detail",
        kwargs={"workspace_slug": assignment.workspace.slug, "contact_id": contact.pk},
    )
    return member_notify(
        workspace=assignment.workspace,
        users=[assignment.owner],
        subject=f"New lead for you: {contact}",
        template="sales/email/assigned",
        context={
            "assignment": assignment,
            "contact": contact,
            "details": _details(contact),
            "link": link,
        },
        record=lambda user: AssignmentNotice.objects.create(
            assignment=assignment, user=user, recipient=user.email
        ),
    )


def _details(contact) -> list[tuple[str, str]]:
    """The lead's main fields as the email lists them (empty ones left out)."""
    pairs = [
        ("Name", f"{contact.first_name} {contact.last_name}".strip()),
        ("Email", contact.email or ""),
        ("Phone", contact.phone or ""),
        ("Job title", contact.job_title),
        ("Country", contact.country),
        ("Stage", contact.get_lifecycle_stage_display()),
        ("Temperature", contact.get_temperature_display()),
    ]
    return [(label, value) for label, value in pairs if value]


# --- follow-up reminders ------------------------------------------------------------------------

REMINDER_BATCH = 500


@task()
def followup_reminders_send(now: dt.datetime | str | None = None, base_url: str = "") -> int:
    """Remind the assignees of every open follow-up whose reminder time has come, once.

    Set-based and race-safe: each batch is claimed by one ``UPDATE ... SET reminded_at
    WHERE reminded_at IS NULL ... RETURNING id``, so of two sweeps running at once each
    follow-up goes to exactly one (the other's UPDATE finds it claimed). In the claim's
    transaction each assignee who may still see the lead gets an in-app notification, and
    its email is scheduled (once: ``core.tasks.notifications_email``). Run every minute by
    the scheduler (``SalesConfig.ready``); ``now`` is for tests. Returns how many follow-ups
    were reminded."""
    if isinstance(now, str):
        now = dt.datetime.fromisoformat(now)
    now = now or timezone.now()
    reminded = 0
    while True:
        with transaction.atomic():
            claimed = _reminders_claim(now)
            for followup in (
                FollowUp.objects.filter(pk__in=claimed)
                .select_related("workspace", "contact", "assignee")
                .order_by("pk")
            ):
                _remind(followup, base_url)
        reminded += len(claimed)
        if len(claimed) < REMINDER_BATCH:
            return reminded


def _reminders_claim(now: dt.datetime) -> list[int]:
    table = connection.ops.quote_name(FollowUp._meta.db_table)
    moment = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores it
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET reminded_at = %s WHERE id IN ("  # noqa: S608 (our table)
            f" SELECT id FROM {table} WHERE reminded_at IS NULL AND done_at IS NULL"
            f" AND reminder_at <= %s ORDER BY reminder_at, id LIMIT %s"
            f") AND reminded_at IS NULL RETURNING id",
            [moment, moment, REMINDER_BATCH],
        )
        return [row[0] for row in cursor.fetchall()]


def _remind(followup: FollowUp, base_url: str) -> None:
    workspace, contact = followup.workspace, followup.contact
    if not users_who_see(workspace, contact.pk, [followup.assignee_id]):
        return  # the lead moved on to someone else: its follow-up tells nobody
    _, zone_name = assignee_time_zone(workspace, followup.assignee_id)
    due = due_text({"due_at": followup.due_at.isoformat(), "time_zone": zone_name})
    notifications_create(
        workspace=workspace,
        user_ids=[followup.assignee_id],
        kind=NotificationKind.FOLLOWUP_DUE,
        title=f"Follow-up due: {followup.title}",
        body=f"{followup.get_kind_display()} with {contact}, due {due}."
        + (f"\n\n{followup.notes}" if followup.notes else ""),
        link=reverse(
            "contact_detail",
            kwargs={"workspace_slug": workspace.slug, "contact_id": contact.pk},
        ),
        contact_id=contact.pk,
        email=True,
        base_url=base_url,
    )
