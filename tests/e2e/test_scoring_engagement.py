"""The engagement scoring settings in Chromium: the default rules listed, a new rule
previewed (the hot count changes, nothing is saved), then added. Screenshots at 1440 and
390 px go to /tmp/shots-eng/."""

import importlib
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.scoring.models import EngagementRule
from leadflow.scoring.services import contacts_rescore, profile_get
from tests.conftest import PASSWORD
from tests.scoring.engagement_helpers import event, new_contact

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots-eng")


def _webinar_rule_previewed(page, workspace):
    """The owner logs in, opens the engagement settings, fills in a new rule (80 points
    for a page view of */webinar/*) and presses Preview; returns the new-rule form."""
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/w/{workspace.slug}/settings/scoring/engagement/")
    expect(page.get_by_role("heading", name="Engagement score")).to_be_visible()
    expect(page.get_by_role("link", name="Pricing page viewed")).to_be_visible()
    form = page.locator("#new-rule form")
    form.get_by_label("Name").fill("Joined a webinar")
    form.get_by_label("When a contact…").select_option(label="Page view")
    form.get_by_label("Points").fill("80")
    page.locator("#id_cond_property_0").fill("url")
    page.locator("#id_cond_operator_0").select_option("matches")
    page.locator("#id_cond_value_0").fill("*/webinar/*")
    form.get_by_role("button", name="Preview").click()
    return form


def test_a_rule_is_previewed_then_added(page, workspace):
    profile_get(workspace)
    people = [new_contact(workspace, f"p{i}@example.com") for i in range(3)]
    for person in people[:2]:
        event(workspace, person, url="https://acme.com/webinar/join", at=timezone.now())
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[p.pk for p in people])
    SHOTS.mkdir(exist_ok=True)

    form = _webinar_rule_previewed(page, workspace)
    preview = page.locator("#engagement-preview")
    expect(preview.locator("[data-preview-hot]")).to_have_text("2")
    expect(preview).to_contain_text("of 3 contacts")
    assert not EngagementRule.objects.filter(name="Joined a webinar").exists()
    page.screenshot(path=str(SHOTS / "engagement-1440.png"), full_page=True)

    form.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("link", name="Joined a webinar")).to_be_visible()
    expect(page.get_by_text(re.compile("Added the rule"))).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "engagement-390.png"), full_page=True)
    assert page.javascript_errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_a_large_workspaces_preview_says_it_is_an_estimate(page, workspace, monkeypatch, width):
    module = importlib.import_module("leadflow.scoring.services.engagement_preview")
    monkeypatch.setattr(module, "SAMPLE_SIZE", 2)  # the live server runs in this process
    profile_get(workspace)
    people = [new_contact(workspace, f"p{i}@example.com") for i in range(4)]
    for person in people:
        event(workspace, person, url="https://acme.com/webinar/join", at=timezone.now())
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[p.pk for p in people])
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})

    _webinar_rule_previewed(page, workspace)
    preview = page.locator("#engagement-preview")
    expect(preview.locator("[data-preview-hot]")).to_have_text("4")  # 2 of 2 sampled, scaled to 4
    expect(preview).to_contain_text("today, about")
    expect(preview.locator("[data-preview-sampled]")).to_contain_text(
        "Estimated from 2 contacts picked at random"
    )
    page.screenshot(path=str(SHOTS / f"engagement-sampled-{width}.png"), full_page=True)
    assert page.javascript_errors == []
