"""The home page in a real browser, for the owner, a marketer and a salesperson, on a
desktop and on a phone: the role's blocks are there, nothing scrolls sideways, a count's
link opens the list it counts, and the checklist is dismissed. Set
LEADFLOW_SCREENSHOTS=<dir> to keep a screenshot of each home."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from leadflow.core.actors import Actor
from leadflow.deals.services import deal_create
from leadflow.sales.models import Trigger
from leadflow.sales.services import assignment_rule_create, followup_create, lead_route
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def floor(workspace, owner_actor, make_member, make_contact_e2e):
    sam = make_member("sales", "sam@acme-widgets.com")
    sam.user.full_name = "Sam Seller"
    sam.user.save()
    make_member("marketer", "mia@acme-widgets.com")
    assignment_rule_create(
        workspace=workspace,
        data={
            "name": "All to Sam",
            "strategy": "fixed_person",
            "owner_id": sam.user_id,
            "first_touch_minutes": 15,
            "first_touch_business_hours": False,
        },
        actor=owner_actor,
    )
    now = dt.datetime.now(dt.UTC)
    leads = []
    for n, (name, temperature) in enumerate(
        [("Kim", "hot"), ("Lee", "warm"), ("Ola", "hot"), ("Bartholomew-Wolfeschlegel", "")]
    ):
        lead = make_contact_e2e(
            email=f"{name.lower()}@example.org",
            first_name=name,
            temperature=temperature or None,
            lifecycle_stage="mql" if n % 2 else "lead",
        )
        lead_route(
            workspace=workspace,
            contact_id=lead.pk,
            trigger=Trigger.MQL,
            now=now - dt.timedelta(seconds=n),
        )
        leads.append(lead)
    sam_actor = Actor.for_user(sam.user, sam)
    followup_create(
        workspace=workspace,
        contact_id=leads[0].pk,
        data={"title": "Call back", "due_at": (now - dt.timedelta(hours=1)).isoformat()},
        actor=sam_actor,
        now=now - dt.timedelta(hours=2),
    )
    deal_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "title": "Kite Labs rollout",
            "contact_id": leads[0].pk,
            "amount": "18500",
            "expected_close_date": dt.date.today().isoformat(),
            "owner_id": sam.user_id,
        },
    )
    return leads


@pytest.fixture
def make_contact_e2e(workspace, owner_actor):
    from leadflow.contacts.services import contact_upsert

    def make(**data):
        data = {key: value for key, value in data.items() if value is not None}
        return contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    return make


def _look(page, name: str, width: int) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0, f"{name} scrolls sideways at {width}px"
    helpers.shoot(page, f"home-{name}", width, top=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_the_owner_marketer_and_salesperson_each_get_their_home(page, workspace, floor, width):
    page.set_viewport_size({"width": width, "height": 900})

    log_in(page, "owner@acme-widgets.com")
    expect(page.locator('[data-block="team"]')).to_be_visible()
    expect(page.locator('[data-block="marketing"]')).to_be_visible()
    expect(page.locator('[data-block="checklist"]')).to_be_visible()
    expect(page.locator('[data-count="speed_leads"]')).to_have_text("4")
    _look(page, "owner", width)
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator('[data-block="checklist"]')).to_have_count(0)
    page.context.clear_cookies()

    log_in(page, "mia@acme-widgets.com")
    expect(page.locator('[data-block="marketing"]')).to_be_visible()
    expect(page.locator('[data-block="team"]')).to_have_count(0)
    mql = page.locator('[data-count="mql"]')
    expect(mql).to_have_attribute("data-value", "2")
    _look(page, "marketer", width)
    mql.click()
    expect(page).to_have_url(re.compile(r"/mql/$"))
    page.context.clear_cookies()

    log_in(page, "sam@acme-widgets.com")
    expect(page.locator('[data-block="my-work"]')).to_be_visible()
    expect(page.locator('[data-count="new"]')).to_have_attribute("data-value", "4")
    expect(page.locator('[data-count="hot"]')).to_have_attribute("data-value", "2")
    expect(page.locator('[data-count="followups_overdue"]')).to_have_attribute("data-value", "1")
    expect(page.locator('[data-count="deals_closing"]')).to_have_attribute("data-value", "1")
    _look(page, "salesperson", width)
    page.locator('[data-count="hot"]').click()
    expect(page).to_have_url(re.compile(r"/contacts/\?conditions="))
    expect(page.locator("#contact-results")).to_contain_text("Kim")
    expect(page.locator("#contact-results")).to_contain_text("Ola")
    expect(page.locator("#contact-results")).not_to_contain_text("Lee")
