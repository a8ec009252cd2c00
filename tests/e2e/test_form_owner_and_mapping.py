"""In a real browser: a Phone field added in the builder saves to the contact's phone and
goes before the consent box; a salesperson's submissions page lists only their own leads,
at desktop and phone widths."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.capture import services
from leadflow.capture.models import Form
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.web.views.forms import starter_fields
from tests.capture.conftest import PublicClient
from tests.e2e.test_form_builder import field_names, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/leadflow-shots")


def _shoot(page, name: str, focus=None) -> None:
    """Full-page screenshots at 1440 px and 390 px (and, at 390 px, the screen around
    ``focus``), and no sideways scrolling on a phone."""
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-1440.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    if focus is not None:
        focus.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"{name}-390-screen.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1440, "height": 900})
    assert width <= 390, f"{name} is {width} px wide on a phone"


def test_a_phone_field_added_in_the_builder_reaches_the_contact(
    page, owner, workspace, owner_actor
):
    form = services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Call me back", "fields": starter_fields(workspace.name)},
    )
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/")

    page.get_by_label("Add a field").select_option("phone")
    page.get_by_role("button", name="Add field").click()
    assert field_names(page) == ["email", "first_name", "phone", "consent"]
    phone_row = page.locator("#fb-list > .fb-row").nth(2)
    expect(phone_row.get_by_label("Save the answer to")).to_have_value("phone")
    expect(phone_row.locator(".fb-maps")).to_contain_text("Phone")

    # A short text labelled "Job title" is saved to the job title; a second phone field
    # finds the phone taken and keeps its answer on the submission.
    page.get_by_label("Add a field").select_option("text")
    page.get_by_role("button", name="Add field").click()
    title_row = page.locator("#fb-list > .fb-row").nth(3)
    title_row.get_by_label("Label").fill("Job title")
    expect(title_row.get_by_label("Save the answer to")).to_have_value("job_title")
    page.get_by_label("Add a field").select_option("phone")
    page.get_by_role("button", name="Add field").click()
    second_phone = page.locator("#fb-list > .fb-row").nth(4)
    expect(second_phone.get_by_label("Save the answer to")).to_have_value("")
    assert field_names(page) == ["email", "first_name", "phone", "job_title", "phone_2", "consent"]
    expect(page.locator("#fb-preview-status")).to_have_text("Up to date")
    _shoot(page, "builder-phone", focus=phone_row.get_by_label("Save the answer to"))

    page.get_by_role("button", name="Save form").click()
    expect(page.get_by_role("status").filter(has_text="Saved the form")).to_be_visible()
    form = Form.objects.get(pk=form.pk)
    assert {f["name"]: f["maps_to"] for f in form.fields} == {
        "email": "email",
        "first_name": "first_name",
        "phone": "phone",
        "job_title": "job_title",
        "phone_2": "",
        "consent": "",
    }
    Form.objects.filter(pk=form.pk).update(min_fill_seconds=0)  # the client sends at once
    form.refresh_from_db()
    answer = PublicClient(form).submit(
        {"email": "ana@initech.com", "phone": "+44 7911 123456", "job_title": "Buyer"}
    )
    assert answer.status_code == 201
    contact = Contact.objects.get(email="ana@initech.com")
    assert (contact.phone, contact.job_title) == ("+447911123456", "Buyer")
    assert page.javascript_errors == []


def test_a_salesperson_sees_the_submissions_of_their_own_leads_only(
    page, workspace, owner_actor, make_member
):
    seller = make_member("sales", "sam@acme-widgets.com").user
    form = services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Contact us", "fields": starter_fields(workspace.name)},
    )
    Form.objects.filter(pk=form.pk).update(min_fill_seconds=0)
    form.refresh_from_db()
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "mine@initech.com", "owner_id": seller.pk},
    )
    public = PublicClient(form)
    for email in ("mine@initech.com", "theirs@globex.com", "other@umbrella.example"):
        assert public.submit({"email": email, "first_name": "Pat"}).status_code == 201

    log_in(page, seller.email)
    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/submissions/")
    table = page.get_by_role("table")
    expect(table).to_contain_text("mine@initech.com")
    expect(table).not_to_contain_text("theirs@globex.com")
    expect(page.get_by_text("You see the submissions of your own leads only")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    # The builder is read-only for sales: no "New form", no save.
    page.goto(f"/w/{workspace.slug}/forms/")
    expect(page.get_by_role("link", name="New form")).to_have_count(0)
    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/submissions/")
    _shoot(page, "sales-submissions")
    assert re.search(r"/submissions/$", page.url)
    assert page.javascript_errors == []
