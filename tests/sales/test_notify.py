"""A lead's new owner is emailed once, by the worker after the commit, through a real SMTP
server, with a link that opens the lead for them; nobody is emailed for a lead left in a
queue, for a lead they gave themselves, or after it changed hands again."""

import re

import pytest
from django.test import Client

from leadflow.contacts.models import Contact
from leadflow.sales.models import AssignmentNotice, Strategy
from leadflow.sales.services import leads_reassign
from leadflow.sales.tasks import assignment_notify
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401
from tests.conftest import PASSWORD
from tests.sales.conftest import condition

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed


def _link(message) -> str:
    return re.search(r"Open the lead: (\S+)", text_of(message)).group(1)


def test_the_routed_owner_is_emailed_once_and_the_link_opens_the_lead(
    smtp,  # noqa: F811
    workspace,
    salesperson,
    team_of,
    rule,
    lead,
):
    ann = salesperson("ann")
    team, _ = team_of("EMEA", [ann])
    rule(
        Strategy.ROUND_ROBIN, team=team, name="Europe", conditions=condition("country", "eq", "GB")
    )
    contact = lead(first_name="Kim", last_name="Lee", country="GB", job_title="CTO")
    assert smtp.messages == []  # routing and its email happen in the worker
    run_worker()  # delivers the creation (routes), then sends the email
    run_worker()

    assert Contact.objects.get(pk=contact.pk).owner_id == ann.pk
    [message] = smtp.to(ann.email)
    assert message["Subject"] == "New lead for you: Kim Lee"
    body = text_of(message)
    assert 'routing rule "Europe", team EMEA' in body
    assert "Job title: CTO" in body and "Country: GB" in body
    link = _link(message)
    assert link.endswith(f"/w/{workspace.slug}/contacts/{contact.pk}/")

    # A retry of the task sends nothing more.
    notice = AssignmentNotice.objects.get()
    assert assignment_notify.call(notice.assignment_id) == 0
    assert len(smtp.to(ann.email)) == 1

    # Ann, a salesperson who sees only her own leads, opens the lead from the email.
    browser = Client()
    assert browser.login(email=ann.email, password=PASSWORD)
    page = browser.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    assert page.status_code == 200 and "Kim" in page.content.decode()


def test_no_email_for_a_queued_lead_a_lead_given_to_oneself_or_one_that_moved_on(
    smtp,  # noqa: F811
    workspace,
    owner,
    owner_actor,
    salesperson,
    team_of,
    rule,
    lead,
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("Nobody home", [(ann, {"away": True})])
    rule(Strategy.ROUND_ROBIN, team=team)  # ann is away: the lead waits in the queue
    queued = lead()
    run_worker()
    run_worker()
    assert Contact.objects.get(pk=queued.pk).owner_id is None
    assert smtp.messages == []

    # The workspace owner takes the queued lead himself: he is not told what he just did.
    leads_reassign(
        workspace=workspace, contact_ids=[queued.pk], owner_id=owner.pk, actor=owner_actor
    )
    run_worker()
    assert Contact.objects.get(pk=queued.pk).owner_id == owner.pk
    assert smtp.messages == []

    # Given to Ann by the owner, then to Bob before the worker ran: only Bob hears of it.
    other = lead()
    leads_reassign(workspace=workspace, contact_ids=[other.pk], owner_id=ann.pk, actor=owner_actor)
    leads_reassign(workspace=workspace, contact_ids=[other.pk], owner_id=bob.pk, actor=owner_actor)
    run_worker()
    assert smtp.to(ann.email) == []
    assert len(smtp.to(bob.email)) == 1


def test_several_leads_for_one_person_in_one_batch_make_one_email_listing_each(
    smtp,  # noqa: F811
    workspace,
    owner,
    owner_actor,
    salesperson,
    lead,
):
    """A bulk reassign (or a capture peak routed in one batch) sends a person one email
    naming every lead with its link, once; a lead that changed hands before the send is
    left out, and someone given a single lead gets the one-lead email."""
    ann, bob = salesperson("ann"), salesperson("bob")
    leads = [lead(first_name="Kim", last_name=f"Lee{number}") for number in range(3)]
    moved = lead(first_name="Moved", last_name="On")
    alone = lead(first_name="Solo", last_name="Lead")
    run_worker()  # no rule: routing leaves them alone
    ids = [contact.pk for contact in [*leads, moved]]
    leads_reassign(workspace=workspace, contact_ids=ids, owner_id=ann.pk, actor=owner_actor)
    leads_reassign(
        workspace=workspace, contact_ids=[moved.pk], owner_id=owner.pk, actor=owner_actor
    )
    leads_reassign(workspace=workspace, contact_ids=[alone.pk], owner_id=bob.pk, actor=owner_actor)
    run_worker()
    run_worker()

    [digest] = smtp.to(ann.email)
    assert digest["Subject"] == "3 new leads for you"
    body = text_of(digest)
    for contact in leads:
        assert f"{contact.first_name} {contact.last_name}" in body
        assert f"/w/{workspace.slug}/contacts/{contact.pk}/" in body
    assert "Moved On" not in body
    assert f"/w/{workspace.slug}/my-leads/" in body
    [single] = smtp.to(bob.email)
    assert single["Subject"] == "New lead for you: Solo Lead"
    assert smtp.to(owner.email) == []  # he gave the moved lead to himself

    # Each of Ann's assignments is recorded as told; the batch run again sends nothing.
    from leadflow.sales.models import Assignment
    from leadflow.sales.tasks import assignments_notify

    given = list(
        Assignment.objects.filter(contact_id__in=ids, owner_id=ann.pk).values_list("pk", flat=True)
    )
    assert AssignmentNotice.objects.filter(assignment_id__in=given).count() == 3
    assert assignments_notify.call(given) == 0
    assert len(smtp.to(ann.email)) == 1
