"""A marketer imports a year of email and webinar history in a real browser: upload as
activities, check the mapping the names gave, preview (an unknown contact shows as an
error), start, and watch the progress card until the activities are stored."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.services import contact_upsert
from leadflow.imports.models import ImportJob
from leadflow.imports.run import import_job_run
from leadflow.tracking.models import Event
from tests.conftest import PASSWORD
from tests.e2e.test_page_layout import OVERFLOW

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HISTORY = (
    "Email,Activity type,Subject,Timestamp,Campaign\n"
    "grace@navy-labs.com,Email opened,Spring newsletter,31/01/2025 10:00,spring\n"
    "grace@navy-labs.com,webinar_attended,Pricing 101,2025-02-04 16:00,webinars\n"
    "nobody@navy-labs.com,call,Intro call,2025-02-05,\n"
)


@pytest.mark.parametrize("width", [1440, 390])
def test_import_activities_in_the_browser(page, workspace, owner_actor, tmp_path, settings, width):
    settings.DATA_DIR = tmp_path / "data"
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])
    grace = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "grace@navy-labs.com"}
    ).contact
    path = tmp_path / "history.csv"
    path.write_text(HISTORY, encoding="utf-8")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))
    page.goto(f"/w/{workspace.slug}/contacts/imports/")
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(str(path))
    page.get_by_label(re.compile("Past activities of your contacts")).check()
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Map the activities of history.csv")
    expect(page.get_by_role("combobox", name="Email")).to_have_value("contact_email")
    expect(page.get_by_role("combobox", name="Activity type")).to_have_value("type")
    expect(page.get_by_role("combobox", name="Timestamp")).to_have_value("occurred_at")
    expect(page.get_by_role("combobox", name="Campaign")).to_have_value("property")
    page.get_by_role("button", name="Show the first rows as they will be stored").click()
    preview = page.locator("#import-preview")
    expect(preview.get_by_role("cell", name="Email opened")).to_be_visible()
    expect(preview).to_contain_text("2025-01-31 10:00")
    expect(preview).to_contain_text("Not imported: Email: No contact of this workspace")
    layout = page.evaluate(OVERFLOW)
    assert layout["overflow"] <= 0, f"the mapping page scrolls sideways: {layout['culprits']}"
    page.screenshot(path=f"/tmp/shots-hist/activities-mapping-{width}.png", full_page=True)

    page.get_by_role("button", name=re.compile(r"Import 3 activities")).click()
    card = page.locator("#import-progress")
    expect(card).to_contain_text("Waiting for the worker")
    import_job_run(job_id=ImportJob.objects.get().pk)  # the worker's part
    expect(card).to_contain_text("Import finished", timeout=15_000)  # the page polls
    expect(card).to_contain_text("Activities stored")
    expect(card.get_by_role("link", name="Download the rows with problems (CSV)")).to_be_visible()
    layout = page.evaluate(OVERFLOW)
    assert layout["overflow"] <= 0, f"the progress page scrolls sideways: {layout['culprits']}"
    page.screenshot(path=f"/tmp/shots-hist/activities-done-{width}.png", full_page=True)
    assert page.javascript_errors == []
    assert set(Event.objects.values_list("event_type", "contact_id")) == {
        ("email_open", grace.pk),
        ("webinar_attended", grace.pk),
    }
