"""Sales' background jobs, each safe to run twice:

- ``assignment_notify`` / ``assignments_notify`` (a routing batch): telling a lead's new
  owner, by email, after the commit that gave them the lead (an ``AssignmentNotice`` row
  makes it once-only; a mail server that is down makes it try again later,
  ``core.tasks.mail_retrying``).
- ``first_touch_deadlines``: the speed-to-lead sweep, every 30 s on the worker's clock
  (``core.scheduler``; registered in ``SalesConfig.ready``).
- ``first_touch_notify``: the emails of an overdue first touch (``FirstTouchNotice`` rows
  make each once-only per person).
- ``personal_email_deliver``: sending a member's personal email to a lead (the email's own
  row makes it once-only; a mail server that is down makes it try again later).
- ``followup_reminders_send``: the follow-up reminder sweep (on the worker's clock)."""

import datetime as dt
import hashlib
import smtplib
from collections import defaultdict
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.audience import users_who_see
from leadflow.contacts.models import ConsentStatus, Contact
from leadflow.contacts.services import activity_record
from leadflow.contacts.suppression import email_suppressed
from leadflow.core.actors import Actor
from leadflow.core.models import Membership, NotificationKind, User, Workspace
from leadflow.core.notifications import (
    email_send,
    link_base,
    member_notify,
    notifications_create,
)
from leadflow.core.tasks import MAIL_RETRY_DELAYS, mail_retrying
from leadflow.sales.followup_kinds import due_text
from leadflow.sales.kinds import EMAIL_FAILED, EMAIL_SENT, email_data
from leadflow.sales.merge import merged_html
from leadflow.sales.models import (
    Assignment,
    AssignmentNotice,
    FirstTouch,
    FirstTouchNotice,
    FollowUp,
    PersonalEmail,
    PersonalEmailStatus,
)
from leadflow.sales.selectors import assignee_time_zone
from leadflow.sales.services.first_touch import (
    first_touch_deadlines_process,
    first_touch_recipients,
)


@task()
@mail_retrying
def assignment_notify(assignment_pk: int, base_url: str = "") -> int:
    """Email the owner of this assignment the lead, with a link that opens it. Nothing is
    sent when the lead has changed hands since (the assignment is no longer its owner's),
    to someone no longer a member, or to whoever gave the lead to themselves."""
    return _assignment_email(assignment_pk, base_url)


@task()
@mail_retrying
def assignments_notify(assignment_pks: list[int], base_url: str = "") -> int:
    """Tell the new owners of a batch of assignments (a routing batch, a bulk reassign), in
    one task and one mail-server session: a person given one lead gets the lead's email
    (``assignment_notify``); a person given several gets one email listing them (a capture
    peak or a bulk reassign must not send a salesperson dozens of emails a minute). The
    same rules as for one lead: nothing about a lead that has changed hands since, to
    someone no longer a member, or to whoever gave it to themselves; each assignment's
    ``AssignmentNotice`` makes it once-only (a mail server that is down retries the batch
    later; what was sent is not sent again). Returns how many emails this run sent."""
    due = list(
        Assignment.objects.select_related("workspace", "contact", "owner", "team", "rule")
        .filter(pk__in=assignment_pks, owner__isnull=False, contact__owner_id=F("owner_id"))
        .filter(
            Exists(
                Membership.objects.filter(
                    workspace_id=OuterRef("workspace_id"), user_id=OuterRef("owner_id")
                )
            )
        )
        .exclude(actor_user_id=F("owner_id"), actor_user_id__isnull=False)
        .exclude(
            pk__in=AssignmentNotice.objects.filter(assignment_id__in=assignment_pks).values(
                "assignment_id"
            )
        )
        .order_by("pk")
    )
    groups: dict[tuple[int, int], list[Assignment]] = defaultdict(list)
    for assignment in due:
        groups[(assignment.workspace_id, assignment.owner_id)].append(assignment)
    sent = 0
    with mailers.default as connection:  # one mail-server session for the batch
        for _, group in sorted(groups.items()):
            if len(group) == 1:
                sent += _assignment_email(group[0].pk, base_url, connection)
            else:
                sent += _assignments_digest(group, base_url, connection)
    return sent


DIGEST_LISTED = 50  # leads listed in one email; the rest are counted, with a link to them


def _assignments_digest(group: list["Assignment"], base_url: str, connection) -> int:
    """One email to one person about several leads just given to them."""
    first = group[0]
    workspace, owner = first.workspace, first.owner
    base = link_base(base_url)
    leads = [
        {
            "assignment": assignment,
            "contact": assignment.contact,
            "details": _details(assignment.contact),
            "link": base
            + reverse(
                "contact_detail",
                kwargs={"workspace_slug": workspace.slug, "contact_id": assignment.contact_id},
            ),
        }
        for assignment in group[:DIGEST_LISTED]
    ]
    sent = email_send(
        to=owner.email,
        subject=f"{len(group)} new leads for you",
        template="sales/email/assigned_many",
        context={
            "workspace": workspace,
            "recipient": owner,
            "leads": leads,
            "count": len(group),
            "unlisted": max(0, len(group) - DIGEST_LISTED),
            "queue_link": base + reverse("my_leads", kwargs={"workspace_slug": workspace.slug}),
        },
        record=lambda: AssignmentNotice.objects.bulk_create(
            [
                AssignmentNotice(assignment=assignment, user=owner, recipient=owner.email)
                for assignment in group
            ]
        ),
        connection=connection,
    )
    return int(sent)


def _assignment_email(assignment_pk: int, base_url: str, connection=None) -> int:
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
        connection=connection,
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


@task()
def first_touch_deadlines() -> dict[str, int]:
    """Remind and escalate the first touches that are overdue (the periodic sweep)."""
    return first_touch_deadlines_process()


@task()
@mail_retrying
def first_touch_notify(first_touch_pk: int, kind: str, base_url: str = "") -> int:
    """Email about an overdue first touch: ``overdue`` to the lead's owner (the team's
    members while it waits in a queue), ``escalated`` to the team's leads (else the
    workspace's owners and admins). Nothing once the lead has been touched."""
    clock = (
        FirstTouch.objects.select_related("workspace", "contact", "team")
        .filter(pk=first_touch_pk, touched_at__isnull=True)
        .first()
    )
    if clock is None or kind not in ("overdue", "escalated"):
        return 0
    contact = clock.contact
    users = User.objects.filter(pk__in=first_touch_recipients(clock, kind))
    subject = (
        f"First touch overdue: {contact}"
        if kind == "overdue"
        else f"Lead still untouched: {contact}"
    )
    link = link_base(base_url) + reverse(
        "contact_detail",
        kwargs={"workspace_slug": clock.workspace.slug, "contact_id": contact.pk},
    )
    return member_notify(
        workspace=clock.workspace,
        users=users,
        subject=subject,
        template=f"sales/email/first_touch_{kind}",
        context={"clock": clock, "contact": contact, "details": _details(contact), "link": link},
        record=lambda user: FirstTouchNotice.objects.create(
            first_touch=clock, kind=kind, user=user
        ),
    )


# --- personal email -----------------------------------------------------------------------


class _Refused(Exception):
    """The mail server refused the email for good (a 5xx answer)."""


@task()
@mail_retrying
def personal_email_deliver(email_pk: int) -> int:
    """Hand a queued personal email to the mail server, once; returns 1 when this run sent.

    The email's row, locked (``select_for_update``) for the whole send, is the once-only
    record: only a ``queued`` email is sent, and it becomes ``sent`` (with ``sent_at``, its
    Message-ID and an ``email.sent`` activity) in the same transaction. A second run, or
    one waiting on the lock, finds it sent and does nothing. The one window left: a crash
    after the mail server took the email and before the commit sends it again on the
    retry, with the same Message-ID (made from the email, not at random), which lets the
    receiving side recognise the duplicate.

    A permanent refusal (a 5xx answer: the address does not exist...) marks the email
    ``failed`` with the server's answer and an ``email.failed`` activity, as does an
    address suppressed (or consent withdrawn) since the email was written. Anything else
    (the server is down, a 4xx answer) leaves it ``queued`` with the error noted and tries
    again later (``mail_retrying``); when those tries are spent it is marked ``failed``.
    """
    try:
        with transaction.atomic():
            email = PersonalEmail.objects.select_for_update().filter(pk=email_pk).first()
            if email is None or email.status != PersonalEmailStatus.QUEUED:
                return 0
            workspace = Workspace.objects.get(pk=email.workspace_id)
            contact = Contact.objects.get(pk=email.contact_id)
            sender = User.objects.filter(pk=email.sender_id).first()
            problem = _problem(workspace, contact, email.to_address)
            if problem:
                _fail(email, workspace, contact, sender, problem)
                return 0
            email.message_id = _message_id(email)
            try:
                _message(email, sender).send()
            except _Refused as refused:
                _fail(email, workspace, contact, sender, str(refused))
                return 0
            email.status = PersonalEmailStatus.SENT
            email.sent_at = timezone.now()
            email.attempts += 1
            email.error = ""
            email.save(update_fields=["status", "sent_at", "attempts", "error", "message_id"])
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=EMAIL_SENT,
                actor=_actor(sender),
                data=_data(email, sender, message_id=email.message_id),
                occurred_at=email.sent_at,
            )
        return 1
    except OSError as error:  # rolled back: note the try outside the transaction
        PersonalEmail.objects.filter(pk=email_pk, status=PersonalEmailStatus.QUEUED).update(
            attempts=F("attempts") + 1, error=f"Not sent yet, trying again: {error}"[:1000]
        )
        spent = PersonalEmail.objects.filter(
            pk=email_pk, status=PersonalEmailStatus.QUEUED, attempts__gt=len(MAIL_RETRY_DELAYS)
        ).first()
        if spent is None:
            raise
        with transaction.atomic():
            email = PersonalEmail.objects.select_for_update().get(pk=spent.pk)
            if email.status == PersonalEmailStatus.QUEUED:
                _fail(
                    email,
                    Workspace.objects.get(pk=email.workspace_id),
                    Contact.objects.get(pk=email.contact_id),
                    User.objects.filter(pk=email.sender_id).first(),
                    f"The mail server could not be reached: {error}",
                )
        return 0


def _problem(workspace: Workspace, contact: Contact, address: str) -> str:
    """Why the email must not go now, decided at the send: consent withdrawn, or its address
    suppressed, since it was written."""
    if contact.consent_status == ConsentStatus.WITHDRAWN:
        return "The contact withdrew consent before the email went."
    reason = email_suppressed(workspace.pk, address)
    return f"The address is on the suppression list ({reason})." if reason else ""


def _message(email: PersonalEmail, sender: User | None) -> "_Sending":
    """From: the sender's name at the installation's address (DEFAULT_FROM_EMAIL);
    Reply-To: the sender's own address, so the lead's answer reaches them."""
    name = sender.display_name if sender else ""
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body,
        from_email=formataddr((name, _from_address())) if name else settings.DEFAULT_FROM_EMAIL,
        to=[email.to_address],
        reply_to=[email.reply_to] if email.reply_to else [],
        headers={"Message-ID": email.message_id},
    )
    message.attach_alternative(merged_html(email.body), "text/html")
    return _Sending(message)


class _Sending:
    """The message, whose send turns a permanent refusal into ``_Refused``."""

    def __init__(self, message: EmailMultiAlternatives):
        self.message = message

    def send(self) -> None:
        try:
            self.message.send()
        except smtplib.SMTPRecipientsRefused as error:
            answers = list(error.recipients.values())
            if answers and all(code >= 500 for code, _ in answers):
                code, text = answers[0]
                raise _Refused(f"{code} {_text(text)}") from error
            raise
        except smtplib.SMTPAuthenticationError:
            raise  # the installation's settings: fixed by an administrator, then retried
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                raise _Refused(f"{error.smtp_code} {_text(error.smtp_error)}") from error
            raise


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _from_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "leadflow@localhost"


def _message_id(email: PersonalEmail) -> str:
    """The same for every try of one email (a resend after a crash is recognisable)."""
    digest = hashlib.sha256(f"{email.workspace_id}:{email.client_id}".encode()).hexdigest()[:20]
    domain = _from_address().rsplit("@", 1)[-1]
    return f"<personal.{email.pk}.{digest}@{domain}>"


def _actor(sender: User | None) -> Actor:
    """The sender did it (a person's touch); the system when the sender has gone."""
    return Actor.for_user(sender) if sender else Actor.system()


def _data(email: PersonalEmail, sender: User | None, **extra) -> dict:
    return email_data(
        email_id=email.pk,
        subject=email.subject,
        to=email.to_address,
        sender_id=email.sender_id,
        sender=sender.display_name if sender else "",
        **extra,
    )


def _fail(
    email: PersonalEmail, workspace: Workspace, contact: Contact, sender: User | None, error: str
) -> None:
    email.status = PersonalEmailStatus.FAILED
    email.error = error[:1000]
    email.attempts += 1
    email.save(update_fields=["status", "error", "attempts"])
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=EMAIL_FAILED,
        actor=Actor.system(),
        data=_data(email, sender, error=email.error),
    )


@task()
def leads_reroute(workspace_pk: int, contact_ids: list[int]) -> int:
    """Route again leads whose owner left the workspace (``member_leads_release``), by the
    rules, trigger ``owner_left``. Safe to run twice: routing passes over a lead that has
    an owner again. Returns how many were assigned or queued."""
    from leadflow.core.models import Workspace
    from leadflow.sales.models import Trigger
    from leadflow.sales.services import leads_route

    workspace = Workspace.objects.filter(pk=workspace_pk).first()
    if workspace is None:
        return 0
    made = leads_route(workspace=workspace, triggers=dict.fromkeys(contact_ids, Trigger.OWNER_LEFT))
    return len(made)


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
