"""The public webhook's guarantees: proof of the sender, every bad field named, one lead
stored once (also under concurrent retries), bounded bodies, rate limits, 503."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from leadflow.contacts.models import Activity, Contact
from leadflow.inbound import services
from leadflow.inbound.models import Delivery, DeliveryStatus
from tests.core.test_database_failure import database_down
from tests.inbound.conftest import (
    GENERIC_MAPPING,
    google_body,
    leadflow_headers,
    linkedin_headers,
    meta_headers,
    post,
    sample_bytes,
)


def test_unknown_key_answers_404(db):
    response = Client().post("/in/in_nope", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("source_format", "sample_name", "bad_headers"),
    [
        ("facebook", "facebook_lead", lambda body: meta_headers(body, "not-the-app-secret")),
        ("facebook", "facebook_lead", lambda body: {}),
        ("linkedin", "linkedin_lead_response", lambda body: linkedin_headers(body, "wrong")),
        ("generic", "generic_lead", lambda body: leadflow_headers(body, "whsec_guess")),
        ("generic", "generic_lead", lambda body: {"X-LeadFlow-Secret": "whsec_guess"}),
    ],
)
def test_bad_signatures_answer_401_and_are_kept_unverified(
    make_source, team_size_field, source_format, sample_name, bad_headers
):
    source = make_source(
        source_format, mapping=GENERIC_MAPPING if source_format == "generic" else {}
    )
    body = sample_bytes(sample_name)
    response = post(source, body, bad_headers(body))
    assert response.status_code == 401
    problem = response.json()
    assert problem["code"] == "unverified" and problem["detail"]
    delivery = Delivery.objects.get(source=source)
    assert delivery.status == DeliveryStatus.UNVERIFIED and not delivery.verified
    assert delivery.external_lead_id is None  # an unproven request claims no lead id
    assert delivery.body == body.decode()
    assert not Contact.objects.exists()


def test_tampered_body_fails_the_meta_signature(make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    headers = meta_headers(body)
    tampered = body.replace(b"joe@example.com", b"eve@example.com")
    assert post(source, tampered, headers).status_code == 401


def test_google_key_must_match(make_source):
    source = make_source("google")
    response = post(source, google_body("not-the-key"))
    assert response.status_code == 401
    assert "google_key" in response.json()["detail"]


def test_unverified_deliveries_kept_are_capped_and_truncated(make_source, settings):
    source = make_source("generic")
    big = json.dumps({"padding": "x" * (services.UNVERIFIED_BODY_LIMIT + 10)}).encode()
    for _ in range(services.UNVERIFIED_KEPT_PER_HOUR + 5):
        assert post(source, big).status_code == 401
    kept = Delivery.objects.filter(source=source)
    assert kept.count() == services.UNVERIFIED_KEPT_PER_HOUR
    assert all(d.body_truncated and len(d.body) <= services.UNVERIFIED_BODY_LIMIT for d in kept)


def test_previous_secret_works_during_the_grace_period(make_source, workspace, owner_actor):
    source = make_source("generic", mapping={"fields": {"email": "email"}})
    old = source.secret
    source = services.lead_source_rotate_secret(
        workspace=workspace, source_id=source.pk, actor=owner_actor
    )
    assert source.secret != old
    body = json.dumps({"email": "old@kite-labs.io"}).encode()
    assert post(source, body, leadflow_headers(body, old)).status_code == 201
    source.previous_secret_expires_at = source.previous_secret_expires_at.replace(year=2000)
    source.save()
    body = json.dumps({"email": "late@kite-labs.io"}).encode()
    assert post(source, body, leadflow_headers(body, old)).status_code == 401


def test_invalid_fields_answer_422_naming_each_and_are_kept(make_source):
    source = make_source("facebook")
    payload = json.loads(sample_bytes("facebook_lead"))
    payload["field_data"] = [
        {"name": "email", "values": ["not-an-email"]},
        {"name": "phone_number", "values": ["12"]},
        {"name": "full_name", "values": ["Joe Example"]},
    ]
    body = json.dumps(payload).encode()
    response = post(source, body, meta_headers(body))
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"field_data.email", "field_data.phone_number"}
    delivery = Delivery.objects.get(source=source)
    assert delivery.status == DeliveryStatus.REJECTED and delivery.verified
    assert {reason["field"] for reason in delivery.reasons} == fields
    assert delivery.external_lead_id == "1488745721241187"
    assert not Contact.objects.exists() and not Activity.objects.exists()


def test_a_lead_without_email_or_phone_is_rejected(make_source):
    source = make_source("generic", mapping={"fields": {"contact.mail": "email"}})
    body = json.dumps({"contact": {"name": "No Address"}}).encode()
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "email", "message": "No email or phone number found in the lead's answers."}
    ]


def test_shape_errors_name_the_payload_field(make_source):
    source = make_source("google")
    body = json.dumps({"google_key": source.secret, "lead_id": "x"}).encode()
    response = post(source, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "user_column_data"


def test_body_that_is_not_json_answers_400_and_is_kept(make_source):
    source = make_source("generic")
    body = b"email=someone@example.org"
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 400
    assert Delivery.objects.get(source=source).status == DeliveryStatus.REJECTED


def test_same_lead_again_answers_the_first_result_and_stores_nothing_twice(make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    first = post(source, body, meta_headers(body))
    again = post(source, body, meta_headers(body))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "duplicate"
    assert again.json()["contact_id"] == first.json()["contact_id"]
    assert again.json()["delivery_id"] == first.json()["delivery_id"]
    assert Delivery.objects.count() == 1 and Delivery.objects.get().repeat_count == 1
    assert Activity.objects.filter(kind="form.submitted").count() == 1


def test_generic_without_lead_id_path_uses_the_idempotency_key(make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}})
    body = json.dumps({"email": "ida@kite-labs.io"}).encode()
    headers = {**leadflow_headers(body, source.secret), "Idempotency-Key": "abc-1"}
    assert post(source, body, headers).status_code == 201
    assert post(source, body, headers).status_code == 200
    assert Delivery.objects.count() == 1


def test_inactive_source_answers_410(make_source, workspace, owner_actor):
    source = make_source("google")
    services.lead_source_update(
        workspace=workspace, source_id=source.pk, data={"is_active": False}, actor=owner_actor
    )
    source.refresh_from_db()
    assert post(source, google_body(source.secret)).status_code == 410
    assert not Delivery.objects.exists()


def test_body_over_the_limit_answers_413_and_keeps_nothing(make_source, settings):
    settings.LEADFLOW_INBOUND_MAX_BODY_BYTES = 1000
    source = make_source("google")
    response = post(source, google_body(source.secret, padding="x" * 2000))
    assert response.status_code == 413
    assert not Delivery.objects.exists()


def test_rate_limit_per_ip_answers_429(make_source, settings):
    settings.LEADFLOW_INBOUND_RATE_PER_IP = 2
    source = make_source("google")
    codes = [post(source, google_body(source.secret)).status_code for _ in range(3)]
    assert codes[-1] == 429


def test_csrf_is_not_required(make_source):
    source = make_source("google")
    client = Client(enforce_csrf_checks=True)
    assert post(source, google_body(source.secret), client=client).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_database_outage_answers_503(make_source):
    source = make_source("google")
    body = google_body(source.secret)
    with database_down():
        response = Client().post(f"/in/{source.key}", data=body, content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_lead_store_it_once(make_source):
    """Eight senders deliver the same lead at once: one delivery, one contact, one
    submission on the timeline; every sender gets a 2xx with the same contact."""
    source = make_source("linkedin")
    body = sample_bytes("linkedin_lead_response")
    headers = linkedin_headers(body)
    barrier = threading.Barrier(8)
    answers = []

    def worker():
        try:
            barrier.wait()
            response = post(source, body, headers)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(code for code, _ in answers) == [200] * 7 + [201]
    assert len({answer["contact_id"] for _, answer in answers}) == 1
    assert Delivery.objects.filter(source=source).count() == 1
    assert Delivery.objects.get(source=source).repeat_count == 7
    assert Contact.objects.count() == 1
    assert Activity.objects.filter(kind="form.submitted").count() == 1


def test_old_deliveries_are_pruned_and_their_contacts_stay(workspace, settings):
    import datetime as dt

    from django.utils import timezone

    from leadflow.contacts.models import Contact
    from leadflow.inbound.models import Delivery, LeadSource
    from leadflow.inbound.services import deliveries_prune

    source = LeadSource.objects.create(workspace=workspace, name="Old", format="google")
    contact = Contact.objects.create(workspace=workspace, email="old@lead.example")
    old = Delivery.objects.create(
        workspace=workspace, source=source, status="accepted", body="{}", contact=contact
    )
    recent = Delivery.objects.create(workspace=workspace, source=source, status="rejected")
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - dt.timedelta(days=200))
    settings.LEADFLOW_INBOUND_RETENTION_DAYS = 0
    assert deliveries_prune() == 0
    settings.LEADFLOW_INBOUND_RETENTION_DAYS = 180
    assert deliveries_prune() == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert Contact.objects.filter(pk=contact.pk).exists()
