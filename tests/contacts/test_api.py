"""The contacts, companies and custom-field API: semantics, errors, filters, pages."""

import json
import threading
import uuid

import pytest
from django.db import connection

from leadflow.contacts.models import Activity, Company, Contact


def create(api, **data):
    response = api.post("/contacts", data)
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_upsert_answers_201_then_200(api):
    first = api.post("/contacts", {"email": "a@initech.com"})
    second = api.post("/contacts", {"email": "A@initech.com", "first_name": "Al"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["first_name"] == "Al"


def test_validation_problem_names_every_bad_field(api):
    response = api.post(
        "/contacts",
        {
            "email": "nope",
            "phone": "1",
            "lifecycle_stage": "x",
            "favourite_colour": "red",
            "tags": "x",
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["title"] and body["detail"]
    fields = {error["field"] for error in body["errors"]}
    assert {"lifecycle_stage", "favourite_colour", "tags"} <= fields
    # Schema-level errors come first; the rest are checked once those pass.
    response = api.post("/contacts", {"email": "nope", "phone": "1", "country": "Atlantis"})
    assert {e["field"] for e in response.json()["errors"]} == {"email", "phone", "country"}
    assert not Contact.objects.exists()


def test_malformed_json_is_a_problem(api):
    response = api.post("/contacts", "{not json")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/problem+json"


def test_body_over_the_limit_answers_413(api, settings):
    settings.LEADFLOW_MAX_BODY_BYTES = 1000
    response = api.post("/contacts", {"email": "a@initech.com", "job_title": "x" * 2000})
    assert response.status_code == 413
    assert not Contact.objects.exists()


def test_patch_get_delete(api):
    contact = create(api, email="p@initech.com", first_name="Pat", tags=["a"])
    response = api.patch(f"/contacts/{contact['id']}", {"job_title": "CFO", "tags": ["b"]})
    assert response.status_code == 200
    assert response.json()["job_title"] == "CFO" and response.json()["tags"] == ["b"]
    assert response.json()["first_name"] == "Pat"
    assert api.get(f"/contacts/{contact['id']}").json()["job_title"] == "CFO"
    response = api.patch(f"/contacts/{contact['id']}", {"lifecycle_stage": "banana"})
    assert response.status_code == 422
    assert api.delete(f"/contacts/{contact['id']}").status_code == 204
    assert api.get(f"/contacts/{contact['id']}").status_code == 404


def test_idempotency_key_replays_and_rejects_a_different_body(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post("/contacts", {"email": "i@initech.com"}, headers=key)
    replay = api.post("/contacts", {"email": "i@initech.com"}, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Activity.objects.filter(kind__startswith="contact.").count() == 1
    other = api.post("/contacts", {"email": "j@initech.com"}, headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Contact.objects.filter(email="j@initech.com").exists()


@pytest.mark.django_db(transaction=True)
def test_idempotency_under_concurrent_retries(api):
    key = {"Idempotency-Key": "retry-1"}
    statuses, errors = [], []
    barrier = threading.Barrier(6)

    def send():
        try:
            barrier.wait(timeout=10)
            response = api.post("/contacts", {"email": "c@initech.com", "tags": ["t"]}, headers=key)
            statuses.append((response.status_code, response.json()["id"]))
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {status for status, _ in statuses} == {201}
    assert len({contact_id for _, contact_id in statuses}) == 1
    assert Activity.objects.filter(kind="contact.created").count() == 1
    assert Activity.objects.filter(kind="contact.updated").count() == 0


def test_list_filters(api, owner):
    a = create(
        api,
        email="ann@initech.com",
        first_name="Ann",
        last_name="Archer",
        lifecycle_stage="mql",
        tags=["vip"],
        owner_id=owner.pk,
        temperature="hot",
    )
    b = create(
        api, email="bob@globex.com", first_name="Bob", last_name="Baker", phone="+442079460123"
    )
    create(api, email="cat@gmail.com", first_name="Cat", company="Initech Ltd")

    def ids(query):
        response = api.get(f"/contacts?{query}")
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids("email=ANN@initech.com") == {a["id"]}
    assert ids("phone=020%207946%200123") == {b["id"]}
    assert ids("stage=mql") == {a["id"]}
    assert ids("temperature=hot") == {a["id"]}
    assert ids(f"owner={owner.pk}") == {a["id"]}
    assert len(ids("owner=none")) == 2
    assert ids("tag=vip") == {a["id"]}
    assert ids(f"company={a['company']['id']}") == {a["id"]}
    assert ids("q=glob") == {b["id"]}
    assert ids("q=ann%20archer") == {a["id"]}
    assert len(ids("created_after=2000-01-01")) == 3
    assert ids("created_before=2000-01-01") == set()
    bad = api.get("/contacts?stage=nope")
    assert bad.status_code == 422
    assert api.get("/contacts?colour=red").json()["errors"][0]["field"] == "colour"


def test_custom_field_equality_filter(api):
    response = api.post(
        "/custom-fields", {"label": "Plan", "field_type": "choice", "choices": ["free", "pro"]}
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"] == "plan"
    pro = create(api, email="pro@initech.com", custom_fields={"plan": "pro"})
    create(api, email="free@initech.com", custom_fields={"plan": "free"})
    items = api.get("/contacts?custom.plan=pro").json()["items"]
    assert [item["id"] for item in items] == [pro["id"]]
    assert api.get("/contacts?custom.nope=1").status_code == 422


def test_cursor_pages_cover_every_contact_once(api, workspace):
    for number in range(23):
        create(api, email=f"p{number}@initech.com", last_name=f"N{number % 5}")
    for sort in ("-created_at", "last_name", "-updated_at"):
        seen, cursor = [], None
        while True:
            query = f"/contacts?limit=5&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            page = api.get(query).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 23, sort
    assert api.get("/contacts?cursor=garbage").status_code == 422


def test_list_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries):
    for number in range(40):
        create(api, email=f"q{number}@initech.com", tags=["a", "b"])
    with django_assert_max_num_queries(6):
        response = api.get("/contacts?limit=40")
    assert len(response.json()["items"]) == 40


def test_merge_and_activities_and_notes(api):
    a = create(api, email="a@initech.com", first_name="A")
    b = create(api, email="b@initech.com", job_title="Boss")
    note = api.post(f"/contacts/{b['id']}/notes", {"body": "Call back Tuesday"})
    assert note.status_code == 201 and note.json()["kind"] == "note.added"
    merged = api.post(f"/contacts/{a['id']}/merge", {"other_id": b["id"]})
    assert merged.status_code == 200, merged.content
    assert merged.json()["job_title"] == "Boss"
    assert api.get(f"/contacts/{b['id']}").status_code == 404
    kinds = [item["kind"] for item in api.get(f"/contacts/{a['id']}/activities").json()["items"]]
    assert kinds[0] == "contact.merged" and "note.added" in kinds
    page = api.get(f"/contacts/{a['id']}/activities?limit=1").json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.get(f"/contacts/{a['id']}/activities?cursor={page['next_cursor']}").json()
    assert page["items"][0]["id"] not in [item["id"] for item in rest["items"]]


def test_companies_crud(api):
    response = api.post(
        "/companies",
        {"name": "Initech", "domain": "www.Initech.com", "size": "51-200", "country": "us"},
    )
    assert response.status_code == 201, response.content
    company = response.json()
    assert (company["domain"], company["country"]) == ("initech.com", "US")
    duplicate = api.post("/companies", {"name": "Other", "domain": "initech.com"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "domain"
    contact = create(api, email="x@initech.com")
    assert contact["company"]["id"] == company["id"]  # matched by domain
    assert (
        api.patch(f"/companies/{company['id']}", {"industry": "Software"}).json()["industry"]
        == "Software"
    )
    assert api.get("/companies?q=init").json()["items"][0]["id"] == company["id"]
    assert api.delete(f"/companies/{company['id']}").status_code == 204
    assert Contact.objects.get(pk=contact["id"]).company_id is None
    assert not Company.objects.exists()
    assert api.post("/companies", {"size": "huge"}).json()["errors"]


def test_custom_fields_crud(api):
    created = api.post(
        "/custom-fields", {"label": "Budget", "field_type": "number", "min_value": 0}
    )
    assert created.status_code == 201
    field = created.json()
    assert api.get(f"/custom-fields/{field['id']}").json()["key"] == "budget"
    assert (
        api.patch(f"/custom-fields/{field['id']}", {"label": "Budget (EUR)"}).json()["label"]
        == "Budget (EUR)"
    )
    assert api.patch(f"/custom-fields/{field['id']}", {"field_type": "text"}).status_code == 422
    assert (
        api.post("/custom-fields", {"label": "Budget", "field_type": "number"}).status_code == 422
    )  # key taken
    assert (
        api.post("/custom-fields", {"label": "Tier", "field_type": "choice"}).status_code == 422
    )  # no choices
    assert [f["key"] for f in api.get("/custom-fields").json()] == ["budget"]
    assert api.delete(f"/custom-fields/{field['id']}").status_code == 204
    assert api.get("/custom-fields").json() == []


def test_workspace_endpoint(api, workspace):
    body = api.get("/workspace").json()
    assert body["slug"] == workspace.slug and body["public_key"].startswith("pk_")
    response = api.patch("/workspace", {"default_country": "de"})
    assert response.json()["default_country"] == "DE"
    assert api.patch("/workspace", {"default_country": "XX"}).status_code == 422
    assert api.patch("/workspace", {"slug": "mine"}).status_code == 422


def test_duplicates_endpoint(api):
    response = api.get("/duplicates")
    assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}


def test_json_body_with_unicode_roundtrips(api):
    contact = create(api, email="zoë@initech.com", first_name="Zoë", last_name="Ødegård")
    assert json.loads(json.dumps(contact))["last_name"] == "Ødegård"
