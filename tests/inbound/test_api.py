"""/api/v1/lead-sources: CRUD, secrets, deliveries (cursor pages), replay, scopes,
workspace isolation."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Contact
from leadflow.inbound.models import Delivery, DeliveryStatus, LeadSource
from tests.inbound.conftest import leadflow_headers, meta_headers, post, sample_bytes


def test_create_list_get_patch_delete(api, workspace):
    created = api.post(
        "/lead-sources",
        {
            "name": "Meta – spring",
            "format": "facebook",
            "app_secret": "s3cret",
            "default_tags": ["fb"],
        },
    )
    assert created.status_code == 201, created.content
    source = created.json()
    assert source["webhook_url"].endswith(f"/in/{LeadSource.objects.get().key}")
    assert source["secret"].startswith("whsec_")
    assert source["app_secret_set"] is True and "s3cret" not in created.content.decode()
    assert api.get("/lead-sources").json()["items"][0]["id"] == source["id"]
    changed = api.patch(
        f"/lead-sources/{source['id']}",
        {"mapping": {"fields": {"how_many_seats?": "tags"}}, "is_active": False},
    )
    assert changed.status_code == 200
    assert changed.json()["mapping"] == {"fields": {"how_many_seats?": "tags"}}
    assert changed.json()["is_active"] is False
    assert api.get(f"/lead-sources/{source['id']}").json()["name"] == "Meta – spring"
    assert api.delete(f"/lead-sources/{source['id']}").status_code == 204
    assert not LeadSource.objects.exists()


def test_bad_input_names_every_field(api):
    response = api.post(
        "/lead-sources",
        {
            "name": "",
            "format": "generic",
            "mapping": {"fields": {"a.b": "nonsense", "c": "custom_fields.nope"}, "lead_id": "id"},
            "default_lifecycle_stage": "lead",
            "default_owner_id": 999999,
        },
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"name", "mapping.fields.a.b", "mapping.fields.c", "default_owner_id"}


def test_format_is_fixed_after_create(api):
    source = api.post("/lead-sources", {"name": "G", "format": "google"}).json()
    response = api.patch(f"/lead-sources/{source['id']}", {"format": "generic"})
    assert response.status_code == 422


def test_rotate_secret(api):
    source = api.post("/lead-sources", {"name": "G", "format": "google"}).json()
    rotated = api.post(f"/lead-sources/{source['id']}/rotate-secret").json()
    assert rotated["secret"] != source["secret"]
    assert rotated["previous_secret_valid_until"] is not None


def test_another_workspace_answers_404(api, other_api, make_source):
    source = make_source("google")
    body = json.dumps({"google_key": source.secret, "lead_id": "x"}).encode()
    post(source, body)
    delivery = Delivery.objects.get()
    for path in (
        f"/lead-sources/{source.pk}",
        f"/lead-sources/{source.pk}/deliveries",
        f"/lead-sources/{source.pk}/deliveries/{delivery.pk}",
    ):
        assert other_api.get(path).status_code == 404, path
    assert other_api.patch(f"/lead-sources/{source.pk}", {"name": "x"}).status_code == 404
    assert other_api.post(f"/lead-sources/{source.pk}/rotate-secret").status_code == 404
    replay = other_api.post(f"/lead-sources/{source.pk}/deliveries/{delivery.pk}/replay")
    assert replay.status_code == 404
    assert other_api.delete(f"/lead-sources/{source.pk}").status_code == 404
    assert api.get(f"/lead-sources/{source.pk}").status_code == 200


def test_scopes(api_key_for, workspace, make_source):
    source = make_source("google")
    settings_only = api_key_for(workspace, ["settings:read"])
    assert settings_only.get("/lead-sources").status_code == 200
    assert settings_only.post("/lead-sources", {"name": "x", "format": "google"}).status_code == 403
    deliveries = settings_only.get(f"/lead-sources/{source.pk}/deliveries")
    assert deliveries.status_code == 403  # raw lead data needs contacts:read too


def test_deliveries_are_cursor_paginated_with_few_queries(api, make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}, "lead_id": "id"})
    for number in range(5):
        body = json.dumps({"id": f"lead-{number}", "email": f"p{number}@kite-labs.io"}).encode()
        assert post(source, body, leadflow_headers(body, source.secret)).status_code == 201
    seen = []
    cursor = None
    while True:
        query = f"?limit=2{f'&cursor={cursor}' if cursor else ''}"
        with CaptureQueriesContext(connection) as queries:
            page = api.get(f"/lead-sources/{source.pk}/deliveries{query}").json()
        assert len(queries) <= 6
        seen += [item["external_lead_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"lead-{n}" for n in reversed(range(5))]
    accepted = api.get(f"/lead-sources/{source.pk}/deliveries?status=accepted").json()
    assert len(accepted["items"]) == 5


def test_replay_after_mapping_fix(api, make_source):
    """A lead rejected for a mapping mistake is accepted once the mapping is fixed."""
    source = make_source("generic", mapping={"fields": {"contact.mail": "email"}, "lead_id": "id"})
    body = json.dumps({"id": "L-1", "contact": {"email": "ada@kite-labs.io"}}).encode()
    assert post(source, body, leadflow_headers(body, source.secret)).status_code == 422
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.REJECTED
    fixed = {"mapping": {"fields": {"contact.email": "email"}, "lead_id": "id"}}
    assert api.patch(f"/lead-sources/{source.pk}", fixed).status_code == 200
    path = f"/lead-sources/{source.pk}/deliveries/{delivery.pk}/replay"
    replay = api.post(path)
    assert replay.status_code == 200, replay.content
    assert replay.json()["result"] == "accepted"
    assert replay.json()["delivery"]["replay_count"] == 1
    assert Contact.objects.get().email == "ada@kite-labs.io"
    again = api.post(path).json()
    assert again["result"] == "unchanged"
    assert Contact.objects.count() == 1
    # The sender's own retry of the same lead now gets the first result.
    retry = post(source, body, leadflow_headers(body, source.secret))
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"


def test_unverified_replay_needs_force_and_settings_write(api, api_key_for, workspace, make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    assert post(source, body, meta_headers(body, "wrong")).status_code == 401
    delivery = Delivery.objects.get()
    path = f"/lead-sources/{source.pk}/deliveries/{delivery.pk}/replay"
    refused = api.post(path)
    assert refused.status_code == 409
    assert refused.json()["code"] == "unverified_delivery"
    writer = api_key_for(workspace, ["contacts:write"])
    assert writer.post(f"{path}?force=true").status_code == 403
    forced = api.post(f"{path}?force=true")
    assert forced.status_code == 200 and forced.json()["result"] == "accepted"
    assert forced.json()["delivery"]["verified"] is False
    assert Contact.objects.get().email == "joe@example.com"
