"""The three ways to put a form on a website, in a real browser across two origins.

LeadFlow runs on pytest-django's live server (http://localhost:PORT); the customer's site
is a static page served from a second origin (http://127.0.0.1:OTHER). A person fills the
form in Chromium, sees the thank-you message, and the lead is in the app.
"""

import functools
import json
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.capture.models import Submission
from leadflow.contacts.models import Activity, Contact
from tests.conftest import PASSWORD

# The browser tests' Chromium (it fails, never skips, when the browser is missing).
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

from .conftest import CONSENT_TEXT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class CustomerSite:
    """A static website on its own origin, with pages the test writes."""

    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, name: str, body: str) -> str:
        (self.root / name).write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Acme Widgets</title>"
            "<style>body{font:16px/1.5 Georgia,serif;margin:2rem auto;max-width:40rem;"
            "color:#222}</style></head>"
            f"<body><h1>Talk to Acme Widgets</h1>{body}</body></html>"
        )
        return f"{self.url}/{name}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def customer_site(tmp_path):
    site = CustomerSite(tmp_path)
    yield site
    site.close()


@pytest.fixture
def visitor(browser):  # noqa: F811 - the fixture imported above
    """A fresh browser profile (no cookies) with its JavaScript errors collected."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.javascript_errors = []
    page.on("pageerror", lambda error: page.javascript_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def embeddable_form(lead_form, customer_site):
    """The shared lead form as a site owner would set it up for one website."""
    lead_form.min_fill_seconds = 1
    lead_form.allowed_origins = [customer_site.url]
    lead_form.save()
    return lead_form


def _fill_like_a_person(scope, *, email: str):
    """Every visible field, by its label, the way a person would."""
    scope.get_by_label("Work email").fill(email)
    scope.get_by_label("First name").fill("Jane")
    scope.get_by_label("Phone", exact=True).first.fill("07911 123456")
    scope.get_by_label("Team size").fill("25")
    scope.get_by_label("Interest").select_option("Demo")
    scope.get_by_label("Email", exact=True).check()
    scope.get_by_label("Phone", exact=True).last.check()
    scope.get_by_label("Now", exact=True).check()
    scope.get_by_label("Start date").fill("2027-01-15")
    scope.get_by_label("Message").fill("We need 25 seats before spring.")
    scope.get_by_label(CONSENT_TEXT).check()


def _assert_lead_stored(email: str, *, page_url_prefix: str) -> Contact:
    submission = Submission.objects.get(status="accepted")
    assert submission.spam_reason == ""
    assert submission.page_url.startswith(page_url_prefix)
    contact = Contact.objects.get(email=email)
    assert submission.contact == contact
    assert contact.first_name == "Jane" and contact.phone == "+447911123456"
    assert contact.consent_status == "granted"
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1
    return contact


def _owner_finds_the_contact(page, live_server, workspace, email: str):
    """The lead is in the app: the owner logs in and finds it with the search."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))
    page.goto(f"{live_server.url}/w/{workspace.slug}/contacts/?q={email}")
    row = page.locator("#contact-rows tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="Jane")).to_be_visible()
    expect(row).to_contain_text(email)


def _script_page(customer_site, live_server, form) -> str:
    return customer_site.page(
        "demo.html",
        "<p>Leave your details and we will call you back.</p>"
        f'<script src="{live_server.url}/static/leadflow/form.js" '
        f'data-form="{form.key}" async></script>'
        "<p>Footer text after the form.</p>",
    )


def test_script_embed_on_another_origin(
    visitor, live_server, customer_site, embeddable_form, workspace
):
    embeddable_form.proof_of_work = True  # the browser solves the puzzle with crypto.subtle
    embeddable_form.save()
    url = _script_page(customer_site, live_server, embeddable_form)
    visitor.add_init_script(
        "document.addEventListener('leadflow:submitted', e => { window.submitted = e.detail; });"
    )
    visitor.goto(f"{url}?utm_source=newsletter&utm_campaign=spring")
    form = visitor.locator(".lf-embed form")
    expect(form).to_be_visible()
    # Rendered in place: between the text before and after the script tag.
    assert visitor.evaluate(
        "document.querySelector('.lf-embed').previousElementSibling.tagName"
    ) == ("SCRIPT")
    visitor.screenshot(path="/tmp/leadflow-embed-script-empty.png", full_page=True)

    # The browser applies the server's rules before sending anything.
    _fill_like_a_person(visitor, email="jane@")
    visitor.get_by_role("button", name="Send").click()
    email_field = visitor.locator(".lf-field-email")
    expect(email_field.locator(".lf-error")).to_have_text("Enter a valid email address.")
    expect(visitor.get_by_label("Work email")).to_have_attribute("aria-invalid", "true")
    expect(visitor.get_by_label("Work email")).to_be_focused()
    assert not Submission.objects.exists()

    # A rule only the server knows (a blocked domain) comes back next to the field.
    visitor.get_by_label("Work email").fill("spy@competitor.com")
    visitor.get_by_role("button", name="Send").click()
    # The proof of work comes first: allow a busy 2-core machine its seconds.
    expect(email_field.locator(".lf-error")).to_have_text(
        "Please use another email address.", timeout=60_000
    )
    visitor.screenshot(path="/tmp/leadflow-embed-script-errors.png", full_page=True)
    assert not Submission.objects.exists()

    visitor.get_by_label("Work email").fill("Jane@Initech.com")
    expect(email_field.locator(".lf-error")).to_have_text("")  # fixed as the person types
    visitor.get_by_role("button", name="Send").click()
    thanks = visitor.get_by_role("status")
    expect(thanks).to_have_text(embeddable_form.success_message, timeout=60_000)
    expect(visitor.locator(".lf-embed form")).to_have_count(0)
    visitor.screenshot(path="/tmp/leadflow-embed-script-thanks.png", full_page=True)

    contact = _assert_lead_stored("jane@initech.com", page_url_prefix=url)
    submission = Submission.objects.get()
    assert submission.utm == {"utm_source": "newsletter", "utm_campaign": "spring"}
    assert submission.values["channels"] == ["Email", "Phone"]
    assert submission.values["utm_source"] == "newsletter"  # the hidden field
    assert contact.custom_fields == {"team_size": 25}
    detail = visitor.evaluate("window.submitted")
    assert detail["form"] == embeddable_form.key
    assert detail["submission_id"] == str(submission.submission_id)
    assert visitor.javascript_errors == []

    _owner_finds_the_contact(visitor, live_server, workspace, "jane@initech.com")


def test_script_embed_retries_the_same_submission(
    visitor, live_server, customer_site, embeddable_form
):
    """A lost connection, then a 503 with Retry-After: the script tries again with the same
    submission_id, waiting longer each time, and the lead is stored once."""
    attempts = []

    def flaky_network(route, request):
        if request.method != "POST":
            return route.continue_()
        attempts.append((time.monotonic(), request.post_data_json))
        if len(attempts) == 1:
            return route.abort("connectionreset")
        if len(attempts) == 2:
            return route.fulfill(
                status=503,
                headers={
                    "Access-Control-Allow-Origin": customer_site.url,
                    "Access-Control-Expose-Headers": "Retry-After",
                    "Retry-After": "3",
                },
                content_type="application/problem+json",
                body=json.dumps({"status": 503, "detail": "The database is unavailable."}),
            )
        return route.continue_()

    visitor.route(f"{live_server.url}/f/{embeddable_form.key}", flaky_network)
    visitor.goto(_script_page(customer_site, live_server, embeddable_form))
    visitor.get_by_label("Work email").fill("jane@initech.com")
    visitor.get_by_label("First name").fill("Jane")
    visitor.get_by_label("Phone", exact=True).first.fill("07911 123456")
    visitor.get_by_label("Interest").select_option("Pricing")
    visitor.get_by_label(CONSENT_TEXT).check()
    visitor.get_by_role("button", name="Send").click()
    expect(visitor.get_by_role("button", name="Send")).to_be_disabled()  # no double submit
    expect(visitor.get_by_role("status")).to_have_text(
        embeddable_form.success_message, timeout=20_000
    )

    assert len(attempts) == 3
    ids = {body["submission_id"] for _, body in attempts}
    assert len(ids) == 1
    (submission_id,) = ids
    assert attempts[1][0] - attempts[0][0] >= 0.9  # the first backoff: 1 s
    assert attempts[2][0] - attempts[1][0] >= 2.9  # Retry-After: 3 beats the 2 s backoff
    submission = Submission.objects.get()
    assert str(submission.submission_id) == submission_id
    _assert_lead_stored("jane@initech.com", page_url_prefix=customer_site.url)
    assert visitor.javascript_errors == []


def test_script_embed_without_crypto_subtle(visitor, live_server, customer_site, embeddable_form):
    """Plain-http pages have no crypto.subtle nor crypto.randomUUID: the script solves the
    proof of work in plain JavaScript and makes its own UUID."""
    embeddable_form.proof_of_work = True
    embeddable_form.save()
    visitor.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined});"
        "Object.defineProperty(Crypto.prototype, 'randomUUID', {value: undefined});"
    )
    visitor.goto(_script_page(customer_site, live_server, embeddable_form))
    assert visitor.evaluate("window.crypto.subtle === undefined && !crypto.randomUUID")
    visitor.get_by_label("Work email").fill("jane@initech.com")
    visitor.get_by_label("First name").fill("Jane")
    visitor.get_by_label("Phone", exact=True).first.fill("07911 123456")
    visitor.get_by_label("Interest").select_option("Demo")
    visitor.get_by_label(CONSENT_TEXT).check()
    visitor.get_by_role("button", name="Send").click()
    # ~65,000 SHA-256 rounds in plain JavaScript: seconds on a busy 2-core machine.
    expect(visitor.get_by_role("status")).to_have_text(
        embeddable_form.success_message, timeout=60_000
    )
    _assert_lead_stored("jane@initech.com", page_url_prefix=customer_site.url)
    assert Submission.objects.get().submission_id.version == 4
    assert visitor.javascript_errors == []


def test_iframe_embed(visitor, live_server, customer_site, embeddable_form, workspace):
    url = customer_site.page(
        "iframe.html",
        f'<iframe src="{live_server.url}/f/{embeddable_form.key}?embed=1" title="Book a demo" '
        'style="width:100%;height:1100px;border:0"></iframe>',
    )
    visitor.goto(url)
    frame = visitor.frame_locator("iframe[title='Book a demo']")
    expect(frame.get_by_role("button", name="Send")).to_be_visible()
    _fill_like_a_person(frame, email="jane@initech.com")
    visitor.wait_for_timeout(1100)  # longer than the form's min_fill_seconds
    visitor.screenshot(path="/tmp/leadflow-embed-iframe.png")
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_role("status")).to_have_text(embeddable_form.success_message)
    visitor.screenshot(path="/tmp/leadflow-embed-iframe-thanks.png")

    # A bare iframe (no snippet script): the page is the site, as the browser tells the frame.
    contact = _assert_lead_stored("jane@initech.com", page_url_prefix=customer_site.url)
    assert Submission.objects.get().values["channels"] == ["Email", "Phone"]
    assert contact.lifecycle_stage == "mql"
    assert visitor.javascript_errors == []

    _owner_finds_the_contact(visitor, live_server, workspace, "jane@initech.com")


def test_plain_html_form(visitor, live_server, customer_site, embeddable_form, workspace):
    key = embeddable_form.key
    url = customer_site.page(
        "plain.html",
        f'<form method="post" action="{live_server.url}/f/{key}">'
        '<p><label>Work email <input type="email" name="email"></label></p>'
        '<p><label>First name <input name="first_name"></label></p>'
        '<p><label>Phone <input type="tel" name="phone"></label></p>'
        '<p><label>Interest <select name="interest"><option value="">Choose</option>'
        "<option>Demo</option><option>Pricing</option></select></label></p>"
        '<p><label><input type="checkbox" name="channels" value="Email"> Email</label>'
        '<label><input type="checkbox" name="channels" value="Phone"> By phone</label></p>'
        f'<p><label><input type="checkbox" name="consent" value="1"> {CONSENT_TEXT}</label></p>'
        '<p style="position:absolute;left:-9999px" aria-hidden="true">'
        '<input name="_lf_hp" tabindex="-1" autocomplete="off"></p>'
        "<button>Send</button></form>",
    )
    visitor.goto(url)
    visitor.get_by_label("Work email").fill("jane@initech.com")
    visitor.get_by_label("First name").fill("Jane")
    visitor.get_by_label("Phone", exact=True).fill("07911 123456")
    visitor.get_by_label("Email", exact=True).check()
    visitor.get_by_label("By phone").check()
    visitor.get_by_label(CONSENT_TEXT).check()
    # The interest (required) is forgotten: LeadFlow answers with its form and the message.
    with visitor.expect_response(f"{live_server.url}/f/{key}") as answer:
        visitor.get_by_role("button", name="Send").click()
    assert answer.value.status == 422
    interest = visitor.locator(".lf-field", has=visitor.get_by_label("Interest"))
    expect(interest.locator(".lf-error")).to_have_text("This field is required.")
    # What the person typed is still there.
    expect(visitor.get_by_label("Work email")).to_have_value("jane@initech.com")
    expect(visitor.get_by_label("Phone", exact=True).first).to_have_value("07911 123456")
    expect(visitor.get_by_label("Email", exact=True)).to_be_checked()
    expect(visitor.get_by_label(CONSENT_TEXT)).to_be_checked()
    assert not Submission.objects.exists()
    visitor.screenshot(path="/tmp/leadflow-embed-plain-errors.png", full_page=True)

    visitor.get_by_label("Interest").select_option("Pricing")
    with visitor.expect_response(re.compile(rf"/f/{key}$")) as answer:
        visitor.get_by_role("button", name="Send").click()
    assert answer.value.status == 201
    expect(visitor.get_by_role("status")).to_have_text(embeddable_form.success_message)
    visitor.screenshot(path="/tmp/leadflow-embed-plain-thanks.png", full_page=True)

    # The corrected post comes from LeadFlow's error page, yet the page is the customer's.
    _assert_lead_stored("jane@initech.com", page_url_prefix=customer_site.url)
    assert Submission.objects.get().values["interest"] == "Pricing"
    assert visitor.javascript_errors == []

    _owner_finds_the_contact(visitor, live_server, workspace, "jane@initech.com")
