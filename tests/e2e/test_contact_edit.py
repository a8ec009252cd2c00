"""A salesperson's everyday path in a real browser: log in, find a contact with the
search box, change a field inline and see the change on the contact's timeline."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts import services
from leadflow.contacts.models import Activity
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(workspace, owner_actor, owner):
    rows = [
        ("Grace", "Hopper", "grace@navy-labs.com", "Engineer", "sql", "hot", ["conference"]),
        ("Ada", "Lovelace", "ada@analytical.co.uk", "Analyst", "mql", "warm", ["newsletter"]),
        ("Alan", "Turing", "alan@bletchley.org", "Researcher", "lead", "cold", []),
        ("Katherine", "Johnson", "kj@nasa-orbits.com", "Mathematician", "customer", "hot", []),
        ("Linus", "Torvalds", "linus@kernel-dev.org", "Maintainer", "opportunity", "warm", []),
    ]
    contacts = {}
    for first, last, email, title, stage, temperature, tags in rows:
        contacts[last] = services.contact_upsert(
            workspace=workspace,
            data={
                "first_name": first,
                "last_name": last,
                "email": email,
                "job_title": title,
                "lifecycle_stage": stage,
                "temperature": temperature,
                "tags": tags,
                "owner_id": owner.pk if temperature == "hot" else None,
            },
            actor=owner_actor,
        ).contact
    services.note_add(
        workspace=workspace,
        contact_id=contacts["Hopper"].pk,
        body="Met at the conference; wants a demo next week.",
        actor=owner_actor,
    )
    return contacts


def test_find_a_contact_edit_a_field_and_see_it_on_the_timeline(page, workspace, people):
    grace = people["Hopper"]

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Email").fill("OWNER@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))  # the home
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/contacts/$"))
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    page.screenshot(path="/tmp/leadflow-contacts.png", full_page=True)

    page.get_by_role("searchbox", name="Search").fill("hopper")
    # htmx swaps the results in place and pushes the search into the address bar.
    expect(page).to_have_url(re.compile(r"q=hopper"))
    expect(page.get_by_role("link", name="Ada Lovelace")).to_have_count(0)
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{grace.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")

    page.get_by_role("link", name="Edit", exact=True).click()
    job_title = page.get_by_label("Job title")
    expect(job_title).to_have_value("Engineer")
    job_title.fill("Rear Admiral")
    page.get_by_role("button", name="Save", exact=True).click()

    profile = page.locator("#profile")
    expect(profile.locator('[data-field="job_title"]')).to_have_text("Rear Admiral")
    expect(page.locator("#contact-heading")).to_contain_text("Rear Admiral at Navy Labs")
    timeline = page.locator("#timeline")
    change = timeline.locator(".event").first
    expect(change).to_contain_text("Fields changed")
    expect(change).to_contain_text("Job title:")
    expect(change.locator(".old")).to_have_text("Engineer")
    expect(change.locator(".new")).to_have_text("Rear Admiral")
    page.screenshot(path="/tmp/leadflow-contact.png", full_page=True)

    activity = Activity.objects.filter(contact=grace, kind="contact.updated").latest("id")
    assert activity.data["changes"] == {"job_title": ["Engineer", "Rear Admiral"]}
    # The page still works after a reload (the change was stored, not just drawn).
    page.reload()
    expect(page.locator("#timeline .event").first.locator(".new")).to_have_text("Rear Admiral")
    assert page.javascript_errors == []


def test_keyboard_users_can_skip_to_the_content(page, owner, workspace):
    page.goto("/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    assert page.javascript_errors == []
