"""Each ready-made format with its recorded sample payload, through the public endpoint."""

import json

from django.test import Client

from leadflow.contacts.models import Activity, Contact
from leadflow.inbound.models import Delivery, DeliveryStatus
from tests.inbound.conftest import (
    GENERIC_MAPPING,
    LINKEDIN_CLIENT_SECRET,
    google_body,
    hmac_hex,
    leadflow_headers,
    linkedin_headers,
    meta_headers,
    post,
    sample_bytes,
)


def _submitted(contact) -> dict:
    return Activity.objects.get(contact=contact, kind="form.submitted").data


def test_facebook_graph_lead_with_field_data(make_source):
    source = make_source("facebook", default_tags=["fb-lead"], default_lifecycle_stage="lead")
    body = sample_bytes("facebook_lead")
    response = post(source, body, meta_headers(body))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] == "accepted"
    assert answer["lead_id"] == "1488745721241187"
    contact = Contact.objects.get(pk=answer["contact_id"])
    assert (contact.email, contact.first_name, contact.last_name) == (
        "joe@example.com",
        "Joe",
        "Example",
    )
    assert contact.phone == "+447911123456"
    assert contact.lifecycle_stage == "lead"
    assert [tag.name for tag in contact.tags.all()] == ["fb-lead"]
    assert (contact.first_touch_source, contact.first_touch_medium) == ("facebook", "paid_social")
    assert contact.first_touch_campaign == "Spring test drive"
    assert contact.first_touch_channel == "paid_social"
    data = _submitted(contact)
    assert data["ad_id"] == "6045135215983"
    assert data["adset_id"] == "6045135204783"
    assert data["form"] == "Facebook lead form 1617593731585131"
    assert data["campaign_id"] == "6045135196183"
    assert data["values"]["car_make"] == "Honda"  # unmapped answers stay on the timeline
    delivery = Delivery.objects.get(pk=answer["delivery_id"])
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.verified
    assert delivery.body == body.decode()
    assert delivery.headers["X-Hub-Signature-256"].startswith("sha256=")


def test_facebook_webhook_entry_with_field_data(make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_webhook_field_data")
    response = post(source, body, meta_headers(body))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert contact.email == "mia.jensen@fjord-tools.dk"  # work_email when there is no email
    assert contact.company.name == "Fjord Tools"
    data = _submitted(contact)
    assert data["lead_id"] == "123123123123"
    assert data["page_id"] == "153125381133"
    assert data["values"]["how_many_seats?"] == "11-50"


def test_facebook_notification_without_answers_is_logged_to_be_fetched(make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_webhook_leadgen")
    response = post(source, body, meta_headers(body))
    assert response.status_code == 200  # Meta retries anything else
    assert response.json()["status"] == "needs_fetch"
    delivery = Delivery.objects.get(source=source)
    assert delivery.status == DeliveryStatus.NEEDS_FETCH
    assert delivery.external_lead_id == "123123123123"
    assert "Graph API" in delivery.reasons[0]["message"]
    assert not Contact.objects.exists()


def test_facebook_verification_handshake(make_source):
    source = make_source("facebook")
    client = Client()
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": ""}
    good = client.get(f"/in/{source.key}", {**params, "hub.verify_token": source.secret})
    assert good.status_code == 200 and good.content == b"1158201444"
    bad = client.get(f"/in/{source.key}", {**params, "hub.verify_token": "guess"})
    assert bad.status_code == 403


def test_google_lead_form_sample(make_source):
    source = make_source("google")
    response = post(source, google_body(source.secret))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert (contact.email, contact.first_name, contact.last_name, contact.phone) == (
        "test@example.com",
        "FirstName",
        "LastName",
        "+16505550123",
    )
    assert (contact.first_touch_source, contact.first_touch_medium) == ("google", "cpc")
    assert contact.first_touch_campaign == "10000000000"
    assert contact.first_touch_channel == "paid_search"
    data = _submitted(contact)
    assert data["adset_id"] == "20000000000" and data["ad_id"] == "30000000000"
    assert data["gclid"] == "gcl_id_for_test_lead"
    assert data["test_lead"] is True
    assert data["values"]["PREFERRED_DEALERSHIP"] == "Mountain View"
    delivery = Delivery.objects.get(source=source)
    assert delivery.is_test and delivery.external_lead_id.startswith("TeSter-123")


def test_linkedin_form_response_sample(make_source):
    source = make_source("linkedin")
    body = sample_bytes("linkedin_lead_response")
    response = post(source, body, linkedin_headers(body))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert contact.email == "priya.raman@northwind-logistics.com"
    assert (contact.first_name, contact.last_name, contact.job_title) == (
        "Priya",
        "Raman",
        "Head of Operations",
    )
    assert (contact.first_touch_source, contact.first_touch_medium) == ("linkedin", "paid_social")
    assert contact.first_touch_campaign == "285230943"
    data = _submitted(contact)
    assert data["ad_id"] == "241257736"
    assert data["form"] == "LinkedIn lead form Whitepaper download"
    assert data["values"]["Company size"] == "201-500"
    assert data["values"]["hidden_field"] == "abc678"
    assert Delivery.objects.get(source=source).external_lead_id == (
        "60bd8d4a-56e0-4ae7-8a5e-37dcb0c0d55c-6"
    )


def test_linkedin_notification_then_the_forwarded_response_fill_one_delivery(make_source):
    source = make_source("linkedin")
    note = sample_bytes("linkedin_notification")
    first = post(source, note, linkedin_headers(note))
    assert first.status_code == 200 and first.json()["status"] == "needs_fetch"
    body = sample_bytes("linkedin_lead_response")
    second = post(source, body, linkedin_headers(body))
    assert second.status_code == 201
    delivery = Delivery.objects.get(source=source)  # the same lead: one row
    assert delivery.status == DeliveryStatus.ACCEPTED
    assert delivery.repeat_count == 1


def test_linkedin_endpoint_validation_challenge(make_source):
    source = make_source("linkedin")
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    response = Client().get(f"/in/{source.key}", {"challengeCode": code})
    assert response.status_code == 200
    assert response.json() == {
        "challengeCode": code,
        "challengeResponse": hmac_hex(LINKEDIN_CLIENT_SECRET, code.encode()),
    }


def test_generic_json_with_dotted_paths(make_source, team_size_field):
    source = make_source("generic", name="Partner portal", mapping=GENERIC_MAPPING)
    body = sample_bytes("generic_lead")
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert contact.email == "lena.fischer@bergwerk-maschinen.de"
    assert (contact.first_name, contact.last_name) == ("Lena", "Fischer")
    assert contact.phone == "+4930901820"
    assert contact.custom_fields == {"team_size": 25}
    assert sorted(tag.name for tag in contact.tags.all()) == ["Demo", "Pricing"]
    assert contact.first_touch_source == "Partner portal"
    assert contact.first_touch_campaign == "q1-partners"
    assert Delivery.objects.get(source=source).external_lead_id == "evt_01J9ZQ4M6X1D2P3R4S5T6V7W8X"


def test_generic_shared_secret_header(make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}})
    body = json.dumps({"email": "sam@kite-labs.io"}).encode()
    response = post(source, body, {"X-LeadFlow-Secret": source.secret})
    assert response.status_code == 201
    stored = Delivery.objects.get(source=source)
    assert stored.headers["X-LeadFlow-Secret"] == "(given, not stored)"


def test_integrators_may_sign_network_payloads_with_the_leadflow_secret(make_source):
    """A forwarder that cannot sign with Meta's app secret signs with ours."""
    source = make_source("facebook", app_secret="")
    body = sample_bytes("facebook_lead")
    assert post(source, body, leadflow_headers(body, source.secret)).status_code == 201
