"""The email template editor in Chromium at desktop and phone widths: a marketer builds a
template from three blocks (header, text, button), reorders them with the keyboard,
previews it as a contact found by name (the offer filled with a sample code), switches
the preview to phone width, saves, and sends a test to a real SMTP server (aiosmtpd). A
template's script never runs in the preview (the frame is sandboxed)."""

import json
import os

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.nurture.models import MarketingTemplate
from leadflow.nurture.services import settings as email_settings
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in
from tests.nurture import sending_kit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_builds_previews_saves_and_test_sends_a_template(page, workspace, width):
    controller, inbox = sending_kit.smtp_server()
    try:
        sending_kit.message_make(workspace, port=controller.port)
        Contact.objects.create(
            workspace=workspace, email="kim.lee@initech.com", first_name="Kim", last_name="Lee"
        )
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, "owner@acme-widgets.com")
        page.goto(f"/w/{workspace.slug}/")
        page.get_by_role("link", name="Email templates").first.click()
        expect(page.get_by_role("heading", name="Email templates", exact=True)).to_be_visible()
        page.get_by_label("Name").fill("Welcome")
        page.get_by_label("Write it as").select_option("blocks")
        page.get_by_role("button", name="Make template").click()
        expect(page.get_by_role("heading", name="Welcome", exact=True)).to_be_visible()

        # Start from nothing: delete the starter's four blocks, then add three.
        expect(page.locator("#te-blocks > li")).to_have_count(4)
        while page.locator("#te-blocks > li").count():
            page.locator("#te-blocks > li").first.get_by_role("button", name="Delete").click()
        for kind in ("Header", "Button", "Text"):
            page.get_by_label("Add a block").select_option(label=kind)
            page.get_by_role("button", name="Add block").click()
        page.get_by_label("Text (Block 1: Header)", exact=True).fill("Spring at Acme")
        page.get_by_label("Label (Block 2: Button)", exact=True).fill("Shop the range")
        page.get_by_label("Link (URL) (Block 2: Button)", exact=True).fill(
            "https://acme-widgets.com/spring"
        )
        # Move the text above the button, from the keyboard.
        move = page.get_by_role("button", name="Move Block 3: Text up")
        move.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#te-blocks > li h3")).to_have_text(
            ["Block 1: Header", "Block 2: Text", "Block 3: Button"]
        )
        page.get_by_label("Text (Block 2: Text)", exact=True).fill(
            'Hi {{ contact.first_name|default:"there" }}, your code is {{ offer.code }}.'
        )

        # Preview as Kim, found by name.
        page.get_by_label("Find a contact").fill("Kim")
        page.get_by_label("Preview as").select_option(label="Kim Lee <kim.lee@initech.com>")
        preview = page.frame_locator("#te-preview")
        expect(preview.get_by_text("Hi Kim, your code is SAMPLE-CODE.")).to_be_visible()
        expect(preview.get_by_text("Spring at Acme")).to_be_visible()
        expect(page.locator("#te-preview-status")).to_contain_text("Kim Lee")
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
        helpers.shoot(page, "template-editor", width, top=True)

        page.get_by_label("Phone").check()
        expect(page.locator("#te-preview")).to_have_class("te-preview te-mobile")
        frame_width = page.locator("#te-preview").evaluate("node => node.clientWidth")
        assert frame_width <= 375

        page.get_by_role("button", name="Save template").click()
        expect(page.get_by_text("Template saved.")).to_be_visible()
        template = MarketingTemplate.objects.get(workspace=workspace, name="Welcome")
        assert [block["type"] for block in template.blocks] == ["header", "text", "button"]
        assert "Shop the range" in template.html_body
        assert "https://acme-widgets.com/spring" in template.html_body

        page.get_by_label("Find a contact").fill("Kim")
        page.get_by_label("Preview as").select_option(label="Kim Lee <kim.lee@initech.com>")
        page.get_by_label("Send to").fill("me@acme-widgets.com")
        page.get_by_role("button", name="Send test").click()
        expect(page.get_by_text("Test email sent to me@acme-widgets.com.")).to_be_visible()
        (received,) = inbox.messages()
        assert received["Subject"] == "[Test] News from us"
        assert "Hi Kim, your code is SAMPLE-CODE." in received.get_body(("plain",)).get_content()
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
        helpers.shoot(page, "template-editor-saved", width, top=True)
        if os.environ.get("LEADFLOW_SCREENSHOTS"):
            page.locator(".preview-card").screenshot(
                path=f"{os.environ['LEADFLOW_SCREENSHOTS']}/template-preview-{width}.png"
            )
    finally:
        controller.stop()


def test_a_templates_script_never_runs_in_the_preview(page, workspace):
    hostile = email_settings.template_create(
        workspace=workspace,
        data={
            "name": "Hostile",
            "subject": "x",
            "html_body": (
                "<p>Hello</p><script>parent.document.title = 'pwned';</script>"
                '<img src="x" onerror="top.document.title = \'pwned\'">'
            ),
        },
    )
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/marketing-templates/{hostile.pk}/")
    expect(page.frame_locator("#te-preview").get_by_text("Hello")).to_be_visible()
    page.get_by_label("HTML").fill(json.dumps("<p>Again</p><script>top.x=1</script>")[1:-1])
    expect(page.frame_locator("#te-preview").get_by_text("Again")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.evaluate("document.title") != "pwned"
    assert page.evaluate("window.x") is None
    sandbox = page.locator("#te-preview").get_attribute("sandbox")
    assert sandbox == ""  # no allow-scripts, no allow-same-origin


def test_a_refused_save_marks_the_block_field_and_keeps_the_edits(page, workspace):
    template = email_settings.template_create(
        workspace=workspace,
        data={
            "name": "Launch",
            "subject": "x",
            "blocks": [{"type": "button", "label": "Go", "href": "https://acme-widgets.com/"}],
        },
    )
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/marketing-templates/{template.pk}/")
    link = page.get_by_label("Link (URL) (Block 1: Button)", exact=True)
    link.fill("ftp://acme-widgets.com/")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("The template was not saved.")).to_be_visible()
    link = page.get_by_label("Link (URL) (Block 1: Button)", exact=True)
    expect(link).to_have_value("ftp://acme-widgets.com/")
    expect(link).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".te-block .error")).to_contain_text("https://")
    template.refresh_from_db()
    assert template.blocks[0]["href"] == "https://acme-widgets.com/"
