"""Merging a duplicate in a real browser, on a desktop and on a phone: the page preselects
what keeps the lead's progress (the furthest stage, the strongest consent), reads in
labels, fits the screen, and the merge keeps what was preselected."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.contacts import services
from leadflow.contacts.models import Contact
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def duplicates(workspace, owner_actor):
    """An older qualified record and a newer plain duplicate of the same person."""

    def make(email: str, days_ago: int, **fields) -> Contact:
        contact = services.contact_upsert(
            workspace=workspace,
            data={"email": email, "first_name": "Grace", "last_name": "Hopper"},
            actor=owner_actor,
        ).contact
        updated = timezone.now() - dt.timedelta(days=days_ago)
        Contact.objects.filter(pk=contact.pk).update(updated_at=updated, **fields)
        return contact

    qualified = make(
        "grace@navy-labs.com",
        30,
        lifecycle_stage="mql",
        consent_status="granted",
        last_touch_channel="paid_search",
        last_touch_source="google",
        job_title="Rear admiral",
        country="US",
    )
    newer = make(
        "grace.hopper@gmail.com",
        1,
        lifecycle_stage="lead",
        consent_status="unknown",
        last_touch_channel="organic_search",
        last_touch_source="bing",
        country="GB",
    )
    return newer, qualified


def log_in(page, workspace):
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/"))


@pytest.mark.parametrize("width", [1440, 390])
def test_the_merge_page_keeps_the_qualified_values_and_fits_the_screen(
    page, workspace, duplicates, width
):
    newer, qualified = duplicates
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, workspace)
    page.goto(f"/w/{workspace.slug}/contacts/{newer.pk}/merge/?other={qualified.pk}")
    kept = page.get_by_label("Lifecycle stage of the contact merged in:")
    expect(kept).to_be_checked()
    expect(page.get_by_label("Consent of the contact merged in:")).to_be_checked()
    expect(page.get_by_label("Job title of the contact merged in:")).to_be_checked()
    expect(page.get_by_label("Latest channel of the contact kept:")).to_be_checked()
    table = page.locator("table.merge-table")
    for label in ("Marketing-qualified lead", "Granted", "Paid search", "Organic search"):
        expect(table).to_contain_text(label)
    expect(table).not_to_contain_text("paid_search")
    page.screenshot(path=f"/tmp/leadflow-merge-{width}.png", full_page=True)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
    page.get_by_role("button", name=re.compile("^Merge ")).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{newer.pk}/$"))
    newer.refresh_from_db()
    assert (newer.lifecycle_stage, newer.consent_status) == ("mql", "granted")
    assert newer.job_title == "Rear admiral"
    assert not page.javascript_errors
