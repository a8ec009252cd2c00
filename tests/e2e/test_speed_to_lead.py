"""Speed to lead in a real browser, on a desktop and on a phone: an admin gives a routing
rule a 15-minute first-touch deadline in its form; two leads arrive and are routed; the
salesperson logs a call on the first (the clock stops), misses the second, and the sweep
reminds him in the app (the bell); the admin reads the Speed to lead report by person and
by hour. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots of each step."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import AssignmentRule, FirstTouch, Trigger
from leadflow.sales.services import lead_route, team_create, team_member_add
from leadflow.sales.services.first_touch import first_touch_deadlines_process
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"speed-{name}", width, top=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_deadline_is_set_kept_missed_and_reported(
    page, workspace, owner_actor, make_member, width
):
    sam = make_member("sales", "sam@acme-widgets.com").user
    team = team_create(workspace=workspace, name="Inbound", actor=owner_actor)
    team_member_add(workspace=workspace, team_id=team.pk, user_id=sam.pk, actor=owner_actor)
    page.set_viewport_size({"width": width, "height": 900})

    # The admin adds a rule with a 15-minute deadline, in plain minutes.
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/settings/routing/rules/new/")
    page.get_by_label("Name").fill("Every lead")
    page.get_by_label("Team (round robin, weighted, fewest open leads)").select_option(
        label="Inbound"
    )
    page.get_by_label("First touch due within (minutes)").fill("15")
    page.get_by_label("Count only the owner's working hours").uncheck()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "rule", width)
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("link", name="Every lead")).to_be_visible()
    rule = AssignmentRule.objects.get(name="Every lead")
    assert (rule.first_touch_minutes, rule.first_touch_business_hours) == (15, False)

    # Two leads arrive 20 minutes ago and are routed to Sam.
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    leads = []
    for email in ("kim@kite-labs.io", "lee@lumen.example"):
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "first_name": email.split("@")[0].title()},
            actor=owner_actor,
        ).contact
        lead_route(workspace=workspace, contact_id=contact.pk, trigger=Trigger.MQL, now=then)
        leads.append(contact)

    # Sam calls Kim from her page: the call is her first touch.
    page.context.clear_cookies()
    log_in(page, "sam@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/contacts/{leads[0].pk}/")
    call = page.locator("#log-call")
    call.locator("summary").click()
    call.get_by_label("Outcome").select_option("connected")
    call.get_by_role("button", name="Log call").click()
    expect(page.locator("#timeline")).to_contain_text("Call: Connected")
    # The subscriber stops the clock after the commit; the sweep reads the timeline too.
    done = first_touch_deadlines_process()
    assert done == {"reminded": 1, "escalated": 0}  # Lee's, not Kim's
    kim, lee = (FirstTouch.objects.get(contact=contact) for contact in leads)
    assert kim.touch_kind == "call.logged" and kim.touched_by_id == sam.pk
    assert lee.touched_at is None and lee.reminded_at is not None

    # Sam's bell says so, and the notification opens Lee.
    page.goto(f"/w/{workspace.slug}/notifications/")
    expect(page.get_by_text("First touch overdue: Lee")).to_be_visible()
    shoot(page, "notifications", width)

    # The admin reads the report.
    page.context.clear_cookies()
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/reports/speed-to-lead/")
    expect(page.locator('[data-kpi="leads"]')).to_have_text("2")
    expect(page.locator('[data-kpi="share"]')).to_have_text("0%")  # Kim after 20 min, Lee late
    expect(page.locator(".speed-table")).to_contain_text("sam@acme-widgets.com")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "report", width)
    page.get_by_role("link", name="By hour of arrival").click()
    expect(page.locator(".speed-table tbody tr")).to_have_count(1)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "report-hours", width)
