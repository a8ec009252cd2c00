"""Settings → Chat channels in a real browser, on a desktop and on a phone: add a Telegram
channel with the keyboard and labels, read its webhook address and masked token, and add a
WhatsApp channel whose missing phone number id is named. Set LEADFLOW_SCREENSHOTS=<dir> to
keep screenshots."""

import pytest
from playwright.sync_api import expect

from leadflow.chat import services
from leadflow.chat.models import Channel
from tests.chat.channel_kit import secret_env
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TOKEN = "7000000001:AAH-browser-test-token-4f2a"


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_adds_channels_and_reads_what_to_paste(
    page, workspace, owner_actor, make_member, monkeypatch, width
):
    monkeypatch.setenv(secret_env(workspace, "SHOP_BOT"), TOKEN)
    services.flow_create(workspace=workspace, actor=owner_actor, data={"name": "Shop bot"})
    marketer = make_member("marketer")
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, marketer.user.email)
    page.goto(f"/w/{workspace.slug}/settings/chat-channels/")
    expect(page.get_by_role("heading", name="Chat channels")).to_be_visible()
    page.get_by_role("link", name="Add a channel").click()
    page.get_by_label("Platform").select_option("telegram")
    page.get_by_label("Name").fill("Shop on Telegram")
    page.get_by_label("Flow it runs").select_option(label="Shop bot (draft)")
    page.get_by_label("Token's environment variable").fill(secret_env(workspace, "SHOP_BOT"))
    page.get_by_label("Token's environment variable").press("Enter")
    expect(page.get_by_text("Channel saved.")).to_be_visible()
    channel = Channel.objects.get(workspace=workspace)
    table = page.get_by_role("region", name="Channels and their webhooks")
    expect(table).to_contain_text(f"/hooks/telegram/{channel.webhook_token}/")
    expect(table).to_contain_text("••••4f2a")
    assert TOKEN not in page.content()
    expect(page.get_by_role("button", name="Set webhook")).to_be_visible()
    shoot(page, "chat-channels", width, top=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 1

    page.get_by_role("link", name="Add a channel").click()
    page.get_by_label("Platform").select_option("whatsapp")
    page.get_by_label("Name").fill("Support on WhatsApp")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The phone number id is required.")).to_be_visible()
    shoot(page, "chat-channel-edit", width, top=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 1
    page.get_by_label("Phone number id or page id").fill("106540352242922")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Verify token:")).to_be_visible()
    assert Channel.objects.filter(workspace=workspace).count() == 2
