"""A field whose answer obviously belongs on the contact (an email or phone field, a text
field named first_name, last_name, company, job_title...) is saved there unless its
definition says otherwise; an empty ``maps_to`` keeps the answer on the submission only."""

import pytest

from leadflow.capture.fields import form_fields_clean
from leadflow.capture.models import Form
from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from tests.capture.conftest import PublicClient


def _targets(fields) -> dict[str, str]:
    return {field["name"]: field["maps_to"] for field in form_fields_clean(fields, set())}


def test_obvious_fields_map_to_the_contact_unless_the_definition_says_otherwise():
    assert _targets(
        [
            {"name": "work_email", "type": "email"},
            {"name": "mobile", "type": "phone"},
            {"name": "first_name", "type": "text"},
            {"name": "surname", "type": "text"},
            {"name": "company", "type": "text"},
            {"name": "job_title", "type": "text"},
            {"name": "message", "type": "textarea"},
            {"name": "company_size", "type": "select", "options": ["1-10", "11+"]},
        ]
    ) == {
        "work_email": "email",
        "mobile": "phone",
        "first_name": "first_name",
        "surname": "last_name",
        "company": "company",
        "job_title": "job_title",
        "message": "",
        "company_size": "",
    }
    # A definition that says where its answer goes wins over the obvious default.
    targets = _targets(
        [
            {"name": "email", "type": "email", "maps_to": "email"},
            {"name": "backup_email", "type": "email"},  # email is taken: submission only
            {"name": "phone", "type": "phone", "maps_to": ""},  # chosen: submission only
            {"name": "company", "type": "text"},
            {"name": "employer", "type": "text", "maps_to": "company"},
        ]
    )
    assert targets == {
        "email": "email",
        "backup_email": "",
        "phone": "",
        "company": "",  # a later field maps to company on purpose
        "employer": "company",
    }


@pytest.mark.parametrize("maps_to", [["email"], {"a": 1}, 5])
def test_a_maps_to_that_is_not_text_is_refused_not_a_server_error(maps_to):
    with pytest.raises(ValidationFailed):
        form_fields_clean([{"name": "email", "type": "email", "maps_to": maps_to}], set())


def test_a_phone_field_made_through_the_api_fills_the_contact_phone(workspace, api_key_for):
    api = api_key_for(workspace, ["forms:write"])
    created = api.post(
        "/forms",
        {
            "name": "Call me back",
            "fields": [
                {"name": "email", "type": "email", "required": True},
                {"name": "phone", "type": "phone"},
                {"name": "first_name", "type": "text"},
            ],
            "min_fill_seconds": 0,
        },
    )
    assert created.status_code == 201, created.content
    assert [field["maps_to"] for field in created.json()["fields"]] == [
        "email",
        "phone",
        "first_name",
    ]
    form = Form.objects.get()
    answer = PublicClient(form).submit(
        {"email": "ana@initech.com", "phone": "+44 7911 123456", "first_name": "Ana"}
    )
    assert answer.status_code == 201
    contact = Contact.objects.get()
    assert (contact.phone, contact.first_name) == ("+447911123456", "Ana")
