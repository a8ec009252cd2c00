"""The Suspected tab in Chromium at a desktop's and a phone's width: the count on the form,
one click adds the quick person as a lead, and the page never scrolls sideways.

Screenshots: /tmp/leadflow-suspected-<width>.png (and -released-<width>.png).
"""

import re

import pytest
from playwright.sync_api import expect

from leadflow.capture.models import Submission
from leadflow.contacts.models import Contact
from tests.capture.conftest import PublicClient, good_fields, lead_form  # noqa: F401
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [1440, 390])
def test_the_suspected_tab_releases_a_quick_person_in_one_click(
    browser,
    live_server,
    workspace,
    lead_form,  # noqa: F811 - the fixture imported above
    width,
):
    lead_form.min_fill_seconds = 30
    lead_form.save()
    public = PublicClient(lead_form)
    public.submit(good_fields(email="quinn.quickfingers@initech.com", first_name="Quinn"))
    public.submit(good_fields(email="sam@initech.com", first_name="Sam"))
    public.submit(good_fields(email="bot@initech.com", _lf_hp="http://pills.example"))
    lead_form.min_fill_seconds = 0
    lead_form.save()
    public.submit(good_fields(email="jane@initech.com"))

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))

    page.goto(f"/w/{workspace.slug}/forms/{lead_form.pk}/submissions/")
    page.get_by_role("link", name="2 suspected to review").click()
    tab = page.get_by_role("link", name="Suspected 2")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("most likely a quick person using autofill")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    assert page.evaluate(SIDEWAYS) <= 0
    page.screenshot(path=f"/tmp/leadflow-suspected-{width}.png", full_page=True)

    row = rows.filter(has_text="quinn.quickfingers@initech.com")
    row.get_by_role("button", name=re.compile("Add as lead")).click()
    expect(page.get_by_text("Added Quinn as a lead.")).to_be_visible()
    expect(page.get_by_role("link", name="Suspected 1")).to_be_visible()
    expect(page.get_by_role("link", name="Accepted 2")).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    page.screenshot(path=f"/tmp/leadflow-suspected-released-{width}.png", full_page=True)
    context.close()

    released = Submission.objects.get(values__email="quinn.quickfingers@initech.com")
    assert released.status == "accepted"
    assert released.contact == Contact.objects.get(email="quinn.quickfingers@initech.com")
    assert Submission.objects.filter(status="suspected").count() == 1
