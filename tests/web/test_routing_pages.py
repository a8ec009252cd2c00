"""Routing's pages: the settings (teams, availability, rules with the condition editor),
reassigning from the contact page and the contacts list, the team queue with Claim, and a
removed member's leads. Permissions, CSRF, tenancy and own-leads visibility."""

import pytest
from django.test import Client

from leadflow.contacts.models import Activity, Contact
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.sales.models import Assignment, AssignmentRule, Team, TeamMember, Trigger
from leadflow.sales.services import (
    assignment_rule_create,
    lead_route,
    team_create,
    team_member_add,
)
from tests.scoring.test_engagement_worker import run_worker
from tests.web.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(workspace, owner_actor):
    return team_create(workspace=workspace, name="EMEA", actor=owner_actor)


def test_an_admin_builds_a_team_and_sets_a_members_availability(
    owner_client, workspace, client_for
):
    _, seller = client_for("sales", "sam@acme-widgets.com")
    answer = owner_client.post(url(workspace, "settings/routing/teams/"), {"name": "EMEA"})
    team = Team.objects.get(workspace=workspace)
    assert answer.status_code == 302
    owner_client.post(
        url(workspace, f"settings/routing/teams/{team.pk}/members/"), {"user_id": seller.user_id}
    )
    member = TeamMember.objects.get(team=team)
    saved = owner_client.post(
        url(workspace, f"settings/routing/members/{member.pk}/"),
        {
            "weight": "2",
            "daily_capacity": "5",
            "time_zone": "Europe/Berlin",
            "away": "on",
            "away_until": "2030-01-02T09:00",
            "hours-mon": "09:00-12:00, 13:00-17:30",
            "hours-fri": "9:00-15:00",
        },
    )
    assert saved.status_code == 302, saved.content[:500]
    member.refresh_from_db()
    assert member.working_hours == {
        "mon": [["09:00", "12:00"], ["13:00", "17:30"]],
        "fri": [["09:00", "15:00"]],
    }
    assert (member.weight, member.daily_capacity, member.time_zone) == (2, 5, "Europe/Berlin")
    assert member.away and member.away_until.isoformat() == "2030-01-02T08:00:00+00:00"
    page = owner_client.get(url(workspace, f"settings/routing/teams/{team.pk}/"))
    assert "sam@acme-widgets.com" in page.content.decode()


def test_bad_availability_is_named_beside_each_input_and_nothing_is_saved(
    owner_client, workspace, team, client_for, owner_actor
):
    _, seller = client_for("sales", "sam@acme-widgets.com")
    member = team_member_add(
        workspace=workspace, team_id=team.pk, user_id=seller.user_id, actor=owner_actor
    )
    answer = owner_client.post(
        url(workspace, f"settings/routing/members/{member.pk}/"),
        {"weight": "0", "time_zone": "Mars/Olympus", "hours-tue": "nine to five"},
    )
    assert answer.status_code == 422
    errors = answer.context["errors"]
    assert {"weight", "time_zone", "working_hours.tue"} <= set(errors)
    assert "Tuesday: write spans as 09:00-17:30." in answer.content.decode()
    member.refresh_from_db()
    assert (member.weight, member.time_zone, member.working_hours) == (1, "UTC", {})


def test_a_rule_is_made_with_the_condition_editor_and_moved_toggled_and_deleted(
    owner_client, workspace, team
):
    base = url(workspace, "settings/routing/rules/")
    answer = owner_client.post(
        base + "new/",
        {
            "name": "Germany",
            "strategy": "round_robin",
            "team_id": str(team.pk),
            "fallback": "next_member",
            "enabled": "on",
            "rule-match": "all",
            "rule-field": ["country", ""],
            "rule-operator": ["eq", ""],
            "rule-value": ["DE", ""],
        },
    )
    assert answer.status_code == 302, answer.content[:800]
    first = AssignmentRule.objects.get(name="Germany")
    assert first.conditions["children"] == [{"field": "country", "operator": "eq", "value": "DE"}]
    owner_client.post(
        base + "new/",
        {
            "name": "Rest",
            "strategy": "round_robin",
            "team_id": team.pk,
            "fallback": "queue",
            "enabled": "on",
        },
    )
    second = AssignmentRule.objects.get(name="Rest")
    owner_client.post(base + f"{second.pk}/move/", {"direction": "up"})
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Rest", "Germany"]
    owner_client.post(base + f"{first.pk}/toggle/")
    assert not AssignmentRule.objects.get(pk=first.pk).enabled
    page = owner_client.get(url(workspace, "settings/routing/"))
    assert [rule.name for rule in page.context["rules"]] == ["Rest", "Germany"]
    owner_client.post(base + f"{first.pk}/delete/")
    assert not AssignmentRule.objects.filter(pk=first.pk).exists()


def test_a_bad_rule_names_its_fields_and_its_condition_row(owner_client, workspace):
    answer = owner_client.post(
        url(workspace, "settings/routing/rules/new/"),
        {
            "name": "",
            "strategy": "round_robin",
            "fallback": "queue",
            "rule-match": "all",
            "rule-field": ["engagement_score"],
            "rule-operator": ["gt"],
            "rule-value": ["lots"],
        },
    )
    assert answer.status_code == 422
    assert {"name", "team_id"} <= set(answer.context["rule_errors"])
    assert answer.context["rule_editor"].rows[0].errors
    assert not AssignmentRule.objects.exists()


@pytest.mark.parametrize("role", ["marketer", "sales", "viewer"])
def test_others_read_the_routing_settings_but_may_not_change_them(
    role, client_for, workspace, team
):
    client, _ = client_for(role)
    page = client.get(url(workspace, "settings/routing/"))
    assert page.status_code == 200
    assert "Create team" not in page.content.decode()
    assert client.post(url(workspace, "settings/routing/teams/"), {"name": "X"}).status_code == 403
    assert client.get(url(workspace, "settings/routing/rules/new/")).status_code == 403
    assert (
        client.post(url(workspace, f"settings/routing/teams/{team.pk}/delete/")).status_code == 403
    )
    assert Team.objects.count() == 1


def test_another_workspaces_team_rule_and_member_answer_404(owner_client, other_workspace):
    slug_workspace = Membership.objects.filter(user__email__isnull=False).first().workspace
    other_actor = Actor.system()
    theirs = team_create(workspace=other_workspace, name="Theirs", actor=other_actor)
    stranger = Membership.objects.get(workspace=other_workspace).user
    member = TeamMember.objects.create(team=theirs, user=stranger)
    rule = AssignmentRule.objects.create(
        workspace=other_workspace, name="Theirs", strategy="round_robin", team=theirs
    )
    workspace = owner_client.get("/").wsgi_request.user.memberships.first().workspace
    assert slug_workspace is not None
    for path in (
        f"settings/routing/teams/{theirs.pk}/",
        f"settings/routing/members/{member.pk}/",
        f"settings/routing/rules/{rule.pk}/",
    ):
        assert owner_client.get(url(workspace, path)).status_code == 404
    for path in (
        f"settings/routing/teams/{theirs.pk}/delete/",
        f"settings/routing/rules/{rule.pk}/delete/",
        f"settings/routing/members/{member.pk}/remove/",
    ):
        assert owner_client.post(url(workspace, path)).status_code == 404
    assert (
        Team.objects.filter(pk=theirs.pk).exists()
        and AssignmentRule.objects.filter(pk=rule.pk).exists()
    )


def test_the_routing_forms_need_the_csrf_token(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url(workspace, "settings/routing/teams/"), {"name": "X"}).status_code == 403
    assert not Team.objects.exists()


def test_a_contact_is_reassigned_from_its_page_and_shows_its_assignments(
    owner_client, workspace, contact, client_for
):
    _, seller = client_for("sales", "sam@acme-widgets.com")
    answer = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/reassign/"), {"to": f"person:{seller.user_id}"}
    )
    assert answer.status_code == 302
    contact.refresh_from_db()
    assert contact.owner_id == seller.user_id
    page = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert "Reassigned by hand" in page and "A fixed person" in page
    bad = owner_client.post(url(workspace, f"contacts/{contact.pk}/reassign/"), {"to": "x"})
    assert bad.status_code == 302  # back with the message naming the field
    assert Assignment.objects.count() == 1


def test_a_sales_member_reassigns_only_own_leads(workspace, client_for, make_contact):
    client, seller = client_for("sales", "sam@acme-widgets.com")
    _, other = client_for("sales", "bo@acme-widgets.com")
    mine = make_contact(email="mine@example.org", owner_id=seller.user_id)
    theirs = make_contact(email="theirs@example.org", owner_id=other.user_id)
    path = f"contacts/{theirs.pk}/reassign/"
    assert client.post(url(workspace, path), {"to": f"person:{seller.user_id}"}).status_code == 404
    answer = client.post(
        url(workspace, "contacts/reassign/"),
        {"ids": [mine.pk, theirs.pk], "to": f"person:{other.user_id}", "scope": "selected"},
    )
    assert answer.status_code == 302
    assert Contact.objects.get(pk=theirs.pk).owner_id == other.user_id
    assert Contact.objects.get(pk=mine.pk).owner_id == other.user_id
    assert Assignment.objects.filter(contact_id=theirs.pk).count() == 0


def test_the_contacts_list_reassigns_every_contact_matching_its_filter(
    owner_client, workspace, make_contact, client_for
):
    _, seller = client_for("sales", "sam@acme-widgets.com")
    tagged = [make_contact(email=f"t{n}@example.org", tags=["webinar"]) for n in range(3)]
    untouched = make_contact(email="other@example.org")
    answer = owner_client.post(
        url(workspace, "contacts/reassign/"),
        {"scope": "filter", "query": "tag=webinar", "to": f"person:{seller.user_id}"},
    )
    assert answer.status_code == 302
    owners = set(
        Contact.objects.filter(pk__in=[c.pk for c in tagged]).values_list("owner_id", flat=True)
    )
    assert owners == {seller.user_id}
    assert Contact.objects.get(pk=untouched.pk).owner_id is None
    assert Activity.objects.filter(kind="contact.assigned").count() == 3


@pytest.fixture
def queued(workspace, owner_actor, team, client_for, make_contact):
    """Sam (sales, away) is EMEA's only member, so two new leads wait in its queue."""
    client, seller = client_for("sales", "sam@acme-widgets.com")
    team_member_add(
        workspace=workspace,
        team_id=team.pk,
        user_id=seller.user_id,
        actor=owner_actor,
        settings={"away": True},
    )
    assignment_rule_create(
        workspace=workspace,
        data={"name": "All", "strategy": "round_robin", "team_id": team.pk},
        actor=owner_actor,
    )
    leads = [make_contact(email=f"q{n}@example.org", first_name=f"Queued{n}") for n in range(2)]
    for lead in leads:
        lead_route(workspace=workspace, contact_id=lead.pk, trigger=Trigger.CREATED)
    return client, seller, leads


def test_a_team_member_sees_the_queue_and_claims_a_lead(
    workspace, queued, django_assert_max_num_queries
):
    client, seller, leads = queued
    with django_assert_max_num_queries(12):
        page = client.get(url(workspace, "queue/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("Queued1") < html.index("Queued0")  # newest first
    # The queue is the one place a salesperson who sees only own leads sees them.
    assert client.get(url(workspace, f"contacts/{leads[0].pk}/")).status_code == 404
    claimed = client.post(url(workspace, f"queue/{leads[0].pk}/claim/"))
    assert claimed.status_code == 302 and claimed["Location"].endswith(f"/contacts/{leads[0].pk}/")
    assert Contact.objects.get(pk=leads[0].pk).owner_id == seller.user_id
    assert client.get(url(workspace, f"contacts/{leads[0].pk}/")).status_code == 200
    again = client.post(url(workspace, f"queue/{leads[0].pk}/claim/"), follow=True)
    assert "Someone claimed this lead first" in again.content.decode()
    assert Assignment.objects.filter(trigger=Trigger.CLAIMED).count() == 1


def test_someone_outside_the_team_gets_no_queue(workspace, queued, client_for):
    client, _ = client_for("sales", "out@acme-widgets.com")
    _, _, leads = queued
    assert client.get(url(workspace, "queue/")).status_code == 403
    assert client.post(url(workspace, f"queue/{leads[0].pk}/claim/")).status_code == 403
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, "queue/")).status_code == 403
    assert Contact.objects.get(pk=leads[0].pk).owner_id is None


def test_removing_a_member_hands_their_open_leads_to_the_chosen_successor(
    owner_client, workspace, client_for, make_contact
):
    _, leaving = client_for("sales", "leaving@acme-widgets.com")
    _, staying = client_for("sales", "staying@acme-widgets.com")
    open_leads = [
        make_contact(email=f"o{n}@example.org", owner_id=leaving.user_id) for n in range(3)
    ]
    won = make_contact(
        email="won@example.org", owner_id=leaving.user_id, lifecycle_stage="customer"
    )
    answer = owner_client.post(
        url(workspace, f"settings/members/{leaving.pk}/remove/"),
        {"successor_id": str(staying.user_id)},
    )
    assert answer.status_code == 302
    owners = Contact.objects.filter(pk__in=[c.pk for c in open_leads]).values_list(
        "owner_id", flat=True
    )
    assert set(owners) == {staying.user_id}
    assert Contact.objects.get(pk=won.pk).owner_id == leaving.user_id  # not an open lead
    assert Assignment.objects.filter(trigger=Trigger.OWNER_LEFT).count() == 3
    # The successor is told once in the app (one line for the three leads).
    from leadflow.core.models import Notification

    [told] = Notification.objects.filter(user_id=staying.user_id)
    assert "3" in told.title


@pytest.mark.django_db(transaction=True)
def test_removing_a_member_without_a_successor_routes_their_leads_again(
    owner_client, workspace, client_for, make_contact, team, owner_actor
):
    _, leaving = client_for("sales", "leaving@acme-widgets.com")
    _, staying = client_for("sales", "staying@acme-widgets.com")
    for membership in (leaving, staying):
        team_member_add(
            workspace=workspace, team_id=team.pk, user_id=membership.user_id, actor=owner_actor
        )
    assignment_rule_create(
        workspace=workspace,
        data={"name": "All", "strategy": "round_robin", "team_id": team.pk},
        actor=owner_actor,
    )
    leads = [make_contact(email=f"o{n}@example.org", owner_id=leaving.user_id) for n in range(2)]
    owner_client.post(
        url(workspace, f"settings/members/{leaving.pk}/remove/"), {"successor_id": ""}
    )
    assert set(
        Contact.objects.filter(pk__in=[c.pk for c in leads]).values_list("owner_id", flat=True)
    ) == {None}
    run_worker()  # the re-routing, after the commit, gave both to the one left
    owners = Contact.objects.filter(pk__in=[c.pk for c in leads]).values_list("owner_id", flat=True)
    assert set(owners) == {staying.user_id}
    assert not TeamMember.objects.filter(user_id=leaving.user_id).exists()
    # Routed by the rules (the new-lead subscriber may reach them first: either way once).
    routed = Assignment.objects.filter(contact_id__in=[c.pk for c in leads])
    assert sorted(routed.values_list("owner_id", flat=True)) == [staying.user_id] * 2


def test_a_successor_who_is_not_a_member_is_refused_and_nothing_changes(
    owner_client, workspace, other_workspace, client_for, make_contact
):
    _, leaving = client_for("sales", "leaving@acme-widgets.com")
    stranger = Membership.objects.get(workspace=other_workspace).user
    lead = make_contact(email="o@example.org", owner_id=leaving.user_id)
    owner_client.post(
        url(workspace, f"settings/members/{leaving.pk}/remove/"),
        {"successor_id": str(stranger.pk)},
    )
    assert Membership.objects.filter(pk=leaving.pk).exists()
    assert Contact.objects.get(pk=lead.pk).owner_id == leaving.user_id


def test_a_rules_first_touch_deadline_is_set_in_its_form_and_bad_minutes_are_named(
    owner_client, workspace, team
):
    base = url(workspace, "settings/routing/rules/")
    form = {
        "name": "Demo requests",
        "strategy": "round_robin",
        "team_id": str(team.pk),
        "fallback": "queue",
        "enabled": "on",
        "speed_to_lead": "1",
        "first_touch_minutes": "15",
        "breach_escalation": "reassign",
        "escalate_after_minutes": "10",
        "rule-match": "all",
    }
    answer = owner_client.post(base + "new/", form)
    assert answer.status_code == 302, answer.content[:800]
    rule = AssignmentRule.objects.get(name="Demo requests")
    assert (rule.first_touch_minutes, rule.first_touch_business_hours) == (15, False)
    assert (rule.breach_escalation, rule.escalate_after_minutes) == ("reassign", 10)
    page = owner_client.get(base + f"{rule.pk}/").content.decode()
    assert 'name="first_touch_minutes"' in page and 'value="15"' in page
    bad = owner_client.post(
        base + "new/",
        {**form, "name": "Bad", "first_touch_minutes": "0", "escalate_after_minutes": "soon"},
    )
    assert bad.status_code == 422
    assert {"first_touch_minutes", "escalate_after_minutes"} <= set(bad.context["rule_errors"])
    assert not AssignmentRule.objects.filter(name="Bad").exists()


def test_a_companys_account_owner_is_set_on_its_form_and_shown_on_its_page(
    owner_client, workspace, client_for, make_contact
):
    from leadflow.contacts.models import Company

    _, seller = client_for("sales", "sam@acme-widgets.com")
    contact = make_contact(email="kim@initech.com")
    company = Company.objects.get(pk=contact.company_id)
    page = url(workspace, f"companies/{company.pk}/")
    answer = owner_client.post(
        page + "edit/", {"name": company.name, "owner_id": str(seller.user_id)}
    )
    assert answer.status_code == 302, answer.content[:600]
    company.refresh_from_db()
    assert company.owner_id == seller.user_id
    assert "Account owner" in owner_client.get(page).content.decode()
    bad = owner_client.post(page + "edit/", {"name": company.name, "owner_id": "999999"})
    assert bad.status_code == 422 and "owner_id" in bad.context["errors"]
