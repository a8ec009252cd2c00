"""A marketer imports a trade-fair list in a real browser: upload, map a column the names
did not give, add a custom field, preview, start, and watch the progress card follow the
worker until the import is done."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.imports.models import ImportJob
from leadflow.imports.run import import_job_run
from tests.conftest import PASSWORD
from tests.e2e.test_page_layout import OVERFLOW

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
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))  # the home
    page.goto(f"/w/{workspace.slug}/contacts/")
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
    expect(card.get_by_role("link", name="Download the rows with problems (CSV)")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-import-done.png", full_page=True)
    assert page.javascript_errors == []

    grace = Contact.objects.get(email="grace@navy-labs.com")
    assert (grace.first_name, grace.lifecycle_stage, grace.custom_fields) == (
        "Grace",
        "customer",
        {"budget": 1200},
    )
    assert [tag.name for tag in grace.tags.all()] == ["fair-2026"]


TRADE_SHOW = (
    "Email,First Name,Employees,Outcome,Date of birth,Notes\n"
    'grace@navy-labs.com,Grace,"12,000",won,31/12/1970,Met at the booth\n'
    "ada@analytical.co.uk,Ada,n/a,open,10/12/1985,Wants a demo\n"
    "kim@initech.com,Kim,250,lost,31/02/1990,\n"
    "not-an-email,Bob,10,lost,,\n"
)


def _login(page, workspace):
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))


def _fits(page, label: str) -> None:
    layout = page.evaluate(OVERFLOW)
    assert layout["overflow"] <= 0, f"{label} scrolls sideways: {layout['culprits']}"


@pytest.mark.parametrize("width", [1440, 390])
def test_an_import_with_bad_cells_keeps_the_rows_and_lists_the_warnings(
    page, workspace, owner_actor, tmp_path, settings, width
):
    from leadflow.contacts.models import CustomField
    from leadflow.contacts.services import contact_upsert

    settings.DATA_DIR = tmp_path / "data"
    fields = [("employees", "Employees", "number"), ("dob", "Date of birth", "date")]
    for key, label, kind in fields:
        CustomField.objects.create(workspace=workspace, key=key, label=label, field_type=kind)
    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "else@initech.com"})
    path = tmp_path / "trade show.csv"
    path.write_text(TRADE_SHOW, encoding="utf-8")
    page.set_viewport_size({"width": width, "height": 900})
    _login(page, workspace)
    page.goto(f"/w/{workspace.slug}/contacts/imports/")
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("combobox", name="Notes")).to_have_value("note")
    expect(page.get_by_label("Dates such as 04/03/2024")).to_have_value("auto")
    expect(page.locator("#id_day_first_help")).to_contain_text("can only be read day first")
    page.get_by_role("button", name="Show the first rows as they will be stored").click()
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("Imported without: Employees (Must be a number.)")
    expect(preview).to_contain_text("Not imported: Email")
    _fits(page, f"the mapping page at {width} px")
    page.screenshot(path=f"/tmp/leadflow-import-warnings-mapping-{width}.png", full_page=True)

    page.get_by_role("button", name=re.compile(r"Start import of 4 rows")).click()
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)  # the worker's part
    card = page.locator("#import-progress")
    expect(card).to_contain_text("Import finished", timeout=15_000)
    expect(card).to_contain_text("3 warnings")
    expect(card).to_contain_text("1 error")
    expect(card.get_by_role("link", name="Download the rows with problems (CSV)")).to_be_visible()
    _fits(page, f"the progress page at {width} px")
    page.screenshot(path=f"/tmp/leadflow-import-warnings-done-{width}.png", full_page=True)

    card.get_by_role("link", name="See the imported contacts").click()
    expect(page.get_by_text("Showing the contacts one import created or updated")).to_be_visible()
    results = page.locator("#contact-results")
    for email in ("grace@navy-labs.com", "ada@analytical.co.uk", "kim@initech.com"):
        expect(results).to_contain_text(email)
    expect(results).not_to_contain_text("else@initech.com")
    _fits(page, f"the imported contacts at {width} px")
    page.screenshot(path=f"/tmp/leadflow-import-warnings-contacts-{width}.png", full_page=True)
    assert page.javascript_errors == []
    grace = Contact.objects.get(email="grace@navy-labs.com")
    assert (grace.lifecycle_stage, grace.custom_fields) == ("customer", {"dob": "1970-12-31"})
