"""The tracker script (lf.js) in a real browser, on a customer's site on a second origin.

LeadFlow runs on pytest-django's live server (http://localhost:PORT); the customer's site is
a static site served from http://127.0.0.1:OTHER. Chromium browses it like a person: it
arrives from an ad, moves around (a single-page app too), clicks, fills a LeadFlow form;
the events arrive at POST /e and the contact's history holds the visits from before the form.
"""

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.capture.models import Submission
from leadflow.contacts.models import Contact
from leadflow.tracking import selectors
from leadflow.tracking.models import Event, Visitor, VisitSession
from tests.capture.conftest import CONSENT_TEXT
from tests.capture.test_embeds_e2e import CustomerSite
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, _orm_beside_playwright  # noqa: F401

from .helpers import CHROME

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIXTURE = Path(__file__).parent / "fixtures" / "lf_batch.json"
CAMPAIGN = "?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=abc"


class Site(CustomerSite):
    """The customer's static site, every page carrying the tracker."""

    def __init__(self, root: Path, live_server, workspace):
        super().__init__(root)
        self.tracker = (
            f'<script src="{live_server.url}/static/leadflow/lf.js" '
            f'data-key="{workspace.public_key}" async></script>'
        )

    def write(self, name: str, body: str, *, title: str = "Acme Widgets", head: str = "") -> str:
        (self.root / name).write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{title}</title>{head}{self.tracker}</head><body>{body}</body></html>"
        )
        return f"{self.url}/{name}"


@pytest.fixture
def site(tmp_path, live_server, workspace):
    site = Site(tmp_path, live_server, workspace)
    yield site
    site.close()


@pytest.fixture
def browser(_orm_beside_playwright, transactional_db, live_server):  # noqa: F811
    """The browser tests' Chromium (it fails, never skips, when the browser is missing),
    saying it is an ordinary desktop Chrome: the server ignores "HeadlessChrome" as a bot,
    and a context's user agent does not reach the beacons a closing page sends."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, f"--user-agent={CHROME}"]
        )
        yield browser
        browser.close()


@pytest.fixture
def browse(browser, live_server):
    """Opens pages in fresh browser profiles. Each page records its JavaScript errors and
    the batches it posts to /e."""
    contexts = []

    def open_page(context=None, **options):
        if context is None:
            context = browser.new_context(locale="en-GB", **options)
            context.batches = []
            context.posts = []

            def sent(request):
                if request.method == "POST" and request.url == f"{live_server.url}/e":
                    # Playwright cannot read a beacon's body: None.
                    context.batches.append(json.loads(request.post_data or "null"))
                    context.posts.append(request)

            context.on("request", sent)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.javascript_errors = []
        page.on("pageerror", lambda error: page.javascript_errors.append(str(error)))
        page.batches = context.batches
        page.posts = context.posts
        return page

    yield open_page
    for context in contexts:
        context.close()


def wait_until(page, check, *, timeout: float = 15):
    """Polls the database (the browser keeps running meanwhile) until check() is truthy."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check.__doc__ or check}")
        page.wait_for_timeout(100)
    return result


def tracking_on(page) -> str:
    """The visitor id, once the tracker has the workspace's settings and is on."""
    return page.wait_for_function("() => window.leadflow && window.leadflow.visitorId").json_value()


def events(type_=None, **filters):
    queryset = Event.objects.filter(**filters)
    if type_:
        queryset = queryset.filter(event_type=type_)
    return list(queryset.order_by("occurred_at", "id"))


def stored_keys(page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lf_')).sort()")


def site_cookies(page, site) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in page.context.cookies(site.url)}


def sent_ids(page) -> set[str]:
    """Ids of the events the page's context posted (beacons excepted: Playwright cannot
    read their bodies)."""
    return {event["id"] for batch in page.batches if batch for event in batch["events"]}


def _shape(batch: dict) -> dict:
    """The keys of a batch and of its first event and visit context: what the contract
    test's fixture must keep matching."""
    first = batch["events"][0]
    return {
        "batch": sorted(batch),
        "event": sorted(first),
        "session": sorted(first["session"]),
        "types": sorted({type(value).__name__ for value in first.values()}),
    }


def test_visits_before_the_form_are_on_the_contact(browse, site, live_server, workspace, lead_form):
    workspace.allowed_origins = [site.url]
    workspace.save()
    home = site.write(
        "index.html",
        "<h1>Acme Widgets</h1>"
        "<nav><button id='to-pricing' type='button'>Pricing</button></nav>"
        "<main id='app'>Widgets for every team.</main>"
        "<button type='button' data-lf-track='pricing-cta'>Start a free trial</button>"
        "<p><a href='/demo.html'>Book a demo</a></p>"
        # A single-page app's router: the URL and the title change, the page stays.
        "<script>document.getElementById('to-pricing').onclick = function () {"
        "  history.pushState({}, '', '/pricing');"
        "  document.title = 'Pricing'; document.getElementById('app').textContent = 'Plans';"
        "};</script>",
    )
    site.write(
        "demo.html",
        "<h1>Book a demo</h1>"
        f'<script src="{live_server.url}/static/leadflow/form.js" '
        f'data-form="{lead_form.key}" async></script>',
        title="Book a demo",
    )
    page = browse()
    page.goto(home + CAMPAIGN, referer="https://www.google.com/")
    visitor_key = tracking_on(page)

    landing = wait_until(page, lambda: events("pageview"))[0]
    visit = VisitSession.objects.get()
    assert (visit.utm_source, visit.utm_medium, visit.utm_campaign) == ("google", "cpc", "spring")
    assert visit.click_ids == {"gclid": "abc"}
    assert visit.channel == "paid_search"
    assert visit.landing_page == home + CAMPAIGN
    assert visit.referrer == "https://www.google.com/"
    assert landing.url == home + CAMPAIGN and landing.name == "Acme Widgets"
    assert Visitor.objects.get().visitor_key == visitor_key
    # The same first-party id in the site's cookie and its localStorage.
    assert site_cookies(page, site)["lf_vid"] == visitor_key
    assert page.evaluate("localStorage.getItem('lf_vid')") == visitor_key
    assert page.evaluate("leadflow.sessionId") == visit.session_key
    assert _shape(page.batches[0]) == _shape(json.loads(FIXTURE.read_text()))

    # A route change of the single-page app is a page view, with the previous URL as referrer.
    page.get_by_role("button", name="Pricing").click()
    pricing = wait_until(page, lambda: events("pageview", url__endswith="/pricing"))[0]
    assert pricing.name == "Pricing" and pricing.referrer == home + CAMPAIGN

    page.get_by_role("button", name="Start a free trial").click()
    cta = wait_until(page, lambda: events("click"))[0]
    assert cta.name == "pricing-cta"
    assert cta.properties == {"text": "Start a free trial"}
    assert cta.url == f"{site.url}/pricing"

    # Another page of the site (a full page load): the same visit; the form is seen.
    page.get_by_role("link", name="Book a demo").click()
    form_view = wait_until(page, lambda: events("form_view"))[0]
    assert form_view.name == lead_form.key and form_view.properties == {"embed": "script"}
    assert wait_until(page, lambda: events("pageview", url=f"{site.url}/demo.html"))
    assert VisitSession.objects.count() == 1
    assert VisitSession.objects.get().pageviews == 3
    assert Contact.objects.count() == 0

    page.get_by_label("Work email").fill("jane@initech.com")
    page.get_by_label("First name").fill("Jane")
    page.get_by_label("Interest").select_option("Demo")
    page.get_by_label(CONSENT_TEXT).check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text(lead_form.success_message)

    # form.js sent the tracker's visitor id: the visits before the form are the contact's.
    contact = Contact.objects.get(email="jane@initech.com")
    assert Submission.objects.get().visitor_id == visitor_key
    assert Visitor.objects.get().contact == contact
    assert VisitSession.objects.get().contact == contact
    tracked = events()
    assert len(tracked) == 5
    assert {event.contact_id for event in tracked} == {contact.pk}
    assert all(event.occurred_at < contact.created_at for event in tracked)
    contact.refresh_from_db()
    assert (
        contact.first_touch_source,
        contact.first_touch_medium,
        contact.first_touch_campaign,
        contact.first_touch_channel,
    ) == ("google", "cpc", "spring", "paid_search")
    assert [visit.session_key for visit in selectors.contact_visits(workspace, contact.pk)] == [
        page.evaluate("leadflow.sessionId")
    ]
    assert [
        (event.event_type, event.name) for event in selectors.contact_events(workspace, contact.pk)
    ] == [
        ("form_view", lead_form.key),
        ("pageview", "Book a demo"),
        ("click", "pricing-cta"),
        ("pageview", "Pricing"),
        ("pageview", "Acme Widgets"),
    ]
    # Everything the browser sent is stored, once.
    assert sent_ids(page) == {str(event.event_id) for event in tracked}
    assert page.javascript_errors == []

    # The owner sees the visits from before the form on the contact's page.
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))
    page.goto(f"{live_server.url}/w/{workspace.slug}/contacts/{contact.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Jane"))).to_be_visible()
    visit_entry = page.locator("#timeline .event-visit")
    expect(visit_entry).to_have_count(1)
    expect(visit_entry.locator(".event-label")).to_have_text(
        "Visited 3 pages from google / cpc (Paid search)"
    )
    expect(visit_entry.locator(".pre-id")).to_have_text("before identification")
    expect(
        visit_entry.get_by_role("list", name="Pages viewed").get_by_role("listitem")
    ).to_have_text([home + CAMPAIGN, f"{site.url}/pricing", f"{site.url}/demo.html"])
    expect(visit_entry).to_contain_text("Campaign: spring")
    expect(visit_entry).to_contain_text("Referrer: https://www.google.com/")
    first_touch = page.locator("[data-touch='first']")
    expect(first_touch).to_contain_text("Paid search")
    expect(first_touch).to_contain_text("spring")
    page.screenshot(path="/tmp/leadflow-tracker-contact.png", full_page=True)


def test_consent_mode_stores_and_sends_nothing_before_consent(browse, site, workspace):
    workspace.tracking_requires_consent = True
    workspace.save()
    home = site.write("index.html", "<h1>Acme</h1><button data-lf-track='trial'>Try it</button>")
    other = site.write("other.html", "<h1>Another page</h1>", title="Other")
    page = browse()
    with page.expect_response(re.compile(r"/e/config\?key=")):
        page.goto(home + CAMPAIGN)
    page.get_by_role("button", name="Try it").click()
    page.evaluate("leadflow.track('video-played', {seconds: 30}); leadflow.flush()")
    page.wait_for_timeout(2500)  # longer than a batch waits
    assert page.batches == []
    assert site_cookies(page, site) == {}
    assert stored_keys(page) == []
    assert page.evaluate("leadflow.visitorId") == ""
    assert not Visitor.objects.exists()

    # The site's consent banner says yes: what happened on this page is sent now.
    page.evaluate("leadflow.consent(true)")
    visitor_key = tracking_on(page)
    wait_until(page, lambda: len(events()) == 3)
    assert [(event.event_type, event.name) for event in events()] == [
        ("pageview", "Acme Widgets"),
        ("click", "trial"),
        ("custom", "video-played"),
    ]
    assert events("custom")[0].properties == {"seconds": 30}
    assert VisitSession.objects.get().channel == "paid_search"  # the landing page's tags
    assert site_cookies(page, site)["lf_vid"] == visitor_key
    assert "lf_consent" in stored_keys(page)

    # Consent is remembered on the next pages.
    page.goto(other)
    wait_until(page, lambda: events("pageview", name="Other"))
    assert Visitor.objects.get().visitor_key == visitor_key

    # Withdrawn: the tracker forgets the visitor and sends nothing more.
    page.evaluate("leadflow.consent(false)")
    assert page.evaluate("leadflow.visitorId") == ""
    assert site_cookies(page, site) == {}
    assert stored_keys(page) == []
    sent = len(page.batches)
    page.evaluate("leadflow.track('after-withdrawal'); leadflow.flush()")
    page.wait_for_timeout(2500)
    assert len(page.batches) == sent
    assert not events("custom", name="after-withdrawal")
    assert page.javascript_errors == []


GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


def test_privacy_signals_are_respected(browse, site, workspace, live_server):
    home = site.write("index.html", "<h1>Acme</h1>")

    # Global Privacy Control: the script does nothing at all.
    page = browse()
    page.add_init_script(GPC)
    with page.expect_response(re.compile(r"/e/config\?key=")):
        page.goto(home)
    page.evaluate("leadflow.track('ignored'); leadflow.identify({email: 'jane@initech.com'})")
    page.wait_for_timeout(2500)
    assert page.batches == [] and site_cookies(page, site) == {} and stored_keys(page) == []

    # Do Not Track sent as a header only: the server drops the batch.
    page = browse(extra_http_headers={"DNT": "1"})
    page.goto(home)
    tracking_on(page)
    with page.expect_response(f"{live_server.url}/e") as answer:
        page.evaluate("leadflow.flush()")
    assert answer.value.status == 202
    assert answer.value.json() == {"accepted": 0, "ignored": "privacy signal"}
    assert not Event.objects.exists() and not Visitor.objects.exists()
    assert not Contact.objects.exists()

    # A workspace that does not honour the signals records the visit.
    workspace.respect_privacy_signals = False
    workspace.save()
    page = browse()
    page.add_init_script(GPC)
    page.goto(home)
    tracking_on(page)
    page.evaluate("leadflow.flush()")
    assert wait_until(page, lambda: events("pageview"))


def test_events_wait_offline_and_arrive_once(browse, site, live_server):
    home = site.write("index.html", "<h1>Acme</h1>")
    page = browse()
    page.goto(home)
    tracking_on(page)
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: events("pageview"))

    # Offline: the events wait in localStorage, even when the page is closed.
    page.context.set_offline(True)
    # The page hears of it asynchronously: until navigator.onLine says so, lf.js would hand the
    # queue to sendBeacon on close, and a closing page's beacon escapes the emulation.
    page.wait_for_function("navigator.onLine === false")
    page.evaluate("leadflow.track('offline-1'); leadflow.track('offline-2'); leadflow.flush()")
    waiting = page.evaluate("JSON.parse(localStorage.getItem('lf_q')).map(e => e.name)")
    assert waiting == ["offline-1", "offline-2"]
    context = page.context
    page.close()
    # Not asserted here: that nothing arrived while closed. Chromium lets a closing page's
    # request escape the offline emulation now and then (one CI run in many); what the
    # product promises is checked below: the waiting events arrive, each stored once.

    # Back online, the next page of the site sends them along with its own page view.
    context.set_offline(False)
    page = browse(context)
    page.goto(home + "#later")
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: len(events("custom")) == 2)
    # The answer reaches the page a moment after the rows are visible to the test.
    page.wait_for_function("localStorage.getItem('lf_q') === '[]'")

    # The answer is lost after the server stored the batch: the same ids come again and
    # the server stores them once (it counts duplicates).
    answers = []

    def answer_lost_once(route):
        response = route.fetch()
        answers.append(response.json())
        if len(answers) == 1:
            return route.abort("connectionreset")
        return route.fulfill(response=response)

    page.route(f"{live_server.url}/e", answer_lost_once)
    page.evaluate("leadflow.track('lost-answer')")
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: len(answers) == 2, timeout=20)
    assert answers[0]["accepted"] == 1
    assert answers[1] == {"accepted": 0, "duplicates": 1, "rejected": 0, "errors": []}
    assert len(events("custom", name="lost-answer")) == 1

    sent = [event["id"] for batch in page.batches if batch for event in batch["events"]]
    assert len(sent) > len(set(sent))  # some were sent more than once...
    stored = [str(event.event_id) for event in events()]
    assert sorted(stored) == sorted(set(sent))  # ...each is stored once
    assert page.javascript_errors == []


def test_identify_outbound_links_and_iframe_forms(browse, site, live_server, lead_form):
    # The same static server under another host name: another site.
    partner = site.url.replace("127.0.0.1", "localhost") + "/partner.html"
    (site.root / "partner.html").write_text("<!doctype html><title>Partner</title><h1>Partner</h1>")
    home = site.write(
        "index.html",
        "<h1>Acme</h1>"
        f'<iframe src="{live_server.url}/f/{lead_form.key}?embed=1" title="Book a demo" '
        'style="width:100%;height:300px;border:0"></iframe>'
        f"<p><a href='{partner}'>Our partner</a></p>",
        # The stub of docs/tracking.md: calls made before lf.js has loaded are kept.
        head="<script>window.leadflow = window.leadflow || [];"
        "['track', 'identify', 'consent'].forEach(function (m) {"
        "  leadflow[m] = leadflow[m] || function () {"
        "    leadflow.push([m].concat([].slice.call(arguments))); };"
        "});"
        "leadflow.track('early', {plan: 'pro'}); leadflow.push(['track', 'pushed']);</script>",
    )
    page = browse()
    page.goto(home)
    visitor_key = tracking_on(page)
    view = wait_until(page, lambda: events("form_view"))[0]
    assert view.name == lead_form.key and view.properties == {"embed": "iframe"}
    assert [(event.name, event.properties) for event in events("custom")] == [
        ("early", {"plan": "pro"}),
        ("pushed", {}),
    ]

    page.evaluate("leadflow.identify({email: 'Jane@Initech.com', first_name: 'Jane'})")
    contact = wait_until(page, lambda: Contact.objects.filter(email="jane@initech.com").first())
    assert contact.first_name == "Jane"
    visitor = Visitor.objects.get(visitor_key=visitor_key)
    assert visitor.contact == contact
    assert {event.contact_id for event in events()} == {contact.pk}

    # Leaving for another site: the click is sent even though the page goes away.
    page.get_by_role("link", name="Our partner").click()
    expect(page).to_have_url(partner)
    outbound = wait_until(page, lambda: events("outbound"))[0]
    assert outbound.name == "localhost"
    assert outbound.properties == {"href": partner, "text": "Our partner"}
    assert outbound.contact_id == contact.pk
    assert page.javascript_errors == []


def test_a_visit_ends_after_30_minutes_or_with_a_new_campaign(browse, site):
    home = site.write("index.html", "<h1>Acme</h1>")
    page = browse()
    # The browser's clock starts in the past, so events stay inside the server's window.
    page.clock.install(time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    page.goto(home)
    tracking_on(page)
    page.evaluate("leadflow.flush()")
    first = wait_until(page, lambda: VisitSession.objects.first())
    assert first.channel == "direct"

    page.clock.fast_forward("31:00")
    page.evaluate("leadflow.track('came-back'); leadflow.flush()")
    wait_until(page, lambda: VisitSession.objects.count() == 2)
    second = VisitSession.objects.exclude(pk=first.pk).get()
    assert events("custom")[0].session_id == second.pk

    # Within 30 minutes, but entering from a new campaign link: a new visit, by email.
    page.goto(home + "?utm_source=newsletter&utm_medium=email&utm_campaign=may")
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: VisitSession.objects.count() == 3)
    third = VisitSession.objects.order_by("-id").first()
    assert (third.channel, third.campaign) == ("email", "may")
    # The same link opened again soon after is the same visit.
    page.reload()
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: len(events("pageview")) == 3)
    assert VisitSession.objects.count() == 3
    assert page.javascript_errors == []


def test_a_site_that_is_not_allowed_sends_nothing(browse, site, workspace):
    workspace.allowed_origins = ["https://www.acme-widgets.com"]
    workspace.save()
    home = site.write("index.html", "<h1>Not Acme</h1>")
    page = browse()
    warnings = []
    page.on("console", lambda message: warnings.append(message.text))
    with page.expect_response(re.compile(r"/e/config\?key=")) as answer:
        page.goto(home)
    assert answer.value.status == 403
    page.evaluate("leadflow.track('nope'); leadflow.flush()")
    page.wait_for_timeout(500)
    assert page.batches == [] and stored_keys(page) == [] and site_cookies(page, site) == {}
    assert any("may not use the key" in text for text in warnings)


@pytest.fixture
def received():
    """The content types of the batches that reached POST /e, seen by the server (the
    browser does not report the requests of a page that is closing)."""
    from django.core.signals import request_started

    types = []

    def note(sender, environ, **kwargs):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/e":
            types.append(environ.get("CONTENT_TYPE", ""))

    request_started.connect(note, weak=False)
    yield types
    request_started.disconnect(note)


def test_leaving_the_page_sends_by_beacon(browse, site, received):
    home = site.write(
        "index.html", "<h1>Acme</h1><a href='/bare.html'>A page without the tracker</a>"
    )
    (site.root / "bare.html").write_text("<!doctype html><title>No tracker</title><h1>Bare</h1>")
    page = browse()
    # Plain-http pages on a real host have no crypto.randomUUID: the script makes its own.
    page.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'randomUUID', {value: undefined});"
    )
    page.goto(home)
    assert page.evaluate("crypto.randomUUID === undefined")
    tracking_on(page)
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: events("pageview"))

    # Recorded, then the page goes away before the batch was due: a beacon carries it.
    page.evaluate("leadflow.track('leaving')")
    page.get_by_role("link", name="A page without the tracker").click()
    leaving = wait_until(page, lambda: events("custom", name="leaving"))[0]
    # sendBeacon with a text/plain Blob (fetch says "text/plain;charset=UTF-8"): a simple
    # request, no preflight.
    assert received == ["text/plain;charset=UTF-8", "text/plain"]

    # Nothing told the page the beacon arrived: the next page sends it again, stored once.
    page.go_back()
    page.evaluate("leadflow.flush()")
    wait_until(page, lambda: len(events("pageview")) == 2)
    resent = [batch for batch in page.batches if batch]
    assert str(leaving.event_id) in {event["id"] for event in resent[-1]["events"]}
    assert len(events("custom", name="leaving")) == 1
    assert {event.event_id.version for event in events()} == {4}
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        page.evaluate("leadflow.visitorId"),
    )
    # The answer reaches the page a moment after the rows are visible to the test.
    page.wait_for_function("localStorage.getItem('lf_q') === '[]'")
    assert page.javascript_errors == []


def test_a_tracked_email_link_identifies_the_reader(browse, site, workspace):
    """An email link carries lf_c, a signed token naming its reader: the browser that opens
    it is linked to that contact, and its visit joins the contact's history."""
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor
    from leadflow.tracking.services import contact_link_token

    reader = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "reader@initech.com"}
    ).contact
    home = site.write("index.html", "<h1>Acme</h1>")
    page = browse()
    page.goto(f"{home}?utm_source=newsletter&utm_medium=email&lf_c={contact_link_token(reader)}")
    visitor_key = tracking_on(page)
    wait_until(
        page, lambda: Visitor.objects.filter(visitor_key=visitor_key, contact=reader).exists()
    )
    wait_until(
        page, lambda: Event.objects.filter(contact_id=reader.pk, event_type="pageview").exists()
    )


def test_an_emoji_at_the_limit_or_a_refused_event_holds_up_nothing(browse, site, live_server):
    """Names are cut by characters as the server counts them, never through an emoji's
    surrogate pair; an event the server refuses is dropped (a 4xx, or an error entry of a
    202) while a 5xx keeps the batch for later, so the visitor's next events arrive."""
    title = "a" * 199 + "\U0001f600 and more"  # the emoji's two halves straddle 200
    home = site.write("index.html", "<h1>Acme</h1>", title=title)
    page = browse()
    page.goto(home)
    tracking_on(page)
    page.evaluate("leadflow.flush()")
    view = wait_until(page, lambda: events("pageview"))[0]
    assert view.name == "a" * 199 + "\U0001f600"

    # The site's own properties hold half an emoji: the server refuses that event alone.
    page.evaluate("leadflow.track('broken', {label: 'caf\\u00e9 \\ud83d'}); leadflow.flush()")
    page.evaluate("leadflow.track('after-broken'); leadflow.flush()")
    wait_until(page, lambda: events("custom", name="after-broken"))
    page.wait_for_function("localStorage.getItem('lf_q') === '[]'")
    assert not events("custom", name="broken")
    names = [event["name"] for batch in page.batches if batch for event in batch["events"]]
    assert names.count("broken") == 1  # refused once, never sent again

    # A whole batch refused (422): dropped too. A server error (503): kept and sent again.
    statuses = iter([422, 503])

    def refuse_then_fail(route):
        status = next(statuses, None)
        if status is None:
            return route.continue_()
        return route.fulfill(status=status, content_type="application/problem+json", body="{}")

    page.route(f"{live_server.url}/e", refuse_then_fail)
    page.evaluate("leadflow.track('refused'); leadflow.flush()")
    page.wait_for_function("localStorage.getItem('lf_q') === '[]'")
    page.evaluate("leadflow.track('retried'); leadflow.flush()")
    wait_until(page, lambda: events("custom", name="retried"), timeout=20)
    assert not events("custom", name="refused")
    page.wait_for_function("localStorage.getItem('lf_q') === '[]'")
    assert page.javascript_errors == []
