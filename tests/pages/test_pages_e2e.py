"""A landing page in Chromium: a visitor comes from a second origin (a link with UTM tags
and a click id), keeps the variant across reloads, sees no layout shift and sized images,
sends the form; the lead keeps the campaign, and the variant is credited."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from leadflow.capture.magnets import magnet_create
from leadflow.capture.models import Submission
from leadflow.capture.services import form_create, form_update
from leadflow.contacts.models import Contact
from leadflow.pages import services
from leadflow.pages.models import Conversion, Variant

# The browser tests' Chromium (it fails, never skips, when the browser is missing).
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401
from tests.e2e.helpers import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Cumulative layout shift as Lighthouse counts it (shifts right after input excluded), and
# what moved, to say which element shifted when it fails.
CLS_OBSERVER = """
window.__cls = 0; window.__shifted = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (entry) {
    if (entry.hadRecentInput) return;
    window.__cls += entry.value;
    entry.sources.forEach(function (source) {
      window.__shifted.push(source.node ? source.node.outerHTML.slice(0, 80) : "?");
    });
  });
}).observe({ type: "layout-shift", buffered: true });
"""
NO_SHIFT = "window.__cls < 0.01 || window.__shifted"
UNSIZED = "[...document.images].filter(i => !i.getAttribute('width') || !i.getAttribute('height'))"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_a_visitor_from_another_site_converts_on_a_published_page(
    browser,  # noqa: F811 - the fixture imported above
    live_server,
    workspace,
    owner_actor,
    tmp_path,
):
    form = form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Guide request",
            "min_fill_seconds": 1,
            "fields": [
                {"name": "email", "type": "email", "label": "Work email", "required": True},
                {"name": "first_name", "type": "text", "label": "First name"},
            ],
        },
    )
    sheet = magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "The planning sheet", "kind": "url", "url": "https://example.com/sheet"},
    )
    form_update(
        workspace=workspace, form_id=form.pk, actor=owner_actor, data={"magnet_id": sheet.pk}
    )
    page = services.page_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Spring guide", "slug": "spring-guide", "form_id": form.pk},
    )
    variant_a = Variant.objects.get(page=page)
    hero = {
        "type": "hero",
        "heading": "The spring planning guide",
        "text": "Twenty pages on planning a season.",
        "cta_label": "Get it",
        "image_url": f"{live_server.url}/static/leadflow/favicon.svg",
        "image_alt": "",
        "image_width": 480,
        "image_height": 320,
    }
    services.variant_update(
        workspace=workspace,
        page_id=page.pk,
        variant_id=variant_a.pk,
        actor=owner_actor,
        data={"blocks": [hero, *variant_a.blocks[1:]]},
    )
    services.variant_create(workspace=workspace, page_id=page.pk, actor=owner_actor)
    services.page_publish(
        workspace=workspace, page_id=page.pk, actor=owner_actor, base_url=live_server.url
    )
    address = f"{live_server.url}/lp/{workspace.slug}/spring-guide/"
    (tmp_path / "news.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>News</title></head>"
        f"<body><a href='{address}?utm_source=newsletter&utm_medium=email"
        "&utm_campaign=spring&gclid=click-1'>Read the guide</a></body></html>"
    )
    site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=tmp_path))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.add_init_script(CLS_OBSERVER)
    tab = context.new_page()
    try:
        tab.goto(f"http://127.0.0.1:{site.server_address[1]}/news.html")
        tab.get_by_role("link", name="Read the guide").click()
        expect(tab.get_by_role("heading", level=1)).to_be_visible()
        shown = tab.locator("input[name=_lf_variant]").get_attribute("value")
        for _ in range(2):  # the same browser keeps its variant
            tab.reload()
            assert tab.locator("input[name=_lf_variant]").get_attribute("value") == shown
        assert tab.evaluate(UNSIZED + ".length") == 0
        tab.wait_for_function("window.leadflow && window.leadflow.visitorId")
        assert tab.evaluate(NO_SHIFT) is True
        shoot(tab, "landing-page", 1440)
        tab.get_by_label("Work email").fill("nina@initech.com")
        tab.get_by_label("First name").fill("Nina")
        tab.get_by_role("button", name=form.submit_label).click()
        expect(tab.get_by_role("status")).to_contain_text(form.success_message[:20])
        # The form's lead magnet comes with the thank-you, as a link of this server.
        link = tab.get_by_role("link", name="Open The planning sheet")
        assert link.get_attribute("href").startswith(f"{live_server.url}/m/")
        assert tab.evaluate(NO_SHIFT) is True
        visitor = tab.evaluate("window.leadflow.visitorId")
        tab.set_viewport_size({"width": 390, "height": 844})
        tab.goto(address)
        shoot(tab, "landing-page", 390)
    finally:
        context.close()
        site.shutdown()
        site.server_close()
    submission = Submission.objects.get(form=form)
    assert submission.status == "accepted"
    assert submission.utm == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
    }
    assert "gclid=click-1" in submission.page_url
    assert submission.referrer.startswith("http://127.0.0.1:")
    assert submission.visitor_id == visitor != ""
    contact = Contact.objects.get(workspace=workspace, email="nina@initech.com")
    assert contact.first_touch_campaign == "spring"
    assert Conversion.objects.get().variant_id == int(shown)
