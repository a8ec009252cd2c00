"""Reviewing duplicates in a real browser as a marketer, on a desktop and on a phone: the
list puts the likeliest pair first; "Not a duplicate" replaces the pair in place (htmx)
and the finder never lists it again; the compare page highlights what differs, and a merge
keeps the contact and the values chosen there; "Merge" in the list asks first and keeps
the older contact; merging every pair above a probability shows the pairs before it
merges them. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots of each step."""

import os
import re

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.duplicates.models import DuplicateDecision, DuplicatePair
from leadflow.duplicates.services import duplicates_check
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS_SCROLL = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@pytest.fixture
def review(workspace, owner_actor, make_member):
    """A marketer, and three pairs the finder found: Jon / John Smith (likely), Kai Berg
    twice (likely) and Maria Garcia twice at one postal code (possible)."""
    marketer = make_member("marketer", "mia@acme-widgets.com")

    def lead(**data) -> Contact:
        return contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    same_smith = {"last_name": "Smith", "postal_code": "SW1A 1AA", "date_of_birth": "1980-02-03"}
    jon = lead(email="jon.smith@gmail.com", first_name="Jon", job_title="Buyer", **same_smith)
    john = lead(email="john.smith@yahoo.com", first_name="John", city="London", **same_smith)
    same_berg = {"first_name": "Kai", "last_name": "Berg", "phone": "+447911123456"}
    kai = lead(email="kai@berg-labs.example", **same_berg)
    kai_again = lead(email="kai.berg@gmail.com", **same_berg)
    maria = lead(
        email="maria.garcia@initech.com",
        first_name="Maria",
        last_name="Garcia",
        postal_code="LS1 4AP",
    )
    marie = lead(
        email="mg@hooli.com", first_name="Maria", last_name="Garcia", postal_code="LS1 4AP"
    )
    people = [jon, john, kai, kai_again, maria, marie]
    duplicates_check(workspace=workspace, contact_ids=[person.pk for person in people])

    def pair(one, two) -> DuplicatePair:
        low, high = sorted([one.pk, two.pk])
        return DuplicatePair.objects.get(contact_id=low, other_id=high)

    return {
        "marketer": marketer,
        "smith": pair(jon, john),
        "berg": pair(kai, kai_again),
        "garcia": pair(maria, marie),
        "jon": jon,
        "john": john,
    }


def shoot(page, name: str, width: int) -> None:
    directory = os.environ.get("LEADFLOW_SCREENSHOTS")
    if directory:
        page.screenshot(path=f"{directory}/duplicates-review-{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_dismisses_compares_and_merges_pairs(page, workspace, review, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "mia@acme-widgets.com")
    base = f"/w/{workspace.slug}/duplicates/"
    page.goto(base)
    cards = page.locator("article.pair")
    expect(cards).to_have_count(3)
    garcia = review["garcia"]
    expect(cards.last).to_have_attribute("id", f"pair-{garcia.pk}")  # the least likely
    expect(cards.last.locator(".badge")).to_have_text("Possible")
    expect(cards.first.locator(".badge")).to_have_text("Likely")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "list", width)

    # Not a duplicate, in place: the card says so, the list never shows the pair again.
    card = page.locator(f"#pair-{garcia.pk}")
    card.get_by_role("button", name=re.compile("^Not a duplicate")).click()
    expect(card).to_contain_text("marked not a duplicate")
    garcia.refresh_from_db()
    assert garcia.status == "dismissed"
    assert page.url.endswith(base)  # no page load: htmx swapped the card
    page.reload()
    expect(page.locator(f"#pair-{garcia.pk}")).to_have_count(0)

    # Compare Jon / John Smith: the first names differ, the postal codes agree.
    smith, jon, john = review["smith"], review["jon"], review["john"]
    page.locator(f"#pair-{smith.pk}").get_by_role("link", name="Compare").click()
    expect(page).to_have_url(re.compile(rf"/duplicates/{smith.pk}/$"))
    expect(page.locator("tr.differs", has_text="First name")).to_have_count(1)
    expect(page.locator("tr.same", has_text="Postal code")).to_contain_text("Equal")
    expect(page.locator("tr", has_text="First name")).to_contain_text("Very similar")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "compare", width)
    # John stays, with Jon's first name and job title; John's city (Jon has none).
    page.get_by_label(re.compile(rf"John Smith #{john.pk}")).check()
    page.get_by_label(f"First name of #{jon.pk}:").check()
    expect(page.get_by_label(f"Job title of #{jon.pk}:")).to_be_checked()  # over an empty one
    expect(page.get_by_label(f"City of #{john.pk}:")).to_be_checked()
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_url(re.compile(r"/duplicates/$"))
    expect(page.locator(".flash-success")).to_contain_text(
        f"Merged Jon Smith #{jon.pk} into John Smith #{john.pk}"
    )
    survivor = Contact.objects.get(pk=john.pk)
    assert not Contact.objects.filter(pk=jon.pk).exists()
    assert (survivor.first_name, survivor.job_title, survivor.city) == ("Jon", "Buyer", "London")
    assert DuplicateDecision.objects.filter(is_duplicate=True).count() == 1

    # Merge from the list: it asks first; cancelling merges nothing, accepting merges.
    berg = review["berg"]
    card = page.locator(f"#pair-{berg.pk}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("button", name=re.compile("^Merge")).click()
    expect(card).to_be_visible()
    assert DuplicatePair.objects.filter(pk=berg.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name=re.compile("^Merge")).click()
    expect(page.locator(".flash-success")).to_contain_text(f"into Kai Berg #{berg.contact_id}")
    assert not Contact.objects.filter(pk=berg.other_id).exists()
    expect(page.locator("article.pair")).to_have_count(0)
    shoot(page, "done", width)
    assert page.javascript_errors == []


def test_merging_every_pair_above_a_probability_shows_them_first(page, workspace, review):
    page.set_viewport_size({"width": 390, "height": 900})
    log_in(page, "mia@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/duplicates/")
    page.get_by_label("Merge all open pairs at or above").fill("90")
    page.get_by_role("button", name="Preview the pairs").click()
    expect(page.get_by_role("heading", name="2 pairs to merge")).to_be_visible()
    rows = page.locator("table.preview-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.preview-table")).not_to_contain_text("Garcia")
    assert Contact.objects.filter(workspace=workspace).count() == 6  # the preview wrote nothing
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "merge-above", 390)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge 2 pairs").click()
    expect(page.locator(".flash-success")).to_contain_text("Merged 2 pairs.")
    assert Contact.objects.filter(workspace=workspace).count() == 4
    expect(page.locator("article.pair")).to_have_count(1)  # the Garcia pair stays for review
    # Going back and confirming again (a double submit) merges nothing more.
    page.go_back()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge 2 pairs").click()
    expect(page.locator(".flash-info")).to_contain_text("Nothing was merged")
    assert Contact.objects.filter(workspace=workspace).count() == 4
    assert page.javascript_errors == []
