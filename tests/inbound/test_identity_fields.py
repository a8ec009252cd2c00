"""Lead sources fill the contact's identity fields (issue 12): street address, city,
region, postal code and date of birth, from each network's own field names, through the
public endpoint."""

import json

from leadflow.contacts.models import Contact
from leadflow.inbound.models import Delivery, DeliveryStatus
from tests.inbound.conftest import (
    google_body,
    leadflow_headers,
    linkedin_headers,
    meta_headers,
    post,
    sample,
)


def _identity(contact: Contact) -> tuple:
    return (
        contact.street_address,
        contact.city,
        contact.region,
        contact.postal_code,
        contact.country,
        contact.date_of_birth and contact.date_of_birth.isoformat(),
    )


def _facebook_body(answers: dict[str, str]) -> bytes:
    payload = sample("facebook_lead")
    payload["field_data"] = [
        {"name": "email", "values": ["joe@example.com"]},
        *({"name": name, "values": [value]} for name, value in answers.items()),
    ]
    return json.dumps(payload).encode()


def test_facebook_address_and_date_of_birth_fill_the_contact(make_source):
    source = make_source("facebook")
    body = _facebook_body(
        {
            "street_address": "1600 Amphitheatre Pkwy",
            "city": "Mountain View",
            "state": "CA",
            "zip_code": "94043",
            "country": "US",
            "date_of_birth": "04/12/1987",  # Meta writes MM/DD/YYYY
        }
    )
    response = post(source, body, meta_headers(body))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert _identity(contact) == (
        "1600 Amphitheatre Pkwy",
        "Mountain View",
        "CA",
        "94043",
        "US",
        "1987-04-12",  # April 12th, not December 4th
    )


def test_facebook_province_and_post_code_are_the_region_and_postal_code(make_source):
    source = make_source("facebook")
    body = _facebook_body(
        {"province": "Ontario", "post_code": "k1a  0b1", "city": "Ottawa", "country": "CA"}
    )
    response = post(source, body, meta_headers(body))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert (contact.region, contact.postal_code, contact.city) == ("Ontario", "K1A 0B1", "Ottawa")


def test_facebook_date_of_birth_that_is_no_date_is_named_as_meta_calls_it(make_source):
    source = make_source("facebook")
    body = _facebook_body({"date_of_birth": "13/45/1987"})
    response = post(source, body, meta_headers(body))
    assert response.status_code == 422
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(errors) == {"field_data.date_of_birth"}
    assert "date_of_birth" in errors["field_data.date_of_birth"]
    assert Delivery.objects.get(source=source).status == DeliveryStatus.REJECTED
    assert not Contact.objects.exists()


def test_facebook_date_of_birth_in_the_future_is_refused(make_source):
    source = make_source("facebook")
    body = _facebook_body({"date_of_birth": "01/01/2999"})
    response = post(source, body, meta_headers(body))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["field_data.date_of_birth"]


def test_google_address_columns_fill_the_contact(make_source):
    source = make_source("google")
    payload = json.loads(google_body(source.secret))
    payload["user_column_data"] += [
        {
            "column_name": "Street address",
            "string_value": "10 Downing St",
            "column_id": "STREET_ADDRESS",
        },
        {"column_name": "City", "string_value": "London", "column_id": "CITY"},
        {"column_name": "Region", "string_value": "Greater London", "column_id": "REGION"},
        {"column_name": "Postal code", "string_value": "sw1a 2aa", "column_id": "POSTAL_CODE"},
        {"column_name": "Country", "string_value": "GB", "column_id": "COUNTRY"},
    ]
    response = post(source, json.dumps(payload).encode())
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert _identity(contact) == (
        "10 Downing St",
        "London",
        "Greater London",
        "SW1A 2AA",
        "GB",
        None,
    )


def test_linkedin_city_state_and_zip_code_questions_fill_the_contact(make_source):
    source = make_source("linkedin")
    payload = sample("linkedin_lead_response")
    questions = payload["form"]["content"]["questions"]
    answers = payload["formResponse"]["answers"]
    for number, (predefined, answer) in enumerate(
        [("CITY", "Seattle"), ("STATE", "WA"), ("ZIP_CODE", "98101"), ("COUNTRY", "US")], 1
    ):
        question_id = 900000000 + number
        questions.append(
            {
                "questionId": question_id,
                "name": predefined.title(),
                "predefinedField": predefined,
                "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
            }
        )
        answers.append(
            {"questionId": question_id, "answerDetails": {"textQuestionAnswer": {"answer": answer}}}
        )
    body = json.dumps(payload).encode()
    response = post(source, body, linkedin_headers(body))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert (contact.city, contact.region, contact.postal_code, contact.country) == (
        "Seattle",
        "WA",
        "98101",
        "US",
    )


def test_generic_sources_map_paths_to_the_identity_fields(make_source):
    source = make_source(
        "generic",
        mapping={
            "fields": {
                "person.email": "email",
                "person.address.line1": "street_address",
                "person.address.town": "city",
                "person.address.county": "region",
                "person.address.postcode": "postal_code",
                "person.born": "date_of_birth",
            }
        },
    )
    body = json.dumps(
        {
            "person": {
                "email": "ada@example.com",
                "born": "1990-02-28",
                "address": {
                    "line1": "12 High Street",
                    "town": "Bath",
                    "county": "Somerset",
                    "postcode": "ba1 1aa",
                },
            }
        }
    ).encode()
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert _identity(contact) == ("12 High Street", "Bath", "Somerset", "BA1 1AA", "", "1990-02-28")


def test_a_generic_date_of_birth_that_is_no_iso_date_is_named_by_its_path(make_source):
    source = make_source("generic", mapping={"fields": {"email": "email", "dob": "date_of_birth"}})
    body = json.dumps({"email": "ada@example.com", "dob": "28.02.1990"}).encode()
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["dob"]


def test_the_api_accepts_the_identity_fields_as_mapping_targets(api):
    created = api.post(
        "/lead-sources",
        {
            "name": "Partner portal",
            "format": "generic",
            "mapping": {"fields": {"e": "email", "zip": "postal_code", "dob": "date_of_birth"}},
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["mapping"]["fields"]["zip"] == "postal_code"
    refused = api.post(
        "/lead-sources",
        {"name": "Bad", "format": "generic", "mapping": {"fields": {"zip": "zip_code"}}},
    )
    assert refused.status_code == 422
    message = refused.json()["errors"][0]["message"]
    assert "postal_code" in message and "date_of_birth" in message


def test_the_source_page_lists_the_identity_fields_a_network_fills(
    owner_client, workspace, make_source
):
    facebook = make_source("facebook")
    page = owner_client.get(f"/w/{workspace.slug}/settings/lead-sources/{facebook.pk}/")
    text = page.content.decode()
    for name, target in (
        ("zip_code", "postal_code"),
        ("province", "region"),
        ("date_of_birth", "date_of_birth"),
    ):
        assert f"<code>{name}</code> → {target}" in text
    generic = make_source("generic")
    page = owner_client.get(f"/w/{workspace.slug}/settings/lead-sources/{generic.pk}/")
    assert "street_address, city, region, postal_code, date_of_birth" in page.content.decode()
