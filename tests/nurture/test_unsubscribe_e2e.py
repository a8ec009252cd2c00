"""In Chromium: the visitor opens the unsubscribe link from an email, sees the
confirmation and the preference centre, changes preferences, then unsubscribes from all;
the marketer finds the address on Settings → Suppression list, adds one by hand, imports a
CSV and removes an address. At 1440 and 390 px, without sideways scrolling."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.contacts.models import ConsentStatus
from leadflow.contacts.suppression import email_suppressed
from leadflow.nurture.models import Suppression
from leadflow.nurture.selectors import marketing_preferences
from leadflow.nurture.services import topic_create
from tests.e2e.conftest import _orm_beside_playwright, browser, page  # noqa: F401
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def topics(workspace, owner_actor):
    return {
        name: topic_create(
            workspace=workspace, data={"name": name, "description": about}, actor=owner_actor
        )
        for name, about in (
            ("Events", "Meetups and webinars near you"),
            ("Product news", "What is new, once a month"),
            ("Offers", "Discounts and personal offers"),
        )
    }


@pytest.mark.parametrize("width", [1440, 390])
def test_the_visitor_changes_preferences_then_unsubscribes_from_all(
    page,  # noqa: F811
    workspace,
    kim,
    link_of,
    topics,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(link_of(kim))
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    expect(page.get_by_text("kim@initech.com")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "unsubscribe-page", width)
    assert not Suppression.objects.exists()  # opening the link changed nothing

    page.get_by_label("Offers").uncheck()
    page.get_by_label("At most one a week").check()
    page.get_by_label("Pause for 30 days").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    expect(page.get_by_label("Offers")).not_to_be_checked()
    expect(page.get_by_label("Events")).to_be_checked()
    expect(page.get_by_text("Paused until")).to_be_visible()
    shoot(page, "unsubscribe-saved", width)
    preferences = marketing_preferences(workspace.pk, [kim.pk])[kim.pk]
    assert preferences.topics_opted_out == {topics["Offers"].pk}
    assert preferences.frequency == "weekly"
    assert preferences.paused_until > timezone.now() + dt.timedelta(days=29)

    page.get_by_role("button", name="Unsubscribe from all").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "unsubscribe-done", width)
    assert email_suppressed(workspace.pk, kim.email) == "unsubscribed"
    assert Suppression.objects.get().source == "unsubscribe page"
    kim.refresh_from_db()
    assert kim.consent_status == ConsentStatus.WITHDRAWN


@pytest.mark.parametrize("width", [1440, 390])
def test_the_marketer_searches_adds_imports_and_removes(
    page,  # noqa: F811
    workspace,
    make_member,
    kim,
    link_of,
    tmp_path,
    width,
):
    from django.test import Client

    Client().post(link_of(kim), data={"List-Unsubscribe": "One-Click"})
    marketer = make_member("marketer", "mia@acme-widgets.com").user
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, marketer.email)
    page.goto(f"/w/{workspace.slug}/settings/suppression/")
    expect(page.get_by_role("heading", name="Suppression list")).to_be_visible()
    table = page.locator(".suppression-table")
    expect(table.get_by_role("link", name="Kim")).to_be_visible()
    expect(page.locator('[data-count="unsubscribed"]')).to_have_text("1")

    page.get_by_role("searchbox").fill("KIM@initech.com")
    page.get_by_role("button", name="Search").click()
    expect(page.locator('.search-result[data-found="yes"]')).to_contain_text("unsubscribed")

    page.get_by_label("Address to suppress").fill("angry@example.org")
    page.get_by_label("Reason", exact=True).select_option("complaint")
    page.get_by_role("button", name="Suppress", exact=True).click()
    expect(page.get_by_text("angry@example.org is suppressed")).to_be_visible()
    assert email_suppressed(workspace.pk, "angry@example.org") == "complaint"

    csv_file = tmp_path / "old-list.csv"
    csv_file.write_text("email\nold1@example.org\nold2@example.org\n")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("2 addresses suppressed, 0 already on the list.")).to_be_visible()
    expect(page.locator('[data-count="all"]')).to_have_text("4")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "suppression-list", width, top=True)

    page.get_by_role("searchbox").fill("angry@example.org")
    page.get_by_role("button", name="Search").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove from the list").click()
    expect(page.get_by_text("The address is off the suppression list")).to_be_visible()
    assert email_suppressed(workspace.pk, "angry@example.org") is None
    expect(page.locator('[data-count="all"]')).to_have_text("3")

    # The contact page says so too, and links to the list.
    page.get_by_role("link", name="Kim").click()
    note = page.locator("[data-suppressed]")
    expect(note).to_contain_text("Unsubscribed, since")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "contact-suppressed", width, top=True)
    assert page.javascript_errors == []
