"""Sales' background jobs, each safe to run twice:

- ``assignment_notify``: telling a lead's new owner, by email, after the commit that gave
  them the lead (an ``AssignmentNotice`` row makes it once-only; a mail server that is down
  makes it try again later, ``core.tasks.mail_retrying``).
- ``first_touch_deadlines``: the speed-to-lead sweep, every 30 s on the worker's clock
  (``core.scheduler``; registered in ``SalesConfig.ready``).
- ``first_touch_notify``: the emails of an overdue first touch (``FirstTouchNotice`` rows
  make each once-only per person)."""

from django.tasks import task
from django.urls import reverse

from leadflow.core.notifications import link_base, member_notify
from leadflow.core.selectors import member_users
from leadflow.core.tasks import mail_retrying
from leadflow.sales.models import (
    Assignment,
    AssignmentNotice,
    FirstTouch,
    FirstTouchNotice,
    TeamMember,
)
from leadflow.sales.services.first_touch import first_touch_deadlines_process


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
    team_members = TeamMember.objects.filter(team_id=clock.team_id).select_related("user")
    if kind == "overdue":
        users = [contact.owner] if contact.owner_id else [member.user for member in team_members]
        subject = f"First touch overdue: {contact}"
    else:
        users = [member.user for member in team_members if member.is_lead] or list(
            member_users(clock.workspace, permission="manage_members")
        )
        subject = f"Lead still untouched: {contact}"
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
