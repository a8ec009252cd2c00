"""A marketer imports a trade-fair list in a real browser: upload, map a column the names
did not give, add a custom field, preview, start, and watch the progress card follow the
worker until the import is done."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.imports import import_job_run
from leadflow.contacts.models import Contact, ImportJob
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "E-mail;Vorname;Budget;Won/Lost\n"
    "grace@navy-labs.com;Grace;1200;won\n"
    "not-an-email;Bob;10;lost\n"
    "ada@analytical.co.uk;Ada;800;\n"
)


def test_import_a_file_in_the_browser(page, workspace, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    path = tmp_path / "fair.csv"
    path.write_text(CSV, encoding="utf-8")

    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/contacts/$"))
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Map the columns of fair.csv")
    expect(page.get_by_role("combobox", name="E-mail")).to_have_value("email")
    expect(page.get_by_role("combobox", name="Won/Lost")).to_have_value("outcome")
    page.get_by_role("combobox", name="Vorname").select_option("first_name")
    budget = page.get_by_role("combobox", name="Budget")
    type_select = page.locator('select[name="type_2"]')
    expect(type_select).to_be_hidden()
    budget.select_option("__new__")
    expect(type_select).to_be_visible()  # asked only for a new field
    type_select.select_option("number")
    page.get_by_label("Tags for every row").fill("fair-2026")

    page.get_by_role("button", name="Show the first rows as they will be stored").click()
    preview = page.locator("#import-preview")
    expect(preview.get_by_role("cell", name="customer")).to_be_visible()
    expect(preview).to_contain_text("Not imported: E-mail")
    expect(preview).to_contain_text("gets the tags fair-2026")
    page.screenshot(path="/tmp/leadflow-import-mapping.png", full_page=True)

    page.get_by_role("button", name=re.compile(r"Start import of 3 rows")).click()
    card = page.locator("#import-progress")
    expect(card).to_contain_text("Waiting for the worker")
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)  # the worker's part
    expect(card).to_contain_text("Import finished", timeout=15_000)  # the page polls
    expect(card).to_contain_text("1 error")
    expect(card.get_by_role("link", name="Download the failed rows (CSV)")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-import-done.png", full_page=True)
    assert page.javascript_errors == []

    grace = Contact.objects.get(email="grace@navy-labs.com")
    assert (grace.first_name, grace.lifecycle_stage, grace.custom_fields) == (
        "Grace",
        "customer",
        {"budget": 1200},
    )
    assert [tag.name for tag in grace.tags.all()] == ["fair-2026"]
