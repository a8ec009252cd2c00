"""Routing's background jobs: telling a lead's new owner, by email, after the commit that
gave them the lead (safe to run twice: an ``AssignmentNotice`` row makes it once-only; a
mail server that is down makes it try again later, ``core.tasks.mail_retrying``)."""

from django.tasks import task
from django.urls import reverse

from leadflow.core.notifications import link_base, member_notify
from leadflow.core.tasks import mail_retrying
from leadflow.sales.models import Assignment, AssignmentNotice


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
