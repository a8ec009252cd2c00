"""The contacts list's advanced filter in a real browser, on a desktop and on a phone: a
marketer adds condition rows (engagement score at least 50, country US), applies them, sees
only the matching contacts with the view's one URL in the address bar, saves the view,
reopens it from its chip, and the back button returns to the filter before. A bad value is
named on its row. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots of each step."""

import os
import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact, SavedView
from leadflow.contacts.services import contact_upsert
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"conditions-{name}", width, top=True)
    directory = os.environ.get("LEADFLOW_SCREENSHOTS")
    if directory:  # close-ups of the filters and of the results' head
        for part, selector in (("filters", "section.filters"), ("results", ".results-head")):
            page.locator(selector).screenshot(
                path=f"{directory}/conditions-{name}-{width}-{part}.png"
            )


@pytest.fixture
def leads(workspace, owner_actor, make_member):
    make_member("marketer", "mia@acme-widgets.com")
    people = {
        "Ann": ("ann@initech.com", 80, "US"),
        "Bo": ("bo@gmail.com", 55, "DE"),
        "Cy": ("cy@hooli.com", 70, "US"),
        "Di": ("di@hooli.com", 5, "US"),
    }
    for name, (email, score, country) in people.items():
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "first_name": name, "last_name": "Lead", "country": country},
            actor=owner_actor,
        ).contact
        Contact.objects.filter(pk=contact.pk).update(engagement_score=score)


def names(page) -> list[str]:
    return sorted(page.locator("#contact-rows td:nth-child(2) a.strong").all_inner_texts())


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_filters_by_conditions_saves_and_reopens_the_view(page, workspace, leads, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "mia@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/contacts/")
    expect(page.locator("#contact-rows tr")).to_have_count(4)

    panel = page.locator("details.advanced-filter")
    panel.locator("> summary").click()
    panel.get_by_label("Field of condition 1").select_option("engagement_score")
    operator = panel.get_by_label("Operator of condition 1")
    assert operator.locator("option[value='contains']").evaluate("o => o.hidden")
    operator.select_option("gte")
    panel.get_by_label("Value of condition 1").fill("50")
    panel.get_by_label("Field of condition 2").select_option("country")
    panel.get_by_label("Operator of condition 2").select_option("eq")
    panel.get_by_label("Value of condition 2").fill("US")
    # Choosing a field is no filter yet: the list waits for Apply.
    expect(page.locator("#contact-rows tr")).to_have_count(4)
    shoot(page, "editing", width)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".results-head .count")).to_contain_text("2 contacts match")
    assert names(page) == ["Ann Lead", "Cy Lead"]
    # The view's one URL: its sort and one conditions parameter, no editor rows.
    expect(page).to_have_url(re.compile(r"/contacts/\?sort=-created_at&conditions=%7B[^&]+$"))
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "applied", width)

    # Both blank rows are used: "Add a condition" brings a third, numbered on.
    panel.get_by_role("button", name="Add a condition").click()
    third = panel.get_by_label("Field of condition 3")
    expect(third).to_be_focused()
    third.select_option("first_name")
    panel.get_by_label("Operator of condition 3").select_option("ne")
    panel.get_by_label("Value of condition 3").fill("Cy")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".results-head .count")).to_contain_text("1 contact match")
    third.select_option("")  # a row without a field is dropped
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".results-head .count")).to_contain_text("2 contacts match")

    # Saved as a view; from the plain list its chip brings the rows and the contacts back.
    page.get_by_label("Name of the view").fill("Engaged in the US")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash-success")).to_contain_text("Engaged in the US")
    view = SavedView.objects.get(workspace=workspace, name="Engaged in the US")
    assert [c["field"] for c in view.conditions["children"][0]["children"]] == [
        "engagement_score",
        "country",
    ]
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#contact-rows tr")).to_have_count(4)
    page.get_by_role("link", name="Engaged in the US").click()
    expect(page.locator(".results-head .count")).to_contain_text("2 contacts match")
    assert names(page) == ["Ann Lead", "Cy Lead"]
    expect(panel).to_have_attribute("open", "")
    expect(panel.get_by_label("Field of condition 1")).to_have_value("engagement_score")
    expect(panel.get_by_label("Value of condition 1")).to_have_value("50")
    expect(panel.get_by_label("Value of condition 2")).to_have_value("US")
    shoot(page, "reopened", width)

    # A bad value is named on its row; the back button returns to the view before.
    panel.get_by_label("Value of condition 1").fill("lots")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".results .flash-error")).to_contain_text(
        "Advanced filter, condition 1 (Engagement score): Must be a number."
    )
    page.reload()
    expect(panel.locator(".condition-row.has-error")).to_contain_text("Must be a number.")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "error", width)
    page.go_back()
    expect(page.locator(".results-head .count")).to_contain_text("2 contacts match")
    assert names(page) == ["Ann Lead", "Cy Lead"]
    assert not page.javascript_errors
