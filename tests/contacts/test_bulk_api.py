"""POST /api/v1/contacts/bulk: per-item results, item atomicity, limits, idempotency, tenancy."""

import json
import time

from leadflow.contacts.models import Activity, Contact
from leadflow.core.models import ApiScope, IdempotencyRecord


def bulk(api, contacts, **kwargs):
    return api.post("/contacts/bulk", {"contacts": contacts}, **kwargs)


def test_mix_of_new_existing_duplicate_and_invalid_items(api, workspace):
    existing = api.post("/contacts", {"email": "old@initech.com", "first_name": "Old"}).json()
    response = bulk(
        api,
        [
            {"email": "new@initech.com", "first_name": "New", "tags": ["webinar"]},
            {"email": "OLD@initech.com", "job_title": "CTO"},
            {"email": "twice@initech.com", "first_name": "First"},
            {"email": "not-an-email"},
            {"email": "unknown@initech.com", "favourite_colour": "red"},
            {"email": "typed@initech.com", "tags": "not-a-list", "custom_fields": 3},
            {"email": "twice@initech.com", "last_name": "Second"},
            "not an object",
            {"first_name": "No identity"},
        ],
    )
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(9))
    assert [r["status"] for r in results] == [
        "created",
        "updated",
        "created",
        "error",
        "error",
        "error",
        "updated",
        "error",
        "error",
    ]
    assert (body["created"], body["updated"], body["failed"]) == (2, 2, 5)
    assert results[1]["id"] == existing["id"]
    assert results[6]["id"] == results[2]["id"]
    for result in results:
        assert (result["id"] is None) == (result["status"] == "error")
        assert bool(result["errors"]) == (result["status"] == "error")
    assert {e["field"] for e in results[3]["errors"]} == {"email"}
    assert results[4]["errors"] == [{"field": "favourite_colour", "message": "Unknown field."}]
    assert {e["field"] for e in results[5]["errors"]} == {"tags", "custom_fields"}
    assert results[7]["errors"][0]["field"] == "body"
    assert results[8]["errors"][0]["field"] == "email"

    stored = {c.email: c for c in Contact.objects.filter(workspace=workspace)}
    assert set(stored) == {"old@initech.com", "new@initech.com", "twice@initech.com"}
    assert stored["old@initech.com"].job_title == "CTO"
    assert stored["old@initech.com"].first_name == "Old"
    twice = stored["twice@initech.com"]
    assert (twice.first_name, twice.last_name) == ("First", "Second")
    assert [t.name for t in stored["new@initech.com"].tags.all()] == ["webinar"]


def test_a_failing_item_leaves_nothing_behind(api, workspace):
    """An item that fails after its company was created keeps neither contact nor company
    nor activity: it ran in its own savepoint."""
    response = bulk(
        api,
        [
            {"email": "ann@brand-new-co.com", "owner_id": 999_999},
            {"email": "bob@initech.com"},
        ],
    )
    results = response.json()["results"]
    assert results[0]["status"] == "error"
    assert results[0]["errors"] == [
        {"field": "owner_id", "message": "Not a member of this workspace."}
    ]
    assert results[1]["status"] == "created"
    assert list(Contact.objects.values_list("email", flat=True)) == ["bob@initech.com"]
    assert Activity.objects.filter(workspace=workspace).count() == 1


def test_body_limits_are_422_naming_contacts(api):
    for contacts in ([], [{"email": f"p{i}@initech.com"} for i in range(1001)]):
        response = bulk(api, contacts)
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["contacts"]
    response = api.post("/contacts/bulk", {"contacts": {"email": "a@initech.com"}})
    assert response.status_code == 422
    response = api.post("/contacts/bulk", {"contacts": [], "extra": 1})
    assert {e["field"] for e in response.json()["errors"]} == {"contacts", "extra"}
    assert not Contact.objects.exists()


def test_a_thousand_items_are_accepted(api, workspace):
    started = time.perf_counter()
    response = bulk(api, [{"email": f"p{i}@initech.com", "tags": ["bulk"]} for i in range(1000)])
    seconds = time.perf_counter() - started
    assert response.status_code == 200
    assert response.json()["created"] == 1000
    assert Contact.objects.filter(workspace=workspace).count() == 1000
    print(f"bulk upsert: {1000 / seconds:.0f} items/s")


def test_idempotency_key_replays_the_first_answer(api, workspace):
    contacts = [{"email": "a@initech.com"}, {"email": "bad"}]
    headers = {"Idempotency-Key": "bulk-1"}
    first = bulk(api, contacts, headers=headers)
    second = bulk(api, contacts, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert second.json()["results"][0]["status"] == "created"
    assert Contact.objects.count() == 1
    assert IdempotencyRecord.objects.filter(workspace=workspace, key="bulk-1").count() == 1
    other = bulk(api, [{"email": "b@initech.com"}], headers=headers)
    assert other.status_code == 422
    assert Contact.objects.count() == 1
    # Without the key, the same body runs again: the contact is now updated.
    again = bulk(api, contacts)
    assert again.json()["results"][0]["status"] == "updated"


def test_items_never_touch_another_workspace(api, other_api, workspace, other_workspace):
    theirs = other_api.post("/contacts", {"email": "same@initech.com", "first_name": "Theirs"})
    company_id = other_api.post("/companies", {"name": "Their Co"}).json()["id"]
    response = bulk(
        api,
        [
            {"email": "same@initech.com", "first_name": "Ours"},
            {"email": "x@initech.com", "company_id": company_id},
        ],
    )
    results = response.json()["results"]
    assert results[0]["status"] == "created"
    assert results[0]["id"] != theirs.json()["id"]
    assert results[1]["status"] == "error"
    assert results[1]["errors"][0]["field"] == "company_id"
    other = Contact.objects.get(workspace=other_workspace, email="same@initech.com")
    assert other.first_name == "Theirs"
    assert Contact.objects.filter(workspace=other_workspace).count() == 1


def test_needs_the_write_scope_and_a_key(api_key_for, workspace, client):
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ])
    response = bulk(reader, [{"email": "a@initech.com"}])
    assert response.status_code == 403
    response = client.post(
        "/api/v1/contacts/bulk",
        json.dumps({"contacts": [{"email": "a@initech.com"}]}),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not Contact.objects.exists()
