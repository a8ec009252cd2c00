"""My leads in a real browser, on a desktop and on a phone: a salesperson moves through
the queue with j/k, presses c to log a call with no answer and a follow-up for tomorrow,
presses s to snooze another lead (it leaves the queue), and a lead assigned to him while
the page is open appears without a reload. Set LEADFLOW_SCREENSHOTS=<dir> to keep
screenshots of each step."""

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import FollowUp, LeadSnooze
from leadflow.sales.services import leads_reassign
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"my-leads-{name}", width, top=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_keyboard_call_snooze_and_a_new_lead_arriving(
    page, workspace, owner_actor, make_member, width
):
    sam = make_member("sales", "sam@acme-widgets.com").user
    leads = {}
    for name, temperature in (("Hana Hot", "hot"), ("Walt Warm", "warm"), ("Cole Cold", "cold")):
        first, last = name.split()
        leads[temperature] = contact_upsert(
            workspace=workspace,
            data={
                "email": f"{first.lower()}@example.org",
                "first_name": first,
                "last_name": last,
                "owner_id": sam.pk,
                "lifecycle_stage": "lead",
            },
            actor=owner_actor,
        ).contact
    Contact.objects.filter(pk=leads["hot"].pk).update(temperature="hot")
    Contact.objects.filter(pk=leads["warm"].pk).update(temperature="warm")
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "sam@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/my-leads/")
    page.evaluate("window.leadflowLoaded = true")  # gone if the page reloads
    rows = page.locator("#my-leads-list .lead-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Hana Hot")  # hot first
    expect(rows.nth(2)).to_contain_text("Cole Cold")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "queue", width)

    # j selects the first lead; c opens its call form.
    page.locator("body").press("j")
    expect(rows.nth(0)).to_have_class(r"lead-row is-selected")
    page.locator("body").press("Escape")
    page.keyboard.press("c")
    call = page.locator("#lead-panel #log-call")
    expect(call.get_by_label("Outcome")).to_be_visible()
    call.get_by_label("Outcome").select_option("no_answer")
    call.get_by_label("Schedule the next follow-up").check()
    call.get_by_label("What").fill("Call Hana again")
    shoot(page, "call", width)
    call.get_by_role("button", name="Log call (c)").click()
    expect(page.locator("#lead-panel")).to_contain_text("Call Hana again")
    assert Activity.objects.filter(contact=leads["hot"], kind="call.logged").count() == 1
    assert FollowUp.objects.get(contact=leads["hot"]).assignee_id == sam.pk

    # k/j move; s snoozes the warm lead, which leaves the queue.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(r"lead-row is-selected")
    page.keyboard.press("s")
    snooze = page.locator('#lead-panel [data-action-key="s"]')
    expect(snooze.get_by_role("button", name="1 hour")).to_be_visible()
    snooze.get_by_role("button", name="1 hour").click()
    expect(page.locator("#my-leads-list")).not_to_contain_text("Walt Warm")
    assert LeadSnooze.objects.filter(contact=leads["warm"], user=sam).exists()

    # A lead given to Sam now appears without a reload (the list polls every 15 s).
    new = contact_upsert(
        workspace=workspace,
        data={"email": "nina@example.org", "first_name": "Nina", "last_name": "New"},
        actor=owner_actor,
    ).contact
    leads_reassign(workspace=workspace, contact_ids=[new.pk], actor=owner_actor, owner_id=sam.pk)
    expect(page.locator("#my-leads-list")).to_contain_text("Nina New", timeout=25_000)
    assert page.evaluate("window.leadflowLoaded") is True
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "arrived", width)
