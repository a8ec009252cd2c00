"""In a real browser: a marketer's form fields named like an address or a date of birth
save to the contact's identity fields, and a custom field is marked as identifying a
person in the settings."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.capture import services
from leadflow.capture.models import Form
from leadflow.contacts.models import Contact, CustomField
from leadflow.web.views.forms import starter_fields
from tests.capture.conftest import PublicClient
from tests.e2e.test_form_builder import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/leadflow-shots")


def _add(page, kind: str, label: str):
    rows = page.locator("#fb-list > .fb-row")
    before = rows.count()
    page.get_by_label("Add a field").select_option(kind)
    page.get_by_role("button", name="Add field").click()
    expect(rows).to_have_count(before + 1)
    row = rows.nth(before - 1)  # a new field goes before the consent box, which stays last
    row.get_by_label("Label").fill(label)
    return row


def test_postal_code_and_date_of_birth_fields_save_to_the_contact(
    page, owner, workspace, owner_actor
):
    form = services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Home visit", "fields": starter_fields(workspace.name)},
    )
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/")
    city = _add(page, "text", "City")
    expect(city.get_by_label("Save the answer to")).to_have_value("city")
    postcode = _add(page, "text", "Postcode")
    expect(postcode.get_by_label("Save the answer to")).to_have_value("postal_code")
    birth = _add(page, "date", "Date of birth")
    expect(birth.get_by_label("Save the answer to")).to_have_value("date_of_birth")
    expect(birth.locator(".fb-maps")).to_contain_text("Date of birth")
    # A short text named like a date of birth is no date: its answer stays on the submission.
    dob_text = _add(page, "text", "DOB")
    expect(dob_text.get_by_label("Save the answer to")).to_have_value("")
    # The marketer points a field at the region by hand.
    county = _add(page, "text", "Where you live")
    county.get_by_label("Save the answer to").select_option("region")
    page.get_by_role("button", name="Save form").click()
    expect(page.get_by_role("status").filter(has_text="Saved the form")).to_be_visible()
    form = Form.objects.get(pk=form.pk)
    targets = {f["name"]: f["maps_to"] for f in form.fields}
    assert {name: targets[name] for name in ("city", "postcode", "date_of_birth", "dob")} == {
        "city": "city",
        "postcode": "postal_code",
        "date_of_birth": "date_of_birth",
        "dob": "",
    }
    region_field = next(name for name, target in targets.items() if target == "region")
    Form.objects.filter(pk=form.pk).update(min_fill_seconds=0)
    form.refresh_from_db()
    answer = PublicClient(form).submit(
        {
            "email": "ana@initech.com",
            "city": "Leeds",
            "postcode": "ls1 4ap",
            "date_of_birth": "1990-06-30",
            region_field: "West Yorkshire",
        }
    )
    assert answer.status_code == 201, answer.content
    contact = Contact.objects.get(email="ana@initech.com")
    assert (contact.city, contact.postal_code, contact.region) == (
        "Leeds",
        "LS1 4AP",
        "West Yorkshire",
    )
    assert contact.date_of_birth.isoformat() == "1990-06-30"
    assert page.javascript_errors == []


def test_a_custom_field_is_marked_as_identifying_in_the_settings(page, owner, workspace):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/settings/fields/")
    page.get_by_label("Label").fill("Customer number")
    page.get_by_label("Identifies a person (used to find duplicates)").check()
    page.get_by_label("Comparison").select_option("digits")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "settings-identifying-field.png"), full_page=True)
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("table")).to_contain_text("identifies a person · Same digits")
    field = CustomField.objects.get(workspace=workspace)
    assert (field.identifying, field.match_type) == (True, "digits")
    page.screenshot(path=str(SHOTS / "settings-identifying-list.png"), full_page=True)
    assert page.javascript_errors == []
