"""Settings → Marketing email in Chromium at desktop and phone widths: add an identity,
point the workspace at a real SMTP server (aiosmtpd), send a test, and drop an unknown
delivery from the review list; the page never scrolls sideways."""

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.nurture.models import Delivery
from leadflow.nurture.services import sending
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in
from tests.nurture import sending_kit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_an_owner_sets_up_sending_tests_it_and_reviews_an_unknown_delivery(page, workspace, width):
    controller, inbox = sending_kit.smtp_server()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        Contact.objects.create(
            workspace=workspace, email="ann@example.net", consent_status="granted"
        )
        sending.message_send(
            message=message, contact_ids=Contact.objects.values_list("id", flat=True)
        )
        Delivery.objects.update(status="unknown", address="ann@example.net")

        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, "owner@acme-widgets.com")
        page.goto(f"/w/{workspace.slug}/settings/marketing-email/")
        expect(page.get_by_role("heading", name="Deliveries to review (1)")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0

        page.get_by_label("From name").fill("Offers")
        page.get_by_label("From address").fill("offers@acme-widgets.com")
        page.get_by_role("button", name="Add identity").click()
        expect(page.get_by_text("Sending identity added.")).to_be_visible()
        expect(page.get_by_role("cell", name="Offers <offers@acme-widgets.com>")).to_be_visible()

        page.get_by_label("From", exact=True).select_option(
            label="Offers <offers@acme-widgets.com>"
        )
        page.get_by_label("Send a test to").fill("me@acme-widgets.com")
        page.get_by_role("button", name="Send a test").click()
        expect(page.get_by_text("Test email sent")).to_be_visible()
        (received,) = inbox.messages()
        assert received["From"] == "Offers <offers@acme-widgets.com>"
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
        helpers.shoot(page, "nurture-email-settings", width, top=True)

        page.get_by_label("Choose the delivery to ann@example.net").check()
        page.get_by_role("button", name="Drop chosen").click()
        expect(page.get_by_text("1 delivery(ies) dropped.")).to_be_visible()
        expect(page.get_by_role("heading", name="Deliveries to review (0)")).to_be_visible()
        assert Delivery.objects.get().status == "dropped"
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    finally:
        controller.stop()
