"""Forms fill the contact's identity fields (issue 12): a form field can save its answer to
the street address, city, region, postal code or date of birth, chosen in the builder or
given by its obvious name; a date of birth comes from a date field and is checked as one."""

import pytest

from leadflow.capture.fields import form_fields_clean
from leadflow.capture.models import Form
from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from tests.capture.conftest import PublicClient

ADDRESS_FORM = [
    {"name": "email", "type": "email", "required": True},
    {"name": "address", "type": "text"},
    {"name": "town", "type": "text"},
    {"name": "state", "type": "text"},
    {"name": "zip", "type": "text"},
    {"name": "dob", "type": "date"},
]


def _targets(fields) -> dict[str, str]:
    return {field["name"]: field["maps_to"] for field in form_fields_clean(fields, set())}


def test_address_and_birth_date_fields_map_by_their_obvious_names():
    assert _targets(ADDRESS_FORM) == {
        "email": "email",
        "address": "street_address",
        "town": "city",
        "state": "region",
        "zip": "postal_code",
        "dob": "date_of_birth",
    }
    # A text field named dob is no date: it is kept on the submission only.
    assert _targets([{"name": "email", "type": "email"}, {"name": "dob", "type": "text"}]) == {
        "email": "email",
        "dob": "",
    }


def test_only_a_date_field_can_fill_the_date_of_birth():
    with pytest.raises(ValidationFailed) as failure:
        form_fields_clean(
            [
                {"name": "email", "type": "email"},
                {"name": "born", "type": "text", "maps_to": "date_of_birth"},
            ],
            set(),
        )
    assert [(e.field, e.message) for e in failure.value.errors] == [
        ("fields[1].maps_to", "Only a date field can fill this.")
    ]


def _make_form(api, fields):
    created = api.post("/forms", {"name": "Home visit", "fields": fields, "min_fill_seconds": 0})
    assert created.status_code == 201, created.content
    return created.json(), Form.objects.get(pk=created.json()["id"])


def test_a_submission_fills_the_identity_fields_of_the_contact(workspace, api_key_for):
    api = api_key_for(workspace, ["forms:write"])
    created, form = _make_form(
        api,
        [
            {"name": "email", "type": "email", "required": True},
            {"name": "street", "type": "text", "maps_to": "street_address"},
            {"name": "city", "type": "text"},
            {"name": "region", "type": "text"},
            {"name": "postcode", "type": "text"},
            {"name": "birthday", "type": "date"},
        ],
    )
    assert [f["maps_to"] for f in created["fields"]] == [
        "email",
        "street_address",
        "city",
        "region",
        "postal_code",
        "date_of_birth",
    ]
    answer = PublicClient(form).submit(
        {
            "email": "ana@initech.com",
            "street": "221B Baker Street",
            "city": "London",
            "region": "Greater London",
            "postcode": "nw1  6xe",
            "birthday": "1987-04-12",
        }
    )
    assert answer.status_code == 201, answer.content
    contact = Contact.objects.get()
    assert (
        contact.street_address,
        contact.city,
        contact.region,
        contact.postal_code,
        contact.date_of_birth.isoformat(),
    ) == ("221B Baker Street", "London", "Greater London", "NW1 6XE", "1987-04-12")


def test_a_birth_date_in_the_future_is_named_by_the_form_field(workspace, api_key_for):
    api = api_key_for(workspace, ["forms:write"])
    _, form = _make_form(
        api,
        [{"name": "email", "type": "email", "required": True}, {"name": "dob", "type": "date"}],
    )
    answer = PublicClient(form).submit({"email": "ana@initech.com", "dob": "2999-01-01"})
    assert answer.status_code == 422
    assert [(e["field"], e["message"]) for e in answer.json()["errors"]] == [
        ("dob", "The date is in the future.")
    ]
    assert not Contact.objects.exists()
    # A plain date field keeps taking any date.
    _, other = _make_form(
        api,
        [
            {"name": "email", "type": "email", "required": True},
            {"name": "start", "type": "date"},
        ],
    )
    assert (
        PublicClient(other).submit({"email": "bo@initech.com", "start": "2999-01-01"}).status_code
        == 201
    )


def test_a_postal_code_longer_than_the_contact_holds_is_refused_by_the_form(workspace, api_key_for):
    api = api_key_for(workspace, ["forms:write"])
    _, form = _make_form(
        api,
        [{"name": "email", "type": "email", "required": True}, {"name": "zip", "type": "text"}],
    )
    answer = PublicClient(form).submit({"email": "ana@initech.com", "zip": "1" * 21})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["zip"]
