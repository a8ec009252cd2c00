"""The suppression list and topics over the API: add (201, then 200 with the first
reason), check one address in the body, keyset pages, remove (audited); topics CRUD;
another workspace's ids answer 404, unknown fields 422, scopes are enforced."""

import hashlib

import pytest

from leadflow.contacts.suppression import email_suppressed
from leadflow.core.models import ApiScope, AuditEntry
from leadflow.nurture.models import Suppression, Topic

pytestmark = pytest.mark.django_db


def test_add_check_list_and_remove(api, workspace):
    created = api.post(
        "/nurture/suppressions", {"address": "Ann@Example.org", "reason": "complaint"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["address_hash"] == hashlib.sha256(b"ann@example.org").hexdigest()
    assert body["reason"] == "complaint" and body["source"] == "API"
    assert body["created_by"] == "API key tests"
    again = api.post("/nurture/suppressions", {"address": "ann@example.org", "reason": "manual"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["reason"] == "complaint"

    check = api.post("/nurture/suppressions/check", {"address": "ANN@example.org"}).json()
    assert check["suppressed"] and check["suppression"]["id"] == body["id"]
    clean = api.post("/nurture/suppressions/check", {"address": "bob@example.org"}).json()
    assert clean == {"suppressed": False, "suppression": None}

    assert api.get(f"/nurture/suppressions/{body['id']}").json()["reason"] == "complaint"
    assert api.get("/nurture/suppressions/counts").json()["complaint"] == 1
    assert api.delete(f"/nurture/suppressions/{body['id']}").status_code == 204
    assert email_suppressed(workspace.pk, "ann@example.org") is None
    assert AuditEntry.objects.filter(action="suppression.removed").count() == 1
    assert api.get(f"/nurture/suppressions/{body['id']}").status_code == 404


def test_the_list_pages_newest_first_by_keyset_in_a_fixed_number_of_queries(
    api, django_assert_max_num_queries
):
    for number in range(7):
        api.post("/nurture/suppressions", {"address": f"p{number}@example.org"})
    seen = []
    cursor = None
    while True:
        path = "/nurture/suppressions?limit=3" + (f"&cursor={cursor}" if cursor else "")
        with django_assert_max_num_queries(3):  # the key, its last use, the page
            page = api.get(path).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 7
    assert len(api.get("/nurture/suppressions?reason=manual").json()["items"]) == 7
    assert api.get("/nurture/suppressions?reason=imported").json()["items"] == []
    assert api.get("/nurture/suppressions?reason=bored").status_code == 422
    assert api.get("/nurture/suppressions?cursor=nonsense").status_code == 422


def test_another_workspaces_rows_answer_404(api, other_api):
    theirs = other_api.post("/nurture/suppressions", {"address": "a@example.org"}).json()
    assert api.get(f"/nurture/suppressions/{theirs['id']}").status_code == 404
    assert api.delete(f"/nurture/suppressions/{theirs['id']}").status_code == 404
    assert (
        api.post("/nurture/suppressions/check", {"address": "a@example.org"}).json()["suppressed"]
        is False
    )
    assert api.get("/nurture/suppressions").json()["items"] == []
    topic = other_api.post("/nurture/topics", {"name": "Theirs"}).json()
    assert api.get(f"/nurture/topics/{topic['id']}").status_code == 404
    assert api.patch(f"/nurture/topics/{topic['id']}", {"name": "Mine"}).status_code == 404
    assert api.delete(f"/nurture/topics/{topic['id']}").status_code == 404
    assert Topic.objects.get().name == "Theirs"


def test_unknown_fields_and_bad_values_answer_422(api):
    response = api.post("/nurture/suppressions", {"address": "a@example.org", "colour": "red"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["colour"]
    assert (
        api.post("/nurture/suppressions", {"address": "a@example.org", "reason": "x"}).status_code
        == 422
    )
    bad = api.post("/nurture/suppressions", {"address": "not an address"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "address"
    assert api.post("/nurture/suppressions/check", {"address": "a@b.c", "x": 1}).status_code == 422
    assert api.post("/nurture/topics", {"name": "T", "colour": "red"}).status_code == 422
    assert api.post("/nurture/topics", {"name": "  "}).status_code == 422
    assert not Suppression.objects.exists() and not Topic.objects.exists()


def test_scopes_are_enforced(workspace, api_key_for):
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ, ApiScope.SETTINGS_READ])
    assert reader.get("/nurture/suppressions").status_code == 200
    assert reader.post("/nurture/suppressions", {"address": "a@example.org"}).status_code == 403
    assert reader.post("/nurture/topics", {"name": "T"}).status_code == 403
    assert not Suppression.objects.exists()


def test_an_idempotent_add_replays(api):
    headers = {"Idempotency-Key": "add-1"}
    first = api.post("/nurture/suppressions", {"address": "a@example.org"}, headers=headers)
    again = api.post("/nurture/suppressions", {"address": "a@example.org"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Suppression.objects.count() == 1


def test_topics_crud(api):
    created = api.post("/nurture/topics", {"name": "Events", "description": "Meetups"})
    assert created.status_code == 201
    topic = created.json()
    assert api.post("/nurture/topics", {"name": "events"}).status_code == 409
    changed = api.patch(f"/nurture/topics/{topic['id']}", {"description": "Meetups and webinars"})
    assert changed.json()["name"] == "Events"
    assert changed.json()["description"] == "Meetups and webinars"
    assert [t["name"] for t in api.get("/nurture/topics").json()] == ["Events"]
    assert api.delete(f"/nurture/topics/{topic['id']}").status_code == 204
    assert api.get("/nurture/topics").json() == []
