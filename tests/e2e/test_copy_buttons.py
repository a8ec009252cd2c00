"""Copy buttons in a real browser (one script, app.js, serves every page): a new API key's
example request, with the API reference linked from the page, and a form's embed snippet."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.capture import services as capture_services
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_new_key_and_an_embed_snippet_are_copied_to_the_clipboard(
    browser, live_server, workspace, owner, owner_actor
):
    form = capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Newsletter",
            "fields": [{"name": "email", "type": "email", "label": "Email", "maps_to": "email"}],
        },
    )
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))  # the home

    page.goto(f"/w/{workspace.slug}/settings/api-keys/")
    expect(page.get_by_role("link", name="API reference").first).to_have_attribute(
        "href", "/api/v1/docs"
    )
    page.get_by_label("Name").fill("Zapier")
    page.get_by_role("button", name="Create key").click()
    example = page.get_by_label("Try it: a request this key may make")
    expect(example).to_have_value(re.compile(r'^curl -H "Authorization: Bearer lf_'))
    page.get_by_role("button", name="Copy request").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == example.input_value()
    page.get_by_role("button", name="Copy key").click()
    assert (
        page.evaluate("navigator.clipboard.readText()") == page.locator("#id_secret").input_value()
    )

    page.goto(f"/w/{workspace.slug}/forms/{form.pk}/")
    snippet = page.locator("#embed-script")
    page.locator('[data-copy="embed-script"]').click()
    expect(page.locator('[data-copy="embed-script"]')).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == snippet.input_value()
    expect(page.locator('[data-copy="embed-script"]')).to_have_text("Copy")
    context.close()
