"""The "My leads" page: who may open it, what it shows, its pinned query count, the
live poll and the one-click actions."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, LifecycleStage
from leadflow.contacts.services import contact_update
from leadflow.sales.models import FollowUp, LeadSnooze
from leadflow.sales.services import leads_give


@pytest.fixture
def seller(client_for):
    return client_for("sales", "sam@acme-widgets.com")


@pytest.fixture
def give(workspace, owner_actor, make_contact):
    def make(user, name: str, **fields):
        contact = make_contact(first_name=name, email=f"{name.lower()}@example.org", **fields)
        contact_update(
            workspace=workspace,
            contact_id=contact.pk,
            data={"owner_id": user.pk},
            actor=owner_actor,
        )
        return contact

    return make


def url(workspace, suffix=""):
    return f"/w/{workspace.slug}/my-leads/{suffix}"


def test_a_viewer_may_not_open_my_leads(workspace, client_for):
    client, _ = client_for("viewer")
    assert client.get(url(workspace)).status_code == 403


@pytest.mark.parametrize("role", ["owner", "admin", "marketer", "sales"])
def test_every_role_that_may_own_leads_has_my_leads_in_the_sidebar(
    workspace, client_for, owner_client, role
):
    client = owner_client if role == "owner" else client_for(role)[0]
    page = client.get(url(workspace))
    assert page.status_code == 200
    assert b'aria-current="page">' in page.content and b"My leads</a>" in page.content


def test_the_page_shows_only_own_leads_in_a_pinned_number_of_queries(
    workspace, seller, give, client_for
):
    client, membership = seller
    _, other = client_for("sales", "kim@acme-widgets.com")
    give(other.user, "Kimslead")
    give(membership.user, "Warmone", temperature="warm")
    client.get(url(workspace))
    with CaptureQueriesContext(connection) as few:
        page = client.get(url(workspace))
    for n in range(6):
        lead = give(membership.user, f"Hot{n}", temperature="hot")
        FollowUp.objects.create(
            workspace=workspace,
            contact=lead,
            assignee=membership.user,
            title=f"Call {n}",
            due_at=timezone.now() + dt.timedelta(days=1),
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url(workspace))
    assert len(many) == len(few)
    text = page.content.decode()
    assert "Kimslead" not in text
    assert text.index("Hot5") < text.index("Warmone")  # hot first, newest first
    assert "Next: Call 5" in text


def test_another_members_or_workspaces_lead_answers_404(
    workspace, seller, give, client_for, other_contact
):
    client, _ = seller
    _, other = client_for("sales", "kim@acme-widgets.com")
    kims = give(other.user, "Kimslead")
    for contact_id in (kims.pk, other_contact.pk):
        assert client.get(url(workspace, f"{contact_id}/")).status_code == 404
        answer = client.post(url(workspace, f"{contact_id}/disqualify/"), {"reason": "x"})
        assert answer.status_code == 404
    kims.refresh_from_db()
    assert kims.lifecycle_stage != LifecycleStage.DISQUALIFIED


def test_the_poll_answers_204_until_a_lead_is_given(workspace, seller, give, owner_actor):
    client, membership = seller
    give(membership.user, "First")
    since = timezone.now().isoformat()
    poll = client.get(url(workspace, "poll/"), {"since": since}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204
    newcomer = give(owner_actor.user, "Newcomer")
    leads_give(
        workspace=workspace,
        contact_ids=[newcomer.pk],
        owner_id=membership.user.pk,
        actor=owner_actor,
        trigger="manual",
        reason="By hand",
    )
    poll = client.get(url(workspace, "poll/"), {"since": since}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    assert b"Newcomer" in poll.content and b"1 new lead" in poll.content
    assert client.get(url(workspace, "poll/"), {"since": "yesterday"}).status_code == 400


def test_log_a_call_with_a_follow_up_from_the_panel(workspace, seller, give):
    client, membership = seller
    lead = give(membership.user, "Caller")
    answer = client.post(
        url(workspace, f"{lead.pk}/call/"),
        {
            "outcome": "no_answer",
            "notes": "Rang twice",
            "next": "on",
            "next_kind": "call",
            "next_title": "Try again",
            "next_due_at": (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lead-panel",
    )
    assert answer.status_code == 200
    assert answer["HX-Trigger"] == "my-leads-refresh"
    assert Activity.objects.filter(contact=lead, kind="call.logged").count() == 1
    assert FollowUp.objects.get(contact=lead).title == "Try again"


def test_a_bad_action_is_a_422_naming_the_field_and_writes_nothing(workspace, seller, give):
    client, membership = seller
    lead = give(membership.user, "Target")
    for action, data, field in (
        ("disqualify", {"reason": ""}, "Say why the lead is disqualified."),
        ("snooze", {"until": "2000-01-01T10:00"}, "Must be in the future."),
        ("call", {"outcome": "shouted"}, "outcome"),
    ):
        answer = client.post(url(workspace, f"{lead.pk}/{action}/"), data, HTTP_HX_REQUEST="true")
        assert answer.status_code == 422, action
        assert field.encode() in answer.content or b"has-error" in answer.content
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.LEAD
    assert not LeadSnooze.objects.exists()


def test_snooze_and_disqualify_take_the_lead_out_of_the_list(workspace, seller, give):
    client, membership = seller
    one, two = give(membership.user, "Sleeper"), give(membership.user, "Dropped")
    until = (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(url(workspace, f"{one.pk}/snooze/"), {"until": until}).status_code == 302
    answer = client.post(
        url(workspace, f"{two.pk}/disqualify/"), {"reason": "Student"}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200 and b"disqualified" in answer.content
    page = client.get(url(workspace)).content.decode()
    for gone in (one, two):
        assert f'data-lead-id="{gone.pk}"' not in page


def test_convert_to_a_deal_and_accept_an_mql(workspace, seller, give):
    client, membership = seller
    lead = give(membership.user, "Dealer")
    answer = client.post(url(workspace, f"{lead.pk}/deal/"), {}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and b"Open the deal" in answer.content
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.OPPORTUNITY
    mql = give(membership.user, "Qualified")
    Contact.objects.filter(pk=mql.pk).update(lifecycle_stage=LifecycleStage.MQL)
    assert b"Reject the MQL" in client.get(url(workspace, f"{mql.pk}/")).content
    client.post(url(workspace, f"{mql.pk}/accept/"), {}, HTTP_HX_REQUEST="true")
    mql.refresh_from_db()
    assert mql.lifecycle_stage == LifecycleStage.SQL
