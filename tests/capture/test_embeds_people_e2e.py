# ruff: noqa: F811 - the fixtures imported from test_embeds_e2e are used as arguments
"""In Chromium, across two origins: a quick person (autofill, one click) is a lead in every
embed mode, and the iframe and plain-HTML embeds credit the page around them.

The snippets are the ones the app hands out (web/forms/_embed_iframe.html and
_embed_form.html), pasted into a page of the customer's site.
"""

import time

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from leadflow.capture import antispam
from leadflow.capture.models import Submission
from leadflow.contacts.models import Contact

# The browser tests' Chromium and the customer's site (another origin).
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

from .conftest import CONSENT_TEXT
from .test_embeds_e2e import (  # noqa: F401 - fixtures
    _script_page,
    customer_site,
    embeddable_form,
    visitor,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SEARCH = "https://www.google.com/"
CAMPAIGN = "?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=Cj0KCQ-e2e"
TRACKER = "<script>window.leadflow = {visitorId: 'v-parent-1'};</script>"


def iframe_snippet(live_server, form) -> str:
    return render_to_string(
        "web/forms/_embed_iframe.html",
        {"url": f"{live_server.url}/f/{form.key}", "form": form, "height": 1100},
    )


def html_snippet(live_server, form) -> str:
    return render_to_string(
        "web/forms/_embed_form.html",
        {
            "action": f"{live_server.url}/f/{form.key}",
            "form": form,
            "honeypot": antispam.HONEYPOT_FIELD,
        },
    )


def autofill(scope):
    """What a browser's autofill and one tap do: every field at once, no typing pauses."""
    scope.get_by_label("Work email").fill("jane@initech.com")
    scope.get_by_label("First name").fill("Jane")
    scope.get_by_label("Phone", exact=True).first.fill("07911 123456")
    scope.get_by_label("Interest").select_option("Demo")
    scope.get_by_label(CONSENT_TEXT).check()


def assert_one_lead() -> Submission:
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("accepted", "")
    assert submission.contact == Contact.objects.get(email="jane@initech.com")
    return submission


@pytest.fixture
def quick_form(embeddable_form):
    embeddable_form.min_fill_seconds = 3  # the default
    embeddable_form.save()
    return embeddable_form


def test_the_script_embed_takes_a_quick_person_as_a_lead(
    visitor, live_server, customer_site, quick_form
):
    visitor.goto(_script_page(customer_site, live_server, quick_form))
    shown = time.monotonic()
    autofill(visitor)
    visitor.get_by_role("button", name="Send").click()
    assert time.monotonic() - shown < 3  # sooner than the form's minimum fill time
    expect(visitor.get_by_role("status")).to_have_text(quick_form.success_message)
    assert_one_lead()


def test_the_hosted_page_takes_a_quick_person_as_a_lead(visitor, live_server, quick_form):
    visitor.goto(f"{live_server.url}/f/{quick_form.key}")
    shown = time.monotonic()
    autofill(visitor)
    visitor.get_by_role("button", name="Send").click()
    assert time.monotonic() - shown < 3
    expect(visitor.get_by_role("button", name="Send")).to_be_disabled()  # held, not lost
    # ... and seen to be: a held button is dimmed with a busy cursor, so the person waits.
    held = visitor.get_by_role("button", name="Send")
    assert float(held.evaluate("b => getComputedStyle(b).opacity")) < 1
    assert held.evaluate("b => getComputedStyle(b).cursor") == "progress"
    expect(visitor.get_by_text(quick_form.success_message)).to_be_visible(timeout=10_000)
    assert_one_lead()
    assert visitor.javascript_errors == []


def test_the_iframe_takes_a_quick_person_as_a_lead_even_after_a_typo(
    visitor, live_server, customer_site, quick_form
):
    url = customer_site.page("frame.html", iframe_snippet(live_server, quick_form))
    visitor.goto(url)
    frame = visitor.frame_locator(f"iframe[title='{quick_form.name}']")
    expect(frame.get_by_role("button", name="Send")).to_be_visible()
    shown = time.monotonic()
    autofill(frame)
    frame.get_by_label("Work email").fill("jane@initech")  # a typo...
    frame.get_by_role("button", name="Send").click()
    expect(frame.locator(".lf-error")).to_have_text("Enter a valid email address.")
    frame.get_by_label("Work email").fill("jane@initech.com")  # ...fixed at once
    frame.get_by_role("button", name="Send").click()
    assert time.monotonic() - shown < 6
    expect(frame.get_by_text(quick_form.success_message)).to_be_visible(timeout=10_000)
    assert_one_lead()
    assert visitor.javascript_errors == []


def test_the_plain_html_error_page_takes_a_quick_fix_as_a_lead(
    visitor, live_server, customer_site, quick_form
):
    url = customer_site.page("plain.html", html_snippet(live_server, quick_form))
    visitor.goto(url)
    autofill(visitor)
    visitor.get_by_label("Work email").fill("jane@competitor.com")  # only the server knows
    with visitor.expect_response(f"{live_server.url}/f/{quick_form.key}") as answer:
        visitor.get_by_role("button", name="Send").click()
    assert answer.value.status == 422  # LeadFlow's page of the form, with the message
    expect(visitor.get_by_text("Please use another email address.")).to_be_visible()
    fixed = time.monotonic()
    visitor.get_by_label("Work email").fill("jane@initech.com")
    visitor.get_by_role("button", name="Send").click()
    assert time.monotonic() - fixed < 3
    expect(visitor.get_by_role("status")).to_have_text(quick_form.success_message)
    submission = assert_one_lead()
    assert submission.page_url.startswith(url)  # the page is kept over the error page
    assert visitor.javascript_errors == []


# --- attribution ------------------------------------------------------------------------------


def assert_credited_to_the_ad(landing: str):
    submission = assert_one_lead()
    assert submission.page_url == landing
    assert submission.referrer == SEARCH
    assert submission.visitor_id == "v-parent-1"
    assert submission.utm == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
    }
    contact = submission.contact
    assert (contact.first_touch_channel, contact.first_touch_campaign) == ("paid_search", "spring")


def test_the_iframe_credits_the_page_around_it(visitor, live_server, customer_site, quick_form):
    quick_form.min_fill_seconds = 0
    quick_form.save()
    page = customer_site.page("landing.html", TRACKER + iframe_snippet(live_server, quick_form))
    landing = page + CAMPAIGN
    visitor.goto(landing, referer=SEARCH)  # a paid-search click
    frame = visitor.frame_locator(f"iframe[title='{quick_form.name}']")
    autofill(frame)
    frame.get_by_label("Interest").select_option("")
    frame.get_by_role("button", name="Send").click()  # the 422 page keeps the context too
    expect(frame.locator(".lf-error")).to_have_text("This field is required.")
    frame.get_by_label("Interest").select_option("Demo")
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text(quick_form.success_message)).to_be_visible()
    assert_credited_to_the_ad(landing)
    assert visitor.javascript_errors == []


def test_the_iframe_without_its_script_still_knows_the_page(
    visitor, live_server, customer_site, quick_form
):
    """Where scripts are not allowed, the frame's referrerpolicy still names the page (with
    its campaign); the referrer and visitor id are not known."""
    quick_form.min_fill_seconds = 0
    quick_form.save()
    snippet = iframe_snippet(live_server, quick_form)
    page = customer_site.page("noscript.html", snippet[: snippet.index("<script>")])
    landing = page + CAMPAIGN
    visitor.goto(landing, referer=SEARCH)
    frame = visitor.frame_locator(f"iframe[title='{quick_form.name}']")
    autofill(frame)
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text(quick_form.success_message)).to_be_visible()
    submission = assert_one_lead()
    assert submission.page_url == landing and submission.referrer == ""
    assert submission.contact.first_touch_channel == "paid_search"


def test_the_plain_html_form_credits_its_page(visitor, live_server, customer_site, quick_form):
    page = customer_site.page("ad.html", TRACKER + html_snippet(live_server, quick_form))
    landing = page + CAMPAIGN
    visitor.goto(landing, referer=SEARCH)
    autofill(visitor)
    visitor.get_by_role("button", name="Send").click()
    expect(visitor.get_by_role("status")).to_have_text(quick_form.success_message)
    assert_credited_to_the_ad(landing)
    assert visitor.javascript_errors == []
