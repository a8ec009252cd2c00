"""A marketer's path in a real browser: add a Google Ads lead source, copy its URL and
key, receive a lead on that URL and find it in the delivery log and as a contact."""

import json
import re

import pytest
from playwright.sync_api import expect

from leadflow.inbound.models import LeadSource
from tests.conftest import PASSWORD
from tests.inbound.conftest import sample

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_a_source_and_see_a_delivery(page, workspace, make_member):
    make_member("marketer", "mara@acme-widgets.com")
    page.goto("/login/")
    page.get_by_label("Email").fill("mara@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))

    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Lead sources").click()  # a marketer's way in
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/settings/lead-sources/$"))
    settings_nav = page.get_by_role("navigation", name="Settings")
    expect(settings_nav.get_by_role("link", name="Lead sources")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_label("Name").fill("Google – spring search")
    page.get_by_label("Google Ads lead forms").check()
    page.get_by_role("button", name="Add lead source").click()
    expect(page.get_by_role("heading", name=re.compile("Google – spring search"))).to_be_visible()
    url = page.get_by_label("Webhook URL").input_value()
    key = page.get_by_label("Secret").input_value()
    assert url.endswith(f"/in/{LeadSource.objects.get().key}")
    expect(page.get_by_role("button", name="Copy URL")).to_be_visible()  # the script ran

    lead = {**sample("google_lead"), "google_key": key}
    answer = page.request.post(
        url, data=json.dumps(lead), headers={"Content-Type": "application/json"}
    )
    assert answer.status == 201, answer.text()

    page.get_by_role("link", name="Delivery log").click()
    row = page.locator("tbody tr").first
    expect(row.locator("[data-status]")).to_have_text("Accepted")
    expect(row).to_contain_text("test")
    row.get_by_role("link", name=re.compile("View")).click()
    expect(page.get_by_label("Body")).to_contain_text('"FULL_NAME"')
    page.get_by_role("link", name="FirstName LastName").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("FirstName LastName")
    assert page.javascript_errors == []
