"""Settings → Chat policy in a real browser, on a desktop and on a phone: an admin changes the
retention and a threshold with the keyboard alone, a bad margin is refused beside its field,
the calibrated values are shown beside the overrides, and a transcript deleted by retention
says so. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.chat import selectors, services
from leadflow.chat.models import Conversation
from tests.chat.test_retention import publish as publish_flow
from tests.chat.test_retention import say
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_an_admin_sets_the_chat_policy_with_the_keyboard(page, workspace, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/settings/chat-policy/")
    expect(page.get_by_role("heading", name="Chat policy")).to_be_visible()
    expect(page.get_by_role("cell", name="0.48").first).to_be_visible()  # calibrated values
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "chat-policy", width, top=True)

    page.get_by_label("Days, when the visitor is known").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("200")
    page.keyboard.press("Tab")  # to the anonymous days
    page.keyboard.press("Tab")  # to the chats per person
    page.keyboard.press("Tab")  # into the calibrated table's region
    page.keyboard.press("Tab")  # to the answer floor
    page.keyboard.type("0.6")
    page.keyboard.press("Tab")
    page.keyboard.type("0.9")  # margin: above 0.5
    page.keyboard.press("Enter")
    margin = page.get_by_label("Margin over the second entry")
    expect(margin).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_kb_margin_error")).to_contain_text("A number from 0 to 0.5")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "chat-policy-refused", width, top=True)
    assert selectors.chat_settings_get(workspace).retention_days == 365  # nothing saved

    margin.fill("")
    margin.press("Enter")
    expect(page.get_by_text("Saved the chat policy.")).to_be_visible()
    saved = selectors.chat_settings_get(workspace)
    assert (saved.retention_days, saved.kb_answer_floor, saved.kb_margin) == (200, 0.6, None)
    # The refused save answered 422, which the console reports; nothing else went wrong.
    assert [error for error in page.javascript_errors if "status of 422" not in error] == []


@pytest.mark.parametrize("width", [1440, 390])
def test_a_transcript_deleted_by_retention_says_so(page, workspace, owner_actor, width):
    publish_flow(workspace, owner_actor)
    started = services.conversation_start(workspace=workspace)
    for text in ("Ann", "ann@initech.com"):
        say(workspace, started.token, text)
    Conversation.objects.filter(pk=started.conversation.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=400)
    )
    assert services.transcripts_prune().conversations == 1
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/chat/conversations/{started.conversation.pk}/")
    expect(page.get_by_role("heading", name="Transcript deleted")).to_be_visible()
    expect(page.get_by_text("deleted by the workspace's retention policy")).to_be_visible()
    expect(page.get_by_role("link", name="Change how long transcripts are kept")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "chat-transcript-deleted", width, top=True)
