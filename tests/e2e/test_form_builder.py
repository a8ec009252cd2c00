"""A marketer builds a lead form in a real browser: create it, add a dropdown with options,
drag it above another field, watch the live preview follow, save, and find the order kept
after a reload. Also: the keyboard-only way to reorder, and the submissions pages."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.capture.models import Form
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def field_names(page) -> list[str]:
    return page.locator("#fb-list > .fb-row .fb-name").all_inner_texts()


def preview_labels(page) -> list[str]:
    frame = page.frame_locator("#fb-preview")
    return [
        text.strip().rstrip(" *")
        for text in frame.locator(".lf-field > label, .lf-field legend").all_inner_texts()
    ]


def test_build_a_form_with_drag_and_drop_and_a_live_preview(page, owner, workspace):
    log_in(page, owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forms").click()
    expect(page.get_by_role("heading", name="No forms yet")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-forms-empty.png", full_page=True)
    page.get_by_role("link", name="Create your first form").click()
    page.get_by_label("Name").fill("Book a demo")
    page.get_by_role("button", name="Create form").click()

    expect(page).to_have_url(re.compile(r"/forms/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Book a demo")
    assert field_names(page) == ["email", "first_name", "consent"]
    expect(page.frame_locator("#fb-preview").locator("#lf-email")).to_be_visible()

    # Add a dropdown with three options; the preview shows it without saving. It goes
    # before the consent box, which stays last.
    page.get_by_label("Add a field").select_option("select")
    page.get_by_role("button", name="Add field").click()
    uid = page.locator("#fb-list > .fb-row").nth(2).get_attribute("data-uid")
    new_row = page.locator(f'#fb-list > .fb-row[data-uid="{uid}"]')
    label = new_row.get_by_label("Label")
    expect(label).to_be_focused()
    label.fill("Company size")
    new_row.get_by_label("Options").fill("1-10\n11-50\n51 or more")
    expect(new_row.locator(".fb-name")).to_have_text("company_size")
    frame = page.frame_locator("#fb-preview")
    select = frame.locator("select#lf-company_size")
    expect(select).to_be_visible()
    expect(select.locator("option")).to_have_text(["Choose…", "1-10", "11-50", "51 or more"])
    expect(page.locator("#fb-preview-status")).to_have_text("Up to date")
    assert preview_labels(page)[-2] == "Company size"
    assert field_names(page)[-1] == "consent"

    # Drag it by its handle above "First name".
    first_name_row = page.locator("#fb-list > .fb-row").nth(1)
    new_row.locator(".fb-handle").drag_to(first_name_row, target_position={"x": 40, "y": 6})
    expect(page.locator("#fb-list > .fb-row .fb-name")).to_have_text(
        ["email", "company_size", "first_name", "consent"]
    )
    expect(page.locator("#fb-announce")).to_contain_text("moved to position 2 of 4")
    expect(frame.locator(".lf-field").nth(1).locator("select")).to_have_id("lf-company_size")
    expect(page.locator("#fb-dirty")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-form-builder.png", full_page=True)

    # An invalid definition shows its problem in the preview and on the row.
    new_row.get_by_label("Options").fill("")
    expect(frame.locator(".lf-preview-errors")).to_contain_text("List the options")
    expect(new_row.locator(".fb-live-error")).to_have_text("List the options (text).")
    new_row.get_by_label("Options").fill("1-10\n11-50\n51 or more")
    expect(new_row.locator(".fb-live-error")).to_be_hidden()

    page.get_by_role("button", name="Save form").click()
    expect(page.get_by_role("status").filter(has_text="Saved the form")).to_be_visible()
    page.reload()
    expect(page.locator("#fb-list > .fb-row .fb-name")).to_have_text(
        ["email", "company_size", "first_name", "consent"]
    )
    form = Form.objects.get(workspace=workspace)
    assert [f["name"] for f in form.fields] == ["email", "company_size", "first_name", "consent"]
    assert form.fields[1]["options"] == ["1-10", "11-50", "51 or more"]
    assert form.fields[1]["type"] == "select"
    assert page.javascript_errors == []


def test_reorder_with_the_keyboard(page, owner, workspace, owner_actor):
    from leadflow.capture import services
    from leadflow.web.views.forms import starter_fields

    form = services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Newsletter", "fields": starter_fields(workspace.name)},
    )
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/")
    consent_row = page.locator(
        "#fb-list > .fb-row", has=page.locator(".fb-name", has_text="consent")
    )
    up = consent_row.get_by_role("button", name="Move up")
    up.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#fb-list > .fb-row .fb-name")).to_have_text(
        ["email", "consent", "first_name"]
    )
    # Focus stays on the button, which moved with its row: press again.
    expect(up).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#fb-list > .fb-row .fb-name")).to_have_text(
        ["consent", "email", "first_name"]
    )
    expect(page.locator("#fb-announce")).to_have_text("Consent moved to position 1 of 3.")
    # Open a row with the keyboard and change its label.
    toggle = page.locator("#fb-list > .fb-row").nth(1).locator(".fb-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.locator("#fb-list > .fb-row").nth(1).get_by_label("Label").fill("Work email")
    expect(page.frame_locator("#fb-preview").locator("label[for=lf-email]")).to_contain_text(
        "Work email"
    )
    page.get_by_role("button", name="Save form").click()
    expect(page.get_by_role("status").filter(has_text="Saved the form")).to_be_visible()
    form.refresh_from_db()
    assert [f["name"] for f in form.fields] == ["consent", "email", "first_name"]
    assert form.fields[1]["label"] == "Work email"
    page.screenshot(path="/tmp/leadflow-form-saved.png", full_page=True)
    assert page.javascript_errors == []
