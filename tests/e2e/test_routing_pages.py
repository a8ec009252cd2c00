"""Routing in a real browser, on a desktop and on a phone: an admin builds a team and an
assignment rule, a lead arrives and is routed to the one available member, the next waits
in the team's queue, and a salesperson claims it. Set LEADFLOW_SCREENSHOTS=<dir> to keep
screenshots of each step."""

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import AssignmentRule, TeamMember, Trigger
from leadflow.sales.services import lead_route
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"routing-{name}", width, top=True)


def arrive(workspace, owner_actor, email: str) -> Contact:
    """A new lead, routed as the subscriber would route it after its commit."""
    contact = contact_upsert(
        workspace=workspace,
        data={"email": email, "first_name": email.split("@")[0].title()},
        actor=owner_actor,
    ).contact
    lead_route(workspace=workspace, contact_id=contact.pk, trigger=Trigger.CREATED)
    return contact


@pytest.mark.parametrize("width", [1440, 390])
def test_an_admin_builds_routing_and_a_salesperson_claims_a_queued_lead(
    page, workspace, owner_actor, make_member, width
):
    make_member("sales", "ann@acme-widgets.com")
    make_member("sales", "sam@acme-widgets.com")
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/settings/routing/")
    page.get_by_label("Team name").fill("EMEA")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team: EMEA")).to_be_visible()
    for email in ("ann@acme-widgets.com", "sam@acme-widgets.com"):
        page.get_by_label("Member to add").select_option(label=f"{email.split('@')[0]} ({email})")
        page.get_by_role("button", name="Add to team").click()
    expect(page.locator("#members tbody tr")).to_have_count(2)
    # Sam is away: the first lead goes to Ann.
    page.locator("#members tbody tr", has_text="sam@acme-widgets.com").get_by_role(
        "link", name="Availability"
    ).click()
    page.get_by_label("Away: gets no leads").check()
    page.get_by_label("Monday").fill("09:00-12:00, 13:00-17:30")
    page.get_by_label("Always available").check()
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "member", width)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#members")).to_contain_text("Away")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "team", width)

    page.goto(f"/w/{workspace.slug}/settings/routing/rules/new/")
    page.get_by_label("Name").fill("Every new lead")
    page.get_by_label("Strategy").select_option("round_robin")
    page.get_by_label("Team (round robin").select_option(label="EMEA")
    page.get_by_label("Nobody in the team available").select_option("queue")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "rule", width)
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rules")).to_contain_text("Every new lead")
    assert AssignmentRule.objects.get().team.name == "EMEA"
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "settings", width)

    first = arrive(workspace, owner_actor, "first@initech.com")
    assert first.__class__.objects.get(pk=first.pk).owner.email == "ann@acme-widgets.com"
    page.goto(f"/w/{workspace.slug}/contacts/{first.pk}/")
    expect(page.locator("#assignments")).to_contain_text("Next in turn in EMEA")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "contact", width)

    # Ann goes away too: the next lead waits in EMEA's queue, and Sam (back) claims it.
    TeamMember.objects.filter(user__email="ann@acme-widgets.com").update(away=True)
    queued = arrive(workspace, owner_actor, "second@initech.com")
    assert Contact.objects.get(pk=queued.pk).owner_id is None
    page.context.clear_cookies()
    log_in(page, "sam@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/queue/")
    row = page.locator("#queue tbody tr", has_text="Second")
    expect(row).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "queue", width)
    row.get_by_role("button", name="Claim Second").click()
    expect(page.get_by_text("The lead is yours.")).to_be_visible()
    expect(page.locator("#assignments")).to_contain_text("Claimed from EMEA's queue")
    assert Contact.objects.get(pk=queued.pk).owner.email == "sam@acme-widgets.com"
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "claimed", width)
