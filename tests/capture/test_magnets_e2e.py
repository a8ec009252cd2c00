"""A lead magnet in a real browser across two origins: the form embedded by script on the
customer's site, the link on the thank-you screen and in the email aiosmtpd received, the
download counted, and an altered or expired link offering a fresh one."""

import re
import time
from pathlib import Path

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from leadflow.capture import magnet_links, magnets, services
from leadflow.capture.models import MagnetGrant
from leadflow.contacts.models import Activity

# The browser tests' Chromium and the customer's site (they fail, never skip).
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

from .test_embeds_e2e import customer_site, embeddable_form, visitor  # noqa: F401
from .test_notifications import run_worker, smtp, text_of  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n% the pricing guide\n" + b"x" * 500


class _PastSigner(signing.TimestampSigner):
    """Signs as if eight days ago (a link past the default seven)."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)


def expired_link(live_server, grant) -> str:
    token = _PastSigner(salt=magnet_links.MAGNET_SALT).sign_object(
        [grant.pk, grant.link_serial], compress=False
    )
    return f"{live_server.url}/m/{grant.magnet.key}/{token}/"


def test_a_magnet_reaches_the_lead_from_another_site_and_its_link_is_guarded(
    visitor,  # noqa: F811
    live_server,
    customer_site,  # noqa: F811
    embeddable_form,  # noqa: F811
    smtp,  # noqa: F811
    workspace,
    owner_actor,
):
    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "The pricing guide", "kind": "file"},
        file=SimpleUploadedFile("pricing-guide.pdf", PDF),
    )
    services.form_update(
        workspace=workspace,
        form_id=embeddable_form.pk,
        actor=owner_actor,
        data={"magnet_id": magnet.pk},
    )
    page_url = customer_site.page(
        "guide.html",
        "<p>Get the pricing guide.</p>"
        f'<script src="{live_server.url}/static/leadflow/form.js" '
        f'data-form="{embeddable_form.key}" async></script>',
    )
    visitor.goto(page_url)
    visitor.get_by_label("Work email").fill("jane@initech.com")
    visitor.get_by_label("First name").fill("Jane")
    visitor.get_by_label("Interest").select_option("Pricing")
    visitor.get_by_label("I agree that Acme").check()
    visitor.get_by_role("button", name="Send").click()
    offer = visitor.get_by_role("link", name="Download The pricing guide")
    expect(offer).to_be_visible(timeout=30_000)
    visitor.screenshot(path="/tmp/leadflow-magnet-thanks.png", full_page=True)
    assert offer.get_attribute("href").startswith(f"{live_server.url}/m/{magnet.key}/")

    with visitor.expect_download() as started:
        offer.click()
    assert Path(started.value.path()).read_bytes() == PDF
    assert started.value.suggested_filename == "pricing-guide.pdf"

    # The email, through a real SMTP server: once, with a link of its own that works too.
    run_worker()
    (message,) = smtp.to("jane@initech.com")
    link = re.search(r"(http://\S+/m/\S+/)", text_of(message)).group(1)
    assert link.startswith(live_server.url)
    with visitor.expect_download() as again:
        visitor.evaluate("url => { location.href = url; }", link)
    assert Path(again.value.path()).read_bytes() == PDF
    grant = MagnetGrant.objects.select_related("magnet").get()
    downloads = Activity.objects.filter(contact=grant.contact, kind="magnet.downloaded")
    assert downloads.count() == 2
    assert downloads.first().data == {"magnet_id": magnet.pk, "name": "The pricing guide"}

    # An altered link: nothing counted, no address shown; the lead asks for a fresh one.
    token = link.rstrip("/").rsplit("/", 1)[1]
    altered = link.replace(token, token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"))
    response = visitor.goto(altered)
    assert response.status == 404
    expect(visitor.get_by_role("heading")).to_have_text("This link is not valid.")
    visitor.screenshot(path="/tmp/leadflow-magnet-altered.png", full_page=True)
    visitor.set_viewport_size({"width": 390, "height": 800})
    visitor.screenshot(path="/tmp/leadflow-magnet-altered-390.png", full_page=True)
    visitor.get_by_label("Your email address").fill("jane@initech.com")
    visitor.get_by_role("button", name="Send me a fresh link").click()
    expect(visitor.get_by_role("status")).to_contain_text("a fresh one is on its way")
    assert "jane@initech.com" not in visitor.content()
    assert downloads.count() == 2

    # An expired link says so and renews with one click, without asking for the address.
    grant.refresh_from_db()
    response = visitor.goto(expired_link(live_server, grant))
    assert response.status == 410
    expect(visitor.get_by_role("heading")).to_have_text("This link has expired.")
    assert downloads.count() == 2

    run_worker()
    fresh = smtp.to("jane@initech.com")[-1]
    assert fresh["Subject"] == "Your new link: The pricing guide"
    assert len(smtp.to("jane@initech.com")) == 2  # the delivery went once
    fresh_link = re.search(r"(http://\S+/m/\S+/)", text_of(fresh)).group(1)
    assert visitor.goto(link).status == 410  # replaced by the fresh one
    with visitor.expect_download():
        visitor.evaluate("url => { location.href = url; }", fresh_link)
    assert downloads.count() == 3
    assert visitor.javascript_errors == []
