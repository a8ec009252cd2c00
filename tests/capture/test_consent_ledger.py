"""A form's consent boxes write the consent ledger: one row per ticked box, for the box's
purpose, with the exact text, its version, the form and the visitor's address; a box left
unticked writes nothing (it never withdraws an earlier grant); a purpose the workspace
does not have is refused when the form is saved, naming the field."""

import pytest

from leadflow.capture.fields import consent_version
from leadflow.capture.services import form_update
from leadflow.contacts.consent import consent_statuses
from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed

from .conftest import CONSENT_TEXT, good_fields

NEWSLETTER_TEXT = "Send me the monthly newsletter."


@pytest.fixture
def two_boxes(lead_form):
    form_update(
        workspace=lead_form.workspace,
        form_id=lead_form.pk,
        actor=Actor.system(),
        data={
            "fields": [
                *lead_form.fields,
                {
                    "name": "newsletter",
                    "type": "consent",
                    "consent_text": NEWSLETTER_TEXT,
                    "consent_purpose": "newsletter",
                },
            ]
        },
    )
    lead_form.refresh_from_db()
    return lead_form


def test_each_ticked_box_is_a_row_for_its_purpose(two_boxes, public, workspace):
    assert public.submit(good_fields(newsletter=True)).status_code == 201
    contact = Contact.objects.get(email="jane@initech.com")
    rows = list(contact.consent_entries.order_by("purpose"))
    assert [(r.purpose, r.status, r.source) for r in rows] == [
        ("marketing_email", "granted", "form"),
        ("newsletter", "granted", "form"),
    ]
    assert (rows[0].text, rows[0].version) == (CONSENT_TEXT, consent_version(CONSENT_TEXT))
    assert (rows[1].text, rows[1].version) == (NEWSLETTER_TEXT, consent_version(NEWSLETTER_TEXT))
    assert {r.ip for r in rows} == {"203.0.113.7"}
    assert rows[0].source_ref == f"form {two_boxes.pk}: Book a demo"
    assert contact.consent_status == "granted"


def test_a_box_left_unticked_never_withdraws(two_boxes, public, workspace):
    assert public.submit(good_fields(newsletter=True)).status_code == 201
    assert public.submit(good_fields(newsletter=False)).status_code == 201
    contact = Contact.objects.get(email="jane@initech.com")
    assert consent_statuses(workspace.pk, [contact.pk], "newsletter") == {contact.pk: "granted"}
    # The second submission's marketing box wrote a second row (new proof), newsletter none.
    assert contact.consent_entries.filter(purpose="newsletter").count() == 1
    assert contact.consent_entries.filter(purpose="marketing_email").count() == 2


def test_an_unknown_purpose_is_refused_when_the_form_is_saved(lead_form):
    with pytest.raises(ValidationFailed) as failure:
        form_update(
            workspace=lead_form.workspace,
            form_id=lead_form.pk,
            actor=Actor.system(),
            data={
                "fields": [
                    *lead_form.fields,
                    {
                        "name": "x",
                        "type": "consent",
                        "consent_text": "Yes",
                        "consent_purpose": "telepathy",
                    },
                ]
            },
        )
    assert [error.field for error in failure.value.errors] == ["fields[11].consent_purpose"]
