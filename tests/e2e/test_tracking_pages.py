"""The tracking pages in a real browser, on the demo workspace's visits: the sources report
(chart, groups, ranges), the tracking settings (warning, a refused and a saved site list, a
channel rule), the visitors and the visits on a contact's timeline. Screenshots go to /tmp.
"""

import re

import pytest
from playwright.sync_api import expect

from leadflow.demo import DEMO_OWNER_EMAIL, demo_build
from leadflow.tracking.models import VisitSession
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    return demo_build(contacts=150, owner_password=PASSWORD)


def log_in(page):
    page.goto("/login/")
    page.get_by_label("Email").fill(DEMO_OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/demo/$"))  # the home


def test_sources_report_settings_visitors_and_timeline(page, demo):
    log_in(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sources").click()
    expect(page.get_by_role("heading", name="Sources", level=1)).to_be_visible()
    page.get_by_role("link", name="Last 90 days").click()
    chart = page.get_by_role("img", name=re.compile("Visitors and leads per day"))
    expect(chart).to_be_visible()
    assert page.locator("svg.chart rect.bar-visitors").count() == 90
    assert page.locator("svg.chart rect.bar-visitors[height='0']").count() < 90
    rows = page.locator("table.sources-table tbody tr")
    expect(rows.first).to_be_visible()
    page.screenshot(path="/tmp/leadflow-sources.png", full_page=True)
    page.get_by_role("link", name="By source").click()
    expect(page).to_have_url(re.compile(r"range=90&group=source"))
    expect(page.get_by_role("columnheader", name="Source")).to_be_visible()
    page.get_by_text("Show the numbers per day").click()
    expect(page.locator(".chart-data table")).to_be_visible()
    page.get_by_label("From").fill("2026-03-10")
    page.get_by_label("to", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("Must be on or after the first day.")

    page.goto("/w/demo/settings/tracking/")
    expect(page.get_by_text("any website can send data and embed your forms")).to_be_visible()
    expect(page.get_by_label("Tracker snippet")).to_have_value(
        re.compile(r'^<script src="http://[^"]+/static/leadflow/lf\.js" data-key="pk_[^"]+" async>')
    )
    page.screenshot(path="/tmp/leadflow-tracking-settings.png", full_page=True)
    sites = page.get_by_label("Sites that may send data and embed your forms")
    sites.fill("https://www.northwind.example\nnot a site")
    page.get_by_role("button", name="Save tracking settings").click()
    expect(page.locator("#id_allowed_origins_error")).to_contain_text("Not an origin")
    expect(sites).to_have_attribute("aria-invalid", "true")
    sites.fill("https://www.northwind.example")
    page.get_by_role("button", name="Save tracking settings").click()
    expect(page.get_by_role("status").filter(has_text="Tracking settings saved")).to_be_visible()
    expect(page.get_by_text("any website can send data")).to_have_count(0)

    page.get_by_label("utm_source matches").fill("(partner")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#id_rule_utm_source_error")).to_contain_text("Not a regular expression")
    page.get_by_label("utm_source matches").fill("partnerhub|affnet")
    page.get_by_label("Channel", exact=True).select_option("affiliate")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("cell", name="partnerhub|affnet")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-tracking-rules.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Visitors").click()
    expect(page.get_by_role("heading", name="Visitors", level=1)).to_be_visible()
    page.screenshot(path="/tmp/leadflow-visitors.png", full_page=True)
    page.get_by_role("link", name="Identified").click()
    page.locator("table.visitors-table tbody tr a.strong").first.click()
    expect(page.get_by_role("heading", name="Visits")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-visitor.png", full_page=True)

    session = (
        VisitSession.objects.filter(workspace=demo, contact__isnull=False, pageviews__gt=1)
        .order_by("-started_at")
        .first()
    )
    page.goto(f"/w/demo/contacts/{session.contact_id}/")
    expect(page.locator(".event-visit").first).to_contain_text("Visited")
    expect(page.get_by_role("heading", name="Attribution")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-contact-visits.png", full_page=True)

    # A refused form answers 422, which Chromium logs as a failed load; nothing else may fail.
    assert [error for error in page.javascript_errors if "status of 422" not in error] == []
