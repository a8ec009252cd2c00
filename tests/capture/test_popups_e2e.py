"""Pop-ups in Chromium, on a customer's site on a second origin (as the tracker's tests).

LeadFlow runs on the live server; the site is a static server on 127.0.0.1 whose pages
carry lf.js. The tracker loads popups.js only while the workspace has an active pop-up;
each trigger is driven as a person would (time, scroll, the pointer leaving through the
top, doing nothing, a click), the frequency rules across reloads, the phone banner and
the modal's keyboard basics. Trigger times are short so the tests stay fast.
"""

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.capture import services as form_services
from leadflow.capture.models import Submission
from leadflow.capture.popups import services
from leadflow.capture.popups.models import Popup
from tests.capture.test_embeds_e2e import CustomerSite
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


class Site(CustomerSite):
    """The customer's static site; every page carries the tracker."""

    def __init__(self, root: Path, live_server, workspace):
        super().__init__(root)
        self.tracker = (
            f'<script src="{live_server.url}/static/leadflow/lf.js" '
            f'data-key="{workspace.public_key}" async></script>'
        )

    def write(self, name: str, body: str) -> str:
        (self.root / name).write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"{self.tracker}</head><body style='margin:0;font:16px sans-serif'>{body}</body></html>"
        )
        return f"{self.url}/{name}"


@pytest.fixture
def site(tmp_path, live_server, workspace):
    site = Site(tmp_path, live_server, workspace)
    yield site
    site.close()


@pytest.fixture
def visit(browser):  # noqa: F811
    """Opens pages in fresh browser profiles (desktop unless told), collecting script errors
    and every address the page asked for."""
    contexts = []

    def open_page(context=None, **options):
        if context is None:
            options.setdefault("viewport", {"width": 1280, "height": 800})
            context = browser.new_context(locale="en-GB", **options)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.javascript_errors = []
        page.requested = []
        page.on("pageerror", lambda error: page.javascript_errors.append(str(error)))
        page.on("request", lambda request: page.requested.append(request.url))
        return page

    yield open_page
    for context in contexts:
        context.close()


def popup(workspace, actor, title, **data):
    base = {"name": title, "title": title, "status": "active", "content": "notice"}
    return services.popup_create(workspace=workspace, actor=actor, data={**base, **data})


def armed(page) -> list[int]:
    """The pop-ups this page armed, once popups.js has its configuration."""
    return page.wait_for_function(
        "() => window.leadflowPopups && window.leadflowPopups.armed"
    ).json_value()


def counted(popup_id: int, **expected) -> None:
    """Waits until the pop-up's counters reach what is expected (beacons are asynchronous)."""
    deadline = time.monotonic() + 15
    while True:
        row = Popup.objects.get(pk=popup_id)
        actual = {name: getattr(row, name) for name in expected}
        if actual == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"counters {actual}, expected {expected}")
        time.sleep(0.1)


def test_no_active_popup_no_script_then_a_timed_modal_with_keyboard_basics_and_frequency(
    site, visit, workspace, owner_actor
):
    url = site.write(
        "index.html",
        "<main><button id='before' autofocus>Before</button><p>Welcome.</p></main>",
    )
    # Paused (or no) pop-ups: the tracker never asks for popups.js.
    popup(workspace, owner_actor, "Paused one", status="paused")
    page = visit()
    page.goto(url)
    page.wait_for_function("() => window.leadflow && window.leadflow.visitorId")
    page.wait_for_timeout(300)
    assert not [address for address in page.requested if "popups.js" in address]
    assert page.evaluate("window.leadflowPopups") is None

    modal = popup(
        workspace,
        owner_actor,
        "Get the pricing guide",
        body="Twelve pages, no fluff.",
        content="link",
        link_url="https://example.com/guide.pdf",
        link_label="Download the guide",
        triggers={"time_seconds": 0.4},
        frequency={"once_per_session": True, "closed_days": 1},
    )
    page = visit()  # a new profile: no cached tracker settings
    page.goto(url)
    assert armed(page) == [modal.pk]  # the page's own focus (autofocus) is where it returns
    dialog = page.get_by_role("dialog", name="Get the pricing guide")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.querySelector('dialog').matches(':modal')")
    close = dialog.get_by_role("button", name="Close")
    link = dialog.get_by_role("link", name="Download the guide")
    expect(close).to_be_focused()
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Tab")  # round to the first, never out to the page
    expect(close).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#before")).to_be_focused()
    counted(modal.pk, views=1, closes=1, conversions=0)

    # Closed: not again in this visit, nor for a day; after the day it comes back once
    # the visit is over.
    page.reload()
    assert armed(page) == []
    page.evaluate(
        "(id) => { const s = JSON.parse(localStorage.lf_pop); s.c[id] -= 2 * 86400000;"
        " localStorage.lf_pop = JSON.stringify(s); }",
        modal.pk,
    )
    page.reload()
    assert armed(page) == [], "once per session still holds"
    page.context.clear_cookies()
    page.reload()
    assert armed(page) == [modal.pk]
    assert page.javascript_errors == []


def test_scroll_exit_intent_inactivity_and_click_triggers(site, visit, workspace, owner_actor):
    tall = "<div style='height:3000px'>Long read</div>"
    pages = {
        "scroll": site.write("scroll.html", tall),
        "exit": site.write("exit.html", "<p>Leaving so soon?</p>"),
        "idle": site.write("idle.html", "<p>Take your time.</p>"),
        "click": site.write(
            "click.html",
            "<button id='other'>Other</button> <button class='pricing'>See pricing</button>",
        ),
    }
    every = {"once_per_session": False, "closed_days": None, "stop_after_convert": False}
    made = {
        "scroll": popup(
            workspace,
            owner_actor,
            "Halfway there",
            style="slide_in",
            triggers={"scroll_percent": 50},
            targeting={"include": ["/scroll*"]},
        ),
        "exit": popup(
            workspace,
            owner_actor,
            "Before you go",
            triggers={"exit_intent": True},
            targeting={"include": ["/exit.html"]},
        ),
        "idle": popup(
            workspace,
            owner_actor,
            "Still there?",
            style="top_bar",
            triggers={"inactivity_seconds": 0.8},
            targeting={"include": ["/idle*"]},
            frequency=every,
        ),
        "click": popup(
            workspace,
            owner_actor,
            "Talk to sales",
            triggers={"click_selector": ".pricing"},
            targeting={"include": ["*/click.html"], "exclude": ["/scroll*"]},
        ),
    }
    page = visit()

    page.goto(pages["scroll"])
    assert armed(page) == [made["scroll"].pk]
    page.mouse.wheel(0, 500)
    page.wait_for_timeout(200)
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.mouse.wheel(0, 1200)
    slide = page.get_by_role("dialog", name="Halfway there")
    expect(slide).to_be_visible()
    assert not page.evaluate("document.querySelector('dialog').matches(':modal')")
    assert page.evaluate("document.activeElement === document.body"), "a slide-in takes no focus"

    page.goto(pages["exit"])
    assert armed(page) == [made["exit"].pk]
    page.mouse.move(600, 400)
    page.mouse.move(600, 20, steps=4)
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.mouse.move(600, -20, steps=2)  # out through the top
    expect(page.get_by_role("dialog", name="Before you go")).to_be_visible()
    page.get_by_role("button", name="Close").click()

    page.goto(pages["idle"])
    assert armed(page) == [made["idle"].pk]
    for step in range(8):  # moving for 1.2 s: never idle for 0.8 s
        page.mouse.move(100 + step * 20, 300)
        page.wait_for_timeout(150)
    expect(page.get_by_role("dialog")).to_have_count(0)
    bar = page.get_by_role("dialog", name="Still there?")
    expect(bar).to_be_visible()  # after 0.8 s of nothing
    box = bar.bounding_box()
    assert box["y"] == 0 and box["width"] == 1280

    page.goto(pages["click"])
    assert armed(page) == [made["click"].pk]
    page.locator("#other").click()
    page.wait_for_timeout(200)
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.locator(".pricing").click()
    expect(page.get_by_role("dialog", name="Talk to sales")).to_be_visible()
    for name in made:
        counted(made[name].pk, views=1)
    assert page.javascript_errors == []


def test_a_form_popup_converts_once_and_phones_get_a_small_banner(
    site, visit, workspace, owner_actor
):
    form = form_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Guide",
            "min_fill_seconds": 0,
            "fields": [{"name": "email", "type": "email", "label": "Email", "required": True}],
        },
    )
    offer = popup(
        workspace,
        owner_actor,
        "Free checklist",
        content="form",
        form_id=form.pk,
        link_label="Get the checklist",
        triggers={"time_seconds": 0.2},
        frequency={"once_per_session": False, "closed_days": None, "stop_after_convert": True},
    )
    returning = popup(
        workspace,
        owner_actor,
        "Welcome back",
        triggers={"time_seconds": 0},
        targeting={"visitors": "returning", "devices": ["desktop"]},
    )
    url = site.write("offer.html", "<p>Our products.</p>")

    # A phone: the modal becomes a small banner at the bottom; the form opens on request.
    phone = visit(**PHONE)
    phone.goto(url)
    assert armed(phone) == [offer.pk]  # "Welcome back" is for desktops (and returning visitors)
    banner = phone.get_by_role("dialog", name="Free checklist")
    expect(banner).to_be_visible()
    assert not phone.evaluate("document.querySelector('dialog').matches(':modal')")
    box = banner.bounding_box()
    assert box["y"] + box["height"] == 844 and box["height"] < 200
    expect(banner.locator("form")).to_have_count(0)
    banner.get_by_role("button", name="Close").click()
    expect(banner).to_have_count(0)
    counted(offer.pk, views=1, closes=1)

    # A desktop: the modal with the form; a submission is a conversion, and it stops there.
    page = visit()
    page.goto(url)
    assert armed(page) == [offer.pk]
    dialog = page.get_by_role("dialog", name="Free checklist")
    dialog.get_by_label("Email").fill("jane@initech.com")
    with page.expect_response(lambda r: r.url.endswith(f"/f/{form.key}")) as answer:
        dialog.get_by_role("button", name="Send").click()
    assert answer.value.status in (200, 201)
    expect(dialog.get_by_role("status")).to_be_visible()
    counted(offer.pk, views=2, conversions=1)
    assert Submission.objects.get(form=form).values["email"] == "jane@initech.com"
    page.reload()
    assert armed(page) == []  # converted: never again
    # A later visit of the same browser is a returning visitor's.
    page.context.clear_cookies(name="lf_popv")
    page.reload()
    assert armed(page) == [returning.pk]
    expect(page.get_by_role("dialog", name="Welcome back")).to_be_visible()
    state = json.loads(page.evaluate("localStorage.lf_pop"))
    assert str(offer.pk) in state["k"]
    assert page.javascript_errors == [] and phone.javascript_errors == []


def test_a_single_page_apps_routes_rearm_the_popups_that_match_without_asking_again(
    site, visit, workspace, owner_actor
):
    every = {"once_per_session": False, "closed_days": None, "stop_after_convert": False}
    home = popup(
        workspace,
        owner_actor,
        "Home offer",
        triggers={"time_seconds": 60},
        targeting={"include": ["/spa.html"]},
        frequency=every,
    )
    pricing = popup(
        workspace,
        owner_actor,
        "Pricing help",
        triggers={"time_seconds": 0.3},
        targeting={"include": ["/pricing*"]},
    )
    docs = popup(
        workspace,
        owner_actor,
        "Docs tour",
        style="slide_in",
        triggers={"time_seconds": 2},
        targeting={"include": ["/docs/*"]},
        frequency=every,
    )
    url = site.write("spa.html", "<main id='app'>An app that routes with pushState.</main>")
    page = visit()

    def go(path: str) -> list[int]:
        """Navigates as a single-page app does, and answers what the new route armed."""
        page.evaluate("(path) => history.pushState({}, '', path)", path)
        page.wait_for_function("(path) => window.leadflowPopups.route === path", arg=path)
        return page.evaluate("window.leadflowPopups.armed")

    page.goto(url)
    assert armed(page) == [home.pk]
    assert go("/pricing") == [pricing.pk]  # the home offer's 60 s timer is gone with its route
    dialog = page.get_by_role("dialog", name="Pricing help")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    # Time on page counts per route: 1 s on /docs/a, then 1.4 s on /docs/b is not 2 s.
    assert go("/docs/a") == [docs.pk]
    page.wait_for_timeout(1000)
    assert go("/docs/b") == [docs.pk]
    page.wait_for_timeout(1400)
    expect(page.get_by_role("dialog")).to_have_count(0)
    tour = page.get_by_role("dialog", name="Docs tour")
    expect(tour).to_be_visible()
    tour.get_by_role("button", name="Close").click()

    # Back to /pricing (popstate): closed there, so the frequency rules keep it away.
    page.evaluate("history.go(-2)")
    page.wait_for_function("() => window.leadflowPopups.route === '/pricing'")
    assert page.evaluate("window.leadflowPopups.armed") == []
    assert page.evaluate("window.leadflowPopups.shown") == [pricing.pk, docs.pk]
    # One configuration request and one script for the whole visit.
    assert len([u for u in page.requested if "/e/popups?" in u]) == 1
    assert len([u for u in page.requested if "popups.js" in u]) == 1
    counted(home.pk, views=0)
    counted(pricing.pk, views=1, closes=1)
    assert page.javascript_errors == []
