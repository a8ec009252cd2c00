"""A salesperson emails a lead in a real browser: opens the contact, picks a template, sees
the merged preview (and its warning about an empty field), sends, sees "queued" on the
timeline, and "sent" once the worker has handed the email to a real SMTP server."""

import pytest
from playwright.sync_api import expect

from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import PersonalEmail
from leadflow.sales.services import email_template_create
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(workspace, owner_actor, make_member):
    ann = make_member("sales", "ann@acme-widgets.com").user
    ann.full_name = "Ann Seller"
    ann.save()
    kim = contact_upsert(
        workspace=workspace,
        data={
            "first_name": "Kim",
            "email": "kim.lee-with-a-long-address@initech-industries.example.com",
            "job_title": "CTO",
            "owner_id": ann.pk,
        },
        actor=owner_actor,
    ).contact
    email_template_create(
        workspace=workspace,
        data={
            "name": "Demo follow-up",
            "subject": "Your demo, {{ first_name | there }}",
            "body": "Hi {{ first_name }} {{ last_name }},\n\nthanks for asking for a demo "
            "<today>.\n\n{{ sender_name }}",
        },
        actor=owner_actor,
    )
    return ann, kim


@pytest.mark.parametrize("width", [1440, 390])
def test_a_salesperson_picks_a_template_previews_sends_and_sees_it_sent(
    page,
    smtp,  # noqa: F811
    workspace,
    setup,
    width,
):
    ann, kim = setup
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, ann.email)
    page.goto(f"/w/{workspace.slug}/contacts/{kim.pk}/")
    page.get_by_role("link", name="Email", exact=True).click()

    compose = page.locator("#compose")
    expect(compose.get_by_role("heading", name="Email Kim")).to_be_visible()
    # The form came in by HTMX: wait until htmx has wired its inputs before using them.
    page.wait_for_function(
        "() => { const s = document.querySelector('#compose select[name=template_id]');"
        " return !!(s && s['htmx-internal-data'] && s['htmx-internal-data'].initHash); }"
    )
    compose.get_by_label("Template").select_option(label="Demo follow-up")
    # The template comes back from the server (a busy CI machine may take seconds).
    expect(compose.get_by_label("Subject")).to_have_value(
        "Your demo, {{ first_name | there }}", timeout=20_000
    )
    preview = compose.locator(".compose-preview")
    expect(preview).to_contain_text("Your demo, Kim")
    expect(preview).to_contain_text("thanks for asking for a demo <today>.")  # as text
    expect(preview).to_contain_text("Ann Seller")
    expect(preview.locator(".flash-warning")).to_contain_text("last_name")

    # Typing changes the preview live; the empty last name gets a fallback.
    body = compose.get_by_label("Message")
    body.fill(body.input_value().replace("{{ last_name }}", "{{ last_name | }}"))
    body.fill(body.input_value().replace("{{ last_name | }}", ""))
    expect(preview.locator(".flash-warning")).to_have_count(0)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "email-compose", width)

    compose.get_by_role("button", name="Send email").click()
    expect(page.locator("#compose")).to_contain_text("queued")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Email queued: Your demo, Kim")
    assert smtp.messages == []

    run_worker()  # the database worker, in-process: hands the email to the SMTP server
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("Email sent: Your demo, Kim")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "email-sent", width, top=True)

    [message] = smtp.messages
    assert message["From"].startswith("Ann Seller <")
    assert message["Reply-To"] == ann.email
    assert "thanks for asking for a demo <today>." in text_of(message)
    assert PersonalEmail.objects.get().status == "sent"
    assert page.javascript_errors == []


def test_the_templates_settings_page_fits_a_phone(page, workspace, setup):
    ann, _ = setup
    page.set_viewport_size({"width": 390, "height": 900})
    log_in(page, ann.email)
    page.goto(f"/w/{workspace.slug}/settings/email-templates/")
    expect(page.get_by_role("heading", name="Email templates")).to_be_visible()
    page.get_by_text("Merge fields").first.click()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "email-templates", 390, top=True)
