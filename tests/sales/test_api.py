"""Routing over /api/v1: teams, members, rules (with their order), reassignment, the queue
with its claim and a contact's assignments; bad input named, other workspaces' ids 404,
idempotent creates, pinned query counts on the lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.sales.models import Assignment, AssignmentRule, Strategy, Team, Trigger
from leadflow.sales.services import lead_route, team_create
from tests.sales.conftest import WEDNESDAY_10_UTC, condition

pytestmark = pytest.mark.django_db


def test_a_team_is_built_read_renamed_and_deleted(api, salesperson):
    ann = salesperson("ann")
    made = api.post("/sales/teams", {"name": "EMEA"})
    assert made.status_code == 201, made.content
    team_id = made.json()["id"]
    added = api.post(
        f"/sales/teams/{team_id}/members",
        {
            "user_id": ann.pk,
            "weight": 3,
            "daily_capacity": 10,
            "working_hours": {"mon": [["09:00", "17:00"]]},
            "time_zone": "Europe/Berlin",
        },
    )
    assert added.status_code == 201, added.content
    member = added.json()
    assert (member["email"], member["weight"], member["time_zone"]) == (
        "ann@acme-widgets.com",
        3,
        "Europe/Berlin",
    )
    changed = api.patch(
        f"/sales/team-members/{member['id']}",
        {"away": True, "away_until": "2030-01-01T09:00:00+01:00", "daily_capacity": None},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["away"] is True and changed.json()["daily_capacity"] is None
    assert api.patch(f"/sales/teams/{team_id}", {"name": "Europe"}).json()["name"] == "Europe"
    listed = api.get("/sales/teams").json()
    assert [(team["name"], len(team["members"])) for team in listed] == [("Europe", 1)]
    assert api.delete(f"/sales/team-members/{member['id']}").status_code == 204
    assert api.delete(f"/sales/teams/{team_id}").status_code == 204
    assert not Team.objects.exists()


def test_bad_member_settings_are_each_named(api, salesperson, workspace, owner_actor):
    team = team_create(workspace=workspace, name="EMEA", actor=owner_actor)
    answer = api.post(
        f"/sales/teams/{team.pk}/members",
        {
            "user_id": salesperson("ann").pk,
            "weight": 0,
            "time_zone": "Mars/Olympus",
            "working_hours": {"mon": [["18:00", "09:00"]]},
            "away_until": "2030-01-01T09:00:00",
        },
    )
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert {"weight", "time_zone", "away_until"} <= fields
    assert any(field.startswith("working_hours") for field in fields)
    assert not team.members.exists()


def test_rules_are_created_reordered_changed_and_deleted(api, workspace, owner_actor, salesperson):
    ann = salesperson("ann")
    team = team_create(workspace=workspace, name="EMEA", actor=owner_actor)
    first = api.post(
        "/sales/rules",
        {"name": "Demo", "strategy": "round_robin", "team_id": team.pk, "fallback": "queue"},
    ).json()
    second = api.post(
        "/sales/rules",
        {
            "name": "Germany",
            "strategy": "fixed_person",
            "owner_id": ann.pk,
            "conditions": condition("country", "eq", "DE"),
        },
    )
    assert second.status_code == 201, second.content
    second = second.json()
    assert [rule["name"] for rule in api.get("/sales/rules").json()] == ["Demo", "Germany"]
    ordered = api.put("/sales/rules/order", {"rule_ids": [second["id"], first["id"]]})
    assert [rule["name"] for rule in ordered.json()] == ["Germany", "Demo"]
    bad_order = api.put("/sales/rules/order", {"rule_ids": [second["id"]]})
    assert bad_order.status_code == 422
    assert bad_order.json()["errors"][0]["field"] == "rule_ids"
    assert api.patch(f"/sales/rules/{first['id']}", {"enabled": False}).json()["enabled"] is False
    assert api.delete(f"/sales/rules/{first['id']}").status_code == 204
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Germany"]


def test_bad_rules_name_each_field(api, workspace, other_workspace):
    foreign = team_create(workspace=other_workspace, name="Theirs", actor=Actor.system())
    answer = api.post(
        "/sales/rules",
        {
            "name": "",
            "strategy": "round_robin",
            "team_id": foreign.pk,
            "conditions": condition("engagement_score", "gt", "lots"),
        },
    )
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert {"name", "team_id"} <= fields
    assert any(field.startswith("conditions") for field in fields)
    unknown = api.post("/sales/rules", {"name": "x", "strategy": "magic"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "strategy"
    assert not AssignmentRule.objects.exists()


def test_a_team_create_with_an_idempotency_key_is_made_once(api):
    headers = {"Idempotency-Key": "team-1"}
    first = api.post("/sales/teams", {"name": "EMEA"}, headers=headers)
    again = api.post("/sales/teams", {"name": "EMEA"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Team.objects.count() == 1


def test_reassigning_records_and_lists_the_history(api, workspace, salesperson, lead):
    ann = salesperson("ann")
    contacts = [lead(), lead()]
    answer = api.post(
        "/sales/reassign", {"contact_ids": [c.pk for c in contacts], "owner_id": ann.pk}
    )
    assert answer.status_code == 200, answer.content
    assigned = answer.json()["assigned"]
    assert [item["owner_id"] for item in assigned] == [ann.pk, ann.pk]
    assert assigned[0]["trigger"] == "manual" and assigned[0]["actor"].startswith("API key")
    history = api.get(f"/contacts/{contacts[0].pk}/assignments").json()
    assert [item["reason"] for item in history["items"]] == ["Reassigned by hand"]
    neither = api.post("/sales/reassign", {"contact_ids": [contacts[0].pk]})
    assert neither.status_code == 422
    assert neither.json()["errors"][0]["field"] == "owner_id"


def test_reassigning_passes_over_other_workspaces_contacts_and_refuses_their_people(
    api, workspace, other_workspace, salesperson, lead
):
    stranger = Membership.objects.get(workspace=other_workspace).user
    theirs = Contact.objects.create(workspace=other_workspace, email="zed@other-co.com")
    answer = api.post(
        "/sales/reassign", {"contact_ids": [theirs.pk], "owner_id": salesperson("ann").pk}
    )
    assert answer.status_code == 200 and answer.json()["assigned"] == []
    theirs.refresh_from_db()
    assert theirs.owner_id is None
    refused = api.post("/sales/reassign", {"contact_ids": [lead().pk], "owner_id": stranger.pk})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "owner_id"


@pytest.fixture
def queued(workspace, salesperson, team_of, rule, lead):
    """Two leads left in EMEA's queue (its only member is away)."""
    ann = salesperson("ann")
    team, _ = team_of("EMEA", [(ann, {"away": True})])
    rule(Strategy.ROUND_ROBIN, team=team)
    leads = [lead(first_name=f"Lead{n}") for n in range(2)]
    for contact in leads:
        lead_route(
            workspace=workspace,
            contact_id=contact.pk,
            trigger=Trigger.CREATED,
            now=WEDNESDAY_10_UTC,
        )
    return team, ann, leads


def test_the_queue_lists_waiting_leads_newest_first_and_pages(api, queued):
    team, _, leads = queued
    page = api.get(f"/sales/teams/{team.pk}/queue?limit=1").json()
    assert [item["contact_id"] for item in page["items"]] == [leads[1].pk]
    rest = api.get(f"/sales/teams/{team.pk}/queue?limit=1&cursor={page['next_cursor']}").json()
    assert [item["contact_id"] for item in rest["items"]] == [leads[0].pk]
    assert rest["next_cursor"] is None
    with CaptureQueriesContext(connection) as queries:
        api.get(f"/sales/teams/{team.pk}/queue")
    assert len(queries) <= 6, [q["sql"] for q in queries]  # key, scope, team, page


def test_a_claim_gives_the_lead_and_a_second_claim_is_a_409(api, queued, salesperson):
    team, ann, leads = queued
    claimed = api.post(f"/contacts/{leads[0].pk}/claim", {"user_id": ann.pk})
    assert claimed.status_code == 201, claimed.content
    assert claimed.json()["trigger"] == "claimed" and claimed.json()["team"] == "EMEA"
    assert Contact.objects.get(pk=leads[0].pk).owner_id == ann.pk
    again = api.post(f"/contacts/{leads[0].pk}/claim", {"user_id": ann.pk})
    assert again.status_code == 409
    assert again.json()["code"] == "already_claimed"
    outsider = salesperson("bob")
    refused = api.post(f"/contacts/{leads[1].pk}/claim", {"user_id": outsider.pk})
    assert refused.status_code == 403
    assert Contact.objects.get(pk=leads[1].pk).owner_id is None
    queue = api.get(f"/sales/teams/{team.pk}/queue").json()
    assert [item["contact_id"] for item in queue["items"]] == [leads[1].pk]


def test_another_workspaces_queue_team_and_contact_answer_404(other_api, queued):
    team, ann, leads = queued
    assert other_api.get(f"/sales/teams/{team.pk}/queue").status_code == 404
    assert other_api.post(f"/contacts/{leads[0].pk}/claim", {"user_id": ann.pk}).status_code == 404
    assert other_api.get(f"/contacts/{leads[0].pk}/assignments").status_code == 404
    assert Assignment.objects.filter(trigger=Trigger.CLAIMED).count() == 0


def test_a_rules_first_touch_deadline_through_the_api(api, workspace, owner_actor):
    team = team_create(workspace=workspace, name="EMEA", actor=owner_actor)
    made = api.post(
        "/sales/rules",
        {
            "name": "Demo",
            "strategy": "round_robin",
            "team_id": team.pk,
            "first_touch_minutes": 15,
            "breach_escalation": "reassign",
        },
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["first_touch_minutes"], body["first_touch_business_hours"]) == (15, True)
    assert (body["breach_escalation"], body["escalate_after_minutes"]) == ("reassign", 15)
    changed = api.patch(f"/sales/rules/{body['id']}", {"first_touch_minutes": None})
    assert changed.json()["first_touch_minutes"] is None
    bad = api.patch(
        f"/sales/rules/{body['id']}",
        {"first_touch_minutes": 0, "escalate_after_minutes": 99999, "breach_escalation": "shout"},
    )
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["errors"]}
    assert "breach_escalation" in fields
    fixed = api.patch(
        f"/sales/rules/{body['id']}", {"first_touch_minutes": 0, "escalate_after_minutes": 99999}
    )
    assert {error["field"] for error in fixed.json()["errors"]} == {
        "first_touch_minutes",
        "escalate_after_minutes",
    }
    assert AssignmentRule.objects.get().first_touch_minutes is None
