"""A sequence in Chromium, as the marketer builds and runs it, at desktop and phone
widths: the settings (trigger and goal in the condition editor), the flow step by step
(email, wait, a branch and a step on its "Yes" way), activate, enrol a contact by email;
the worker sends the email to a real SMTP server (aiosmtpd); the contact clicks its
tracked link, which is the goal, and leaves converted; the flow shows the figures;
nothing scrolls sideways."""

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.nurture.models import Delivery, Enrollment, Sequence
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in
from tests.nurture import sending_kit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0 Safari/537.36"
)


def add_step(page, after_label: str, kind: str):
    page.get_by_role("link", name=after_label).last.click()
    page.get_by_role("link", name=kind, exact=True).click()


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_builds_a_sequence_and_a_contact_goes_through_it(page, workspace, width):
    controller, inbox = sending_kit.smtp_server()
    try:
        sending_kit.message_make(workspace, port=controller.port)
        ann = Contact.objects.create(
            workspace=workspace,
            email="ann@example.net",
            first_name="Ann",
            consent_status="granted",
            country="US",
        )
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, "owner@acme-widgets.com")
        page.goto(f"/w/{workspace.slug}/sequences/")
        page.get_by_role("link", name="Build your first sequence").click()
        page.get_by_label("Name").fill("Spring nurture")
        page.get_by_label("Trigger").select_option(label="Tag added")
        page.get_by_label("Tag (for “tag added”; empty: any tag)").fill("spring")
        goal = page.get_by_role(
            "group", name="Goal: a contact converts (and leaves) when they match"
        )
        # The goal: a click on a link of any of its emails.
        goal.get_by_label("Field of condition 1").select_option(value="email.clicked")
        goal.get_by_label("Operator of condition 1").select_option(value="at_least")
        goal.get_by_label("Value of condition 1").fill("1 within 30")
        page.get_by_label("Exit when the contact replies").check()
        helpers.shoot(page, "sequence-settings", width, top=True)
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_text("now add its steps")).to_be_visible()
        assert Sequence.objects.get().exit_on_reply is True

        add_step(page, "+ Add a step here", "Send email")
        page.get_by_label("Template").select_option(label="Spring")
        page.get_by_label("From", exact=True).select_option(index=1)
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_role("heading", name="Send email (step 1)")).to_be_visible()

        add_step(page, "+ Add a step after", "Wait")
        page.get_by_label("Amount").fill("0")
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_text("Give 1 minute to 365 days")).to_be_visible()  # shown, kept
        page.get_by_label("Amount").fill("3")
        page.get_by_label("Unit").select_option("days")
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_text("3 days")).to_be_visible()

        add_step(page, "+ Add a step after", "Branch on conditions")
        page.get_by_label("Field of condition 1").select_option(value="country")
        page.get_by_label("Value of condition 1").fill("US")
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_text("country is US")).to_be_visible()
        page.get_by_role("link", name="+ Add a step on “Yes” of step 3").click()
        page.get_by_role("link", name="Add a tag", exact=True).click()
        page.get_by_label("Tag").fill("american")
        page.get_by_role("button", name="Add the step").click()
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0

        page.get_by_role("button", name="Activate").click()
        expect(page.get_by_text("is active")).to_be_visible()
        page.get_by_label("Emails or contact ids").fill("ann@example.net")
        page.get_by_role("button", name="Enrol").click()
        expect(page.get_by_text("Enrolled 1 contact.")).to_be_visible()

        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        (received,) = inbox.messages()
        assert received["To"] == "ann@example.net" and received["Subject"] == "Hi Ann"
        page.reload()
        expect(page.get_by_role("link", name="1 waiting here")).to_be_visible()  # the wait
        helpers.shoot(page, "sequence-flow", width)

        # Ann reads it a while later and clicks its link (the tracked redirect).
        Delivery.objects.update(handed_at=timezone.now() - dt.timedelta(minutes=5))
        html = received.get_body(preferencelist=("html",)).get_content()
        path = re.search(r'href="https?://[^/"]+(/t/c/[^"]+)"', html).group(1)
        answer = page.request.get(path, headers={"User-Agent": CHROME}, max_redirects=0)
        assert answer.status == 302
        assert answer.headers["location"].startswith("https://acme-widgets.com/spring")
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        enrolment = Enrollment.objects.get(sequence=Sequence.objects.get(), contact=ann)
        assert enrolment.status == "converted"
        page.reload()
        expect(page.get_by_text("Met the goal", exact=True)).to_be_visible()
        expect(page.get_by_text("100% of those met the goal").first).to_be_visible()
        page.get_by_role("link", name="Enrolments").click()
        expect(page.get_by_role("cell", name="Met the goal")).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
        helpers.shoot(page, "sequence-enrolments", width)
    finally:
        controller.stop()
