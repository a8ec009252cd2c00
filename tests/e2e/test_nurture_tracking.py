"""Tracking in Chromium: a person's browser follows the tracked link of an email a real
SMTP server (aiosmtpd) received, lands on the workspace's own site with ``lf_c``, and the
marketing email page then shows the message's counts, fits a phone and passes axe; the
same link followed by headless Chromium (what scanners run) is filtered."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import expect

from leadflow.contacts.models import Activity
from leadflow.nurture.models import Delivery, EmailEngagement
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.tracking_kinds import EMAIL_CLICKED
from tests.conftest import PASSWORD
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL
from tests.e2e.test_page_layout import AXE, AXE_RUN
from tests.nurture import sending_kit
from tests.tracking.helpers import CHROME

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_person_follows_a_tracked_link_and_the_page_counts_it(browser, live_server, workspace):
    cache.clear()
    controller, inbox = sending_kit.smtp_server()
    try:
        site = live_server.url
        workspace.allowed_origins = [site.lower()]
        workspace.save(update_fields=["allowed_origins"])
        message = sending_kit.message_make(workspace, port=controller.port)
        template = email_settings.template_create(
            workspace=workspace,
            data={
                "name": "Tracked",
                "subject": "Spring",
                "html_body": f'<p><a href="{site}/login/?from=email">Our offer</a></p>',
            },
        )
        message.template = template
        message.save(update_fields=["template"])
        (contact_id,) = sending_kit.contacts_make(workspace, 1)
        sending.message_send(message=message, contact_ids=[contact_id], base_url=site)
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        html = inbox.messages()[0].get_body(preferencelist=("html",)).get_content()
    finally:
        controller.stop()
    link = re.search(r'href="([^"]*/t/c/[^"]*)"', html).group(1)
    assert link.startswith(f"{site}/t/c/")
    path = urlsplit(link).path

    # Headless Chromium, as a security scanner runs it, within a second of the send.
    scanner = browser.new_context(base_url=site)
    scanner.new_page().goto(path)
    scanner.close()
    assert not EmailEngagement.objects.get().counted

    Delivery.objects.update(handed_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    person = browser.new_context(base_url=site, user_agent=CHROME, locale="en-US")
    person.add_init_script(path=str(AXE))
    page = person.new_page()
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login/\?from=email&lf_c=[^&]+$"))
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).count() == 1

    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/w/{workspace.slug}/settings/marketing-email/")
    table = page.get_by_role("table", name="Opens and clicks of the newest messages")
    row = table.get_by_role("row").filter(has_text=message.name)
    expect(row).to_have_text(re.compile(r"Spring news\s*1\s*0\s*1\s*1"))
    for width in (360, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0, width
        assert page.evaluate(AXE_RUN) == [], width
    person.close()
