"""Follow-ups and mentions in a real browser, on a desktop and on a phone: a salesperson logs
a call with no answer and schedules the next follow-up for tomorrow 10:00 in the same form
(no page reload), finds it on the Follow-ups page and completes it; a manager @mentions the
salesperson in a note, and the salesperson's bell shows 1. Set LEADFLOW_SCREENSHOTS=<dir>
to keep screenshots of each step."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import FollowUp
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"followups-{name}", width, top=True)


@pytest.fixture
def kim(workspace, owner_actor, make_member):
    sam = make_member("sales", "sam@acme-widgets.com").user
    sam.full_name = "Sam Seller"
    sam.save()
    manager = make_member("admin", "mo@acme-widgets.com").user
    manager.full_name = "Mo Manager"
    manager.save()
    return contact_upsert(
        workspace=workspace,
        data={
            "email": "kim@kite-labs.io",
            "first_name": "Kim",
            "last_name": "Lee",
            "owner_id": sam.pk,
        },
        actor=owner_actor,
    ).contact


@pytest.mark.parametrize("width", [1440, 390])
def test_log_a_call_schedule_complete_and_be_mentioned(page, workspace, kim, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "sam@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/contacts/{kim.pk}/")
    page.evaluate("window.leadflowLoaded = true")  # gone if the page reloads
    call = page.locator("#log-call")
    call.locator("summary").click()
    call.get_by_label("Outcome").select_option("no_answer")
    call.get_by_label("Notes").fill("Rang twice, voicemail full")
    call.get_by_label("Schedule the next follow-up").check()
    call.get_by_label("What").fill("Try Kim again")
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    call.get_by_label("Due").fill(tomorrow)
    shoot(page, "log-call", width)
    call.get_by_role("button", name="Log call").click()
    expect(page.locator("#timeline")).to_contain_text("Call: No answer")
    expect(page.locator("#timeline")).to_contain_text("Rang twice, voicemail full")
    expect(page.locator("#followups")).to_contain_text("Try Kim again")
    assert page.evaluate("window.leadflowLoaded") is True  # no full reload
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "contact", width)
    followup = FollowUp.objects.get()
    assert followup.due_at == dt.datetime.fromisoformat(tomorrow).replace(tzinfo=dt.UTC)

    # Edited on its own page (kind and notes), then back on the contact.
    page.locator(f'#followups [data-followup="{followup.pk}"] summary').click()
    page.get_by_role("link", name="Edit…").click()
    expect(page.get_by_role("heading", name="Edit follow-up")).to_be_visible()
    expect(page.get_by_label("Due")).to_have_value(tomorrow)
    page.get_by_label("Kind").select_option("email")
    page.get_by_label("Notes").fill("Send the case study first")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "edit", width)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{kim.pk}/$"))
    expect(page.locator("#followups")).to_contain_text("Email: Try Kim again")
    expect(page.locator("#followups")).to_contain_text("Send the case study first")

    page.goto(f"/w/{workspace.slug}/followups/")
    page.get_by_role("link", name=re.compile(r"^Upcoming")).click()
    row = page.locator(f'[data-followup="{followup.pk}"]')
    expect(row).to_contain_text("Try Kim again")
    expect(row).to_contain_text("Kim Lee")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "list", width)
    row.get_by_role("button", name="Done: Try Kim again").click()
    expect(page.locator(f'[data-followup="{followup.pk}"]')).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Done")).click()
    expect(page.locator(f'[data-followup="{followup.pk}"]')).to_contain_text("Done")
    expect(page.locator(".bell")).not_to_contain_text("1")

    # The manager mentions Sam in a note.
    page.context.clear_cookies()
    log_in(page, "mo@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/contacts/{kim.pk}/")
    page.get_by_label("Add a note").fill("Please call back before Friday")
    page.get_by_label("Mention a colleague").select_option(label="Sam Seller")
    expect(page.get_by_label("Add a note")).to_have_value(
        "Please call back before Friday @Sam Seller "
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline")).to_contain_text("Mentioned: Sam Seller")

    page.context.clear_cookies()
    log_in(page, "sam@acme-widgets.com")
    expect(page.locator(".bell-count")).to_have_text("1")
    shoot(page, "bell", width)
    page.locator(".bell").click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "notifications", width)
    page.get_by_role("button", name="Mo Manager mentioned you on Kim Lee", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{kim.pk}/$"))
    expect(page.locator(".bell-count")).to_have_count(0)
