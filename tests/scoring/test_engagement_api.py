"""The engagement API: rules listed, added, changed and deleted (audited, a recompute
scheduled), bad input named field by field, another workspace's ids are 404, scopes
enforced, and a contact's score with its breakdown."""

import pytest
from django_tasks_db.models import DBTaskResult

from leadflow.core.models import ApiScope, AuditEntry
from leadflow.scoring.models import EngagementRule
from leadflow.scoring.services import contacts_rescore, profile_get
from tests.scoring.engagement_helpers import NOW, days_ago, event, new_contact, only_rules, rule

pytestmark = pytest.mark.django_db
RULES = "/scoring/engagement-rules"
PRICING = {
    "name": "Pricing twice",
    "source": "event",
    "kind": "pageview",
    "conditions": [{"property": "url", "operator": "matches", "value": "*pricing*"}],
    "points": 15,
    "cap_per_day": 2,
}


def rescores() -> int:
    return DBTaskResult.objects.filter(
        task_path="leadflow.scoring.tasks.workspace_rescore", status="READY"
    ).count()


def fields(response) -> set[str]:
    assert response.status_code == 422, response.content
    return {error["field"] for error in response.json()["errors"]}


def test_the_list_starts_with_the_default_rules(api):
    response = api.get(RULES)
    assert response.status_code == 200
    assert response.json()[0]["name"] == "Form submitted"


def test_a_rule_is_added_audited_and_every_contact_recomputed(api, workspace):
    response = api.post(RULES, PRICING)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["conditions"] == PRICING["conditions"] and body["cap_total"] is None
    assert rescores() == 1
    assert AuditEntry.objects.filter(action="scoring.engagement_rule_created").count() == 1
    assert api.get(f"{RULES}/{body['id']}").json()["name"] == "Pricing twice"


def test_a_change_touches_only_the_fields_given(api, workspace):
    created = api.post(RULES, PRICING).json()
    response = api.patch(f"{RULES}/{created['id']}", {"points": -5, "cap_per_day": None})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["points"], body["cap_per_day"], body["name"]) == (-5, None, "Pricing twice")
    assert rescores() == 2
    entry = AuditEntry.objects.get(action="scoring.engagement_rule_updated")
    assert entry.changes == {"points": ["15", "-5"], "cap_per_day": ["2", "None"]}


def test_a_change_that_changes_nothing_schedules_nothing(api, workspace):
    created = api.post(RULES, PRICING).json()
    api.patch(f"{RULES}/{created['id']}", {"points": 15})
    assert rescores() == 1


def test_a_deleted_rule_is_gone(api, workspace):
    created = api.post(RULES, PRICING).json()
    assert api.delete(f"{RULES}/{created['id']}").status_code == 204
    assert api.get(f"{RULES}/{created['id']}").status_code == 404
    assert AuditEntry.objects.filter(action="scoring.engagement_rule_deleted").count() == 1


def test_bad_input_names_every_bad_field(api):
    bad = {
        "name": " ",
        "source": "event",
        "kind": "telepathy",
        "conditions": [
            {"property": "data.form", "operator": "eq", "value": "x"},
            {"property": "url", "operator": "matches", "value": "**"},
        ],
        "points": 5000,
        "cap_per_day": 0,
        "cap_total": -1,
    }
    assert fields(api.post(RULES, bad)) == {
        "name",
        "kind",
        "conditions[0].property",
        "conditions[1].value",
        "points",
        "cap_per_day",
        "cap_total",
    }
    assert fields(api.post(RULES, {**PRICING, "points": 0})) == {"points"}
    assert fields(api.post(RULES, {**PRICING, "source": "dream"})) == {"source"}
    assert fields(api.post(RULES, {**PRICING, "extra": 1})) == {"extra"}
    regex = {**PRICING, "conditions": [{"property": "url", "operator": "re", "value": "x"}]}
    assert len(fields(api.post(RULES, regex))) == 1
    assert EngagementRule.objects.filter(name__in=[" ", "Pricing twice"]).count() == 0


def test_a_change_of_source_checks_the_kind_against_it(api):
    created = api.post(RULES, PRICING).json()
    assert fields(api.patch(f"{RULES}/{created['id']}", {"source": "activity"})) == {
        "kind",
        "conditions[0].property",
    }
    assert fields(api.patch(f"{RULES}/{created['id']}", {"name": None})) == {"name"}


def test_huge_and_foreign_ids_are_not_found_or_refused(api, other_api, other_workspace):
    profile_get(other_workspace)
    theirs = EngagementRule.objects.filter(workspace=other_workspace).first()
    for method in ("get", "delete"):
        assert getattr(api, method)(f"{RULES}/{theirs.pk}").status_code == 404
    assert api.patch(f"{RULES}/{theirs.pk}", {"points": 3}).status_code == 404
    assert api.get(f"{RULES}/{2**70}").status_code == 404  # beyond 64 bits: no such rule
    stranger = new_contact(other_workspace, "bob@example.com")
    assert api.get(f"/contacts/{stranger.pk}/score").status_code == 404
    assert other_api.get(f"/contacts/{stranger.pk}/score").status_code == 200
    assert EngagementRule.objects.get(pk=theirs.pk).points == theirs.points


def test_scopes_are_enforced(workspace, api_key_for):
    reader = api_key_for(workspace, [ApiScope.SETTINGS_READ, ApiScope.CONTACTS_WRITE])
    assert reader.get(RULES).status_code == 200
    assert reader.post(RULES, PRICING).status_code == 403
    ada = new_contact(workspace)
    assert reader.get(f"/contacts/{ada.pk}/score").status_code == 403


def test_a_contacts_score_comes_with_its_breakdown(api, workspace):
    only_rules(workspace)
    page = rule(workspace, points=4)
    ada = new_contact(workspace)
    event(workspace, ada, at=days_ago(30))
    event(workspace, ada, at=NOW)
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[ada.pk], now=NOW)
    body = api.get(f"/contacts/{ada.pk}/score").json()
    assert body["engagement_score"] == 6.0
    assert body["points"] == 8
    assert [(line["rule_id"], line["count"]) for line in body["lines"]] == [(page.pk, 2)]
