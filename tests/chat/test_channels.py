"""Messenger channels end to end: the platforms' webhooks (real-shaped fixture bodies,
signatures made in the test), the bot run through the conversation services, and the
replies sent to a local HTTP server standing in for api.telegram.org and
graph.facebook.com. No network, no mocks of our database or queue."""

import copy
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from leadflow.chat import channel_platforms as platforms
from leadflow.chat import services
from leadflow.chat.channel_platforms import Inbound
from leadflow.chat.models import Conversation, ConversationStatus, Message
from leadflow.chat.services.channel_delivery import channel_deliver
from leadflow.chat.services.channels import (
    channel_create,
    channel_inbound_receive,
    channel_telegram_secret,
    channel_update,
    channel_verify_token,
)
from leadflow.chat.tasks import channel_callback_answer_task
from leadflow.contacts.models import Contact
from tests.chat import channel_kit
from tests.chat.channel_kit import (
    ACCESS_TOKEN,
    BOT_TOKEN,
    PAGE_ID,
    PHONE_NUMBER_ID,
    fixture,
    run_deliveries,
    secret_env,
    signed,
)
from tests.chat.knowledge_helpers import run_queued

platform = channel_kit.platform  # the stand-in platform (a fixture)

GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi! A few questions.", "next": "email"},
        {
            "id": "email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "role",
        },
        {
            "id": "role",
            "kind": "question",
            "text": "Your role?",
            "input": "choice",
            "field": "job_title",
            "choices": [{"value": "Founder"}, {"value": "Marketer"}],
            "next": "phone",
        },
        {
            "id": "phone",
            "kind": "question",
            "text": "Your phone?",
            "input": "phone",
            "field": "phone",
            "next": "bye",
        },
        {"id": "bye", "kind": "end", "text": "Thanks, talk soon!"},
    ],
}


@pytest.fixture
def flow(workspace, owner_actor):
    flow = services.flow_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Messenger bot", "graph": GRAPH, "status": "active"},
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    return flow


def make_channel(workspace, actor, flow, kind, **data):
    values = {"kind": kind, "name": f"Acme {kind}", "flow": flow.pk, "token_env": ""}
    if kind == "telegram":
        values["token_env"] = secret_env(workspace, "BOT")
    else:
        values.update(
            token_env=secret_env(workspace, "ACCESS"),
            app_secret_env=secret_env(workspace, "APP_SECRET"),
            account_id=PHONE_NUMBER_ID if kind == "whatsapp" else PAGE_ID,
        )
    return channel_create(workspace=workspace, actor=actor, data={**values, **data})


@pytest.fixture
def telegram(workspace, owner_actor, flow):
    return make_channel(workspace, owner_actor, flow, "telegram")


@pytest.fixture
def whatsapp(workspace, owner_actor, flow):
    return make_channel(workspace, owner_actor, flow, "whatsapp")


@pytest.fixture
def messenger(workspace, owner_actor, flow):
    return make_channel(workspace, owner_actor, flow, "messenger")


def tg_post(channel, body, secret=None):
    return Client().post(
        f"/hooks/telegram/{channel.webhook_token}/",
        data=json.dumps(body) if isinstance(body, dict) else body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": secret or channel_telegram_secret(channel)},
    )


def meta_post(channel, body, signature=None):
    raw, good = signed(body)
    return Client().post(
        f"/hooks/{channel.kind}/{channel.webhook_token}/",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature if signature is not None else good},
    )


def sent(platform):
    """What was sent: (path, body) for each request the stand-in received."""
    return [(path, body) for path, body, _ in platform.received]


def texts(platform, key="text"):
    found = []
    for _, body in sent(platform):
        if "chat_id" in body:
            found.append(body["text"])
        elif "recipient" in body:
            found.append(body["message"]["text"])
        elif body.get("type") == "text":
            found.append(body["text"]["body"])
        elif "interactive" in body:
            found.append(body["interactive"]["body"]["text"])
    return found


# --- Telegram -------------------------------------------------------------------------------


def test_a_telegram_chat_captures_the_lead_answer_by_answer(workspace, telegram, platform):
    assert tg_post(telegram, fixture("telegram_start")).status_code == 200
    assert run_deliveries() >= 1
    assert texts(platform) == ["Hi! A few questions.", "Your email?"]
    path, body = sent(platform)[0]
    assert path == f"/bot{BOT_TOKEN}/sendMessage" and body["chat_id"] == "5550001"

    answer = tg_post(telegram, fixture("telegram_text"))
    assert answer.status_code == 200 and answer.json()["received"] == ["stored"]
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    conversation = Conversation.objects.get(channel=telegram, external_id="5550001")
    assert conversation.contact_id == contact.pk
    run_deliveries()
    _, question = sent(platform)[-1]
    assert question["text"] == "Your role?"
    assert question["reply_markup"]["inline_keyboard"] == [
        [{"text": "Founder", "callback_data": "Founder"}],
        [{"text": "Marketer", "callback_data": "Marketer"}],
    ]

    assert tg_post(telegram, fixture("telegram_callback")).json()["received"] == ["stored"]
    contact.refresh_from_db()
    assert contact.job_title == "Founder"
    run_queued(channel_callback_answer_task)
    path, body = sent(platform)[-1]  # the button's spinner stops
    assert path == f"/bot{BOT_TOKEN}/answerCallbackQuery"
    assert body == {"callback_query_id": "4382bfdwdsb323b2d9"}
    run_deliveries()
    _, phone_question = sent(platform)[-1]
    assert phone_question["reply_markup"]["keyboard"][0][0]["request_contact"] is True

    assert tg_post(telegram, fixture("telegram_contact")).json()["received"] == ["stored"]
    contact.refresh_from_db()
    assert contact.phone == "+447911123456"
    run_deliveries()
    assert texts(platform)[-1] == "Thanks, talk soon!"
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CLOSED
    transcript = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    assert [m.author for m in transcript][:3] == ["visitor", "bot", "bot"]  # /start first
    bot = [m for m in transcript if m.author == "bot"]
    assert all(m.payload["delivery"]["status"] == "sent" for m in bot)
    assert all(m.payload["delivery"]["id"] for m in bot)


def test_a_retried_telegram_update_stores_once(workspace, telegram, platform):
    tg_post(telegram, fixture("telegram_start"))
    first = tg_post(telegram, fixture("telegram_text"))
    again = tg_post(telegram, fixture("telegram_text"))
    assert first.json()["received"] == ["stored"]
    assert again.status_code == 200 and again.json()["received"] == ["duplicate"]
    conversation = Conversation.objects.get(channel=telegram)
    assert Message.objects.filter(conversation=conversation, author="visitor").count() == 2
    assert Conversation.objects.filter(channel=telegram).count() == 1


def test_a_second_start_in_a_running_chat_changes_nothing(workspace, telegram, platform):
    tg_post(telegram, fixture("telegram_start"))
    again = copy.deepcopy(fixture("telegram_start"))
    again["update_id"] += 100
    assert tg_post(telegram, again).json()["received"] == ["ignored"]
    assert Message.objects.filter(conversation__channel=telegram).count() == 3


def test_telegram_refuses_a_wrong_secret_an_unknown_token_and_a_bad_body(telegram, platform):
    assert tg_post(telegram, fixture("telegram_start"), secret="nope").status_code == 403
    no_header = Client().post(
        f"/hooks/telegram/{telegram.webhook_token}/",
        data=json.dumps(fixture("telegram_start")),
        content_type="application/json",
    )
    assert no_header.status_code == 403
    assert Conversation.objects.count() == 0
    unknown = Client().post(
        "/hooks/telegram/0123456789abcdef/", data="{}", content_type="application/json"
    )
    assert unknown.status_code == 404
    assert tg_post(telegram, "{not json").status_code == 400
    assert tg_post(telegram, {"message": {"text": "no update id"}}).status_code == 400
    assert tg_post(telegram, {"update_id": 5, "message": "text"}).status_code == 400
    assert tg_post(telegram, [1, 2]).status_code == 400
    # An edit is read and skipped.
    edited = tg_post(telegram, fixture("telegram_edited"))
    assert edited.status_code == 200 and edited.json()["received"] == []
    assert Conversation.objects.count() == 0


def test_a_disabled_channel_or_one_without_a_flow_stores_nothing(
    workspace, owner_actor, telegram, platform
):
    channel_update(
        workspace=workspace, channel_id=telegram.pk, data={"enabled": False}, actor=owner_actor
    )
    assert tg_post(telegram, fixture("telegram_start")).json()["received"] == ["ignored"]
    channel_update(
        workspace=workspace,
        channel_id=telegram.pk,
        data={"enabled": True, "flow": None},
        actor=owner_actor,
    )
    assert tg_post(telegram, fixture("telegram_start")).json()["received"] == ["ignored"]
    assert Conversation.objects.count() == 0


def test_a_regenerated_webhook_token_retires_the_old_address_and_secret(
    workspace, owner_actor, telegram, platform
):
    old_token, old_secret = telegram.webhook_token, channel_telegram_secret(telegram)
    changed = channel_update(
        workspace=workspace,
        channel_id=telegram.pk,
        data={},
        actor=owner_actor,
        regenerate_token=True,
    )
    assert changed.webhook_token != old_token
    assert channel_telegram_secret(changed) != old_secret
    gone = Client().post(
        f"/hooks/telegram/{old_token}/",
        data=json.dumps(fixture("telegram_start")),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": old_secret},
    )
    assert gone.status_code == 404
    assert tg_post(changed, fixture("telegram_start"), secret=old_secret).status_code == 403


# --- WhatsApp --------------------------------------------------------------------------------


def test_whatsapp_answers_meta_s_verification_with_the_verify_token_only(whatsapp):
    url = f"/hooks/whatsapp/{whatsapp.webhook_token}/"
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": channel_verify_token(whatsapp),
        "hub.challenge": "1158201444",
    }
    answer = Client().get(url, good)
    assert answer.status_code == 200 and answer.content == b"1158201444"
    assert Client().get(url, {**good, "hub.verify_token": "guess"}).status_code == 403
    assert Client().get(url, {**good, "hub.mode": "unsubscribe"}).status_code == 403


def test_a_whatsapp_chat_runs_the_flow_with_reply_buttons(workspace, whatsapp, platform):
    answer = meta_post(whatsapp, fixture("whatsapp_text"))
    assert answer.status_code == 200 and answer.json()["received"] == ["started"]
    run_deliveries()
    path, body = sent(platform)[0]
    assert path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert platform.received[0][2]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert body["to"] == "447400123456" and body["text"]["body"] == "Hi! A few questions."
    conversation = Conversation.objects.get(channel=whatsapp)
    # The opening "Hello" is in the transcript, before the greeting, and answers nothing.
    first = Message.objects.get(conversation=conversation, seq=1)
    assert (first.author, first.text) == ("visitor", "Hello")
    assert conversation.current_step == "email"

    email = copy.deepcopy(fixture("whatsapp_text"))
    message = email["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = "wamid.EMAIL0000000000001", "sheena@initech.com"
    assert meta_post(whatsapp, email).json()["received"] == ["stored"]
    assert Contact.objects.filter(workspace=workspace, email="sheena@initech.com").exists()
    run_deliveries()
    _, buttons = sent(platform)[-1]
    assert buttons["type"] == "interactive" and buttons["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in buttons["interactive"]["action"]["buttons"]] == [
        "Founder",
        "Marketer",
    ]
    assert meta_post(whatsapp, fixture("whatsapp_button")).json()["received"] == ["stored"]
    run_deliveries()
    _, phone_question = sent(platform)[-1]  # the number they write from, as a button
    assert phone_question["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "+447400123456", "title": "Use this number"}}
    ]
    assert (
        Contact.objects.get(workspace=workspace, email="sheena@initech.com").job_title == "Marketer"
    )
    assert meta_post(whatsapp, fixture("whatsapp_contacts")).json()["received"] == ["stored"]
    assert (
        Contact.objects.get(workspace=workspace, email="sheena@initech.com").phone
        == "+447400123456"
    )
    # A retried delivery of the same notification stores nothing more.
    assert meta_post(whatsapp, fixture("whatsapp_button")).json()["received"] == ["duplicate"]
    assert Message.objects.filter(conversation=conversation, author="visitor").count() == 4


def test_whatsapp_statuses_are_read_and_skipped(whatsapp, platform):
    answer = meta_post(whatsapp, fixture("whatsapp_status"))
    assert answer.status_code == 200 and answer.json()["received"] == []
    assert Conversation.objects.count() == 0


def test_whatsapp_refuses_a_bad_signature_and_a_body_it_cannot_read(whatsapp, platform):
    body = fixture("whatsapp_text")
    assert meta_post(whatsapp, body, signature="sha256=" + "0" * 64).status_code == 403
    assert meta_post(whatsapp, body, signature="").status_code == 403
    _, other = signed(body, secret="another-apps-secret")
    assert meta_post(whatsapp, body, signature=other).status_code == 403
    # The signature is over the raw bytes: the same JSON re-spaced no longer matches.
    _, signature = signed(body)
    respaced = Client().post(
        f"/hooks/whatsapp/{whatsapp.webhook_token}/",
        data=json.dumps(body, indent=2).encode(),
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )
    assert respaced.status_code == 403
    assert Conversation.objects.count() == 0
    assert meta_post(whatsapp, b"{broken").status_code == 400
    assert meta_post(whatsapp, {"object": "page", "entry": []}).status_code == 400
    assert (
        meta_post(whatsapp, {"object": "whatsapp_business_account", "entry": "x"}).status_code
        == 400
    )


def test_a_channel_without_its_app_secret_refuses_every_post(
    workspace, owner_actor, flow, monkeypatch, platform
):
    monkeypatch.delenv(secret_env(workspace, "APP_SECRET"))
    channel = make_channel(workspace, owner_actor, flow, "whatsapp")
    assert meta_post(channel, fixture("whatsapp_text")).status_code == 403


# --- Messenger -------------------------------------------------------------------------------


def test_a_messenger_chat_uses_quick_replies_and_skips_echoes(workspace, messenger, platform):
    assert meta_post(messenger, fixture("messenger_echo")).json()["received"] == []
    assert meta_post(messenger, fixture("messenger_text")).json()["received"] == ["started"]
    run_deliveries()
    path, body = sent(platform)[-1]
    assert path == f"/v21.0/{PAGE_ID}/messages"
    assert body["recipient"] == {"id": "6543210987654321"}
    assert body["message"] == {
        "text": "Your email?",
        "quick_replies": [{"content_type": "user_email"}],
    }
    assert meta_post(messenger, fixture("messenger_quick_reply")).json()["received"] == ["stored"]
    assert Contact.objects.filter(workspace=workspace, email="ann@initech.com").exists()
    run_deliveries()
    _, choice = sent(platform)[-1]
    assert [q["payload"] for q in choice["message"]["quick_replies"]] == ["Founder", "Marketer"]
    # Messenger's long mid is hashed into the client id; a retry still stores once.
    assert meta_post(messenger, fixture("messenger_quick_reply")).json()["received"] == [
        "duplicate"
    ]


# --- sending ---------------------------------------------------------------------------------


def test_a_rate_limit_is_retried_later_and_each_message_is_sent_once(workspace, telegram, platform):
    platform.refusals = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
    ]
    tg_post(telegram, fixture("telegram_start"))
    conversation = Conversation.objects.get(channel=telegram)
    due = channel_deliver(conversation_id=conversation.pk)
    assert due is not None
    greeting = Message.objects.get(conversation=conversation, seq=2)
    assert greeting.payload["delivery"]["status"] == "retry"
    assert BOT_TOKEN not in json.dumps(greeting.payload)
    # Order holds: the question after it waits for the greeting.
    assert "delivery" not in Message.objects.get(conversation=conversation, seq=3).payload
    assert channel_deliver(conversation_id=conversation.pk) is None  # not due yet
    assert len(platform.received) == 1
    channel_deliver(conversation_id=conversation.pk, now=due)
    assert texts(platform) == ["Hi! A few questions.", "Hi! A few questions.", "Your email?"]
    # A retried task sends nothing again.
    channel_deliver(conversation_id=conversation.pk, now=due)
    run_deliveries()
    assert len(platform.received) == 3
    greeting.refresh_from_db()
    assert greeting.payload["delivery"]["status"] == "sent"
    assert greeting.payload["delivery"]["attempts"] == 2


def test_a_permanent_refusal_is_recorded_on_the_message_and_the_rest_goes_on(
    workspace, owner, whatsapp, platform
):
    platform.refusals = [
        (
            400,
            {
                "error": {
                    "message": "(#131030) Recipient phone number not in allowed list",
                    "type": "OAuthException",
                    "code": 131030,
                }
            },
        )
    ]
    meta_post(whatsapp, fixture("whatsapp_text"))
    run_deliveries()
    conversation = Conversation.objects.get(channel=whatsapp)
    greeting, question = Message.objects.filter(conversation=conversation, author="bot").order_by(
        "seq"
    )
    assert greeting.payload["delivery"]["status"] == "failed"
    assert "131030" in greeting.payload["delivery"]["error"]
    assert ACCESS_TOKEN not in greeting.payload["delivery"]["error"]
    assert question.payload["delivery"]["status"] == "sent"
    assert len(platform.received) == 2
    # The refusal shows in the transcript.
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/chat/conversations/{conversation.pk}/")
    assert page.status_code == 200
    assert "Not delivered" in page.content.decode()
    assert "Recipient phone number not in allowed list" in page.content.decode()
    assert "on WhatsApp: Acme whatsapp" in page.content.decode()


def test_an_unreachable_platform_is_retried_and_the_token_never_shows(
    workspace, telegram, settings, platform
):
    settings.LEADFLOW_TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens
    tg_post(telegram, fixture("telegram_start"))
    conversation = Conversation.objects.get(channel=telegram)
    assert channel_deliver(conversation_id=conversation.pk) is not None
    greeting = Message.objects.get(conversation=conversation, seq=2)
    assert greeting.payload["delivery"]["status"] == "retry"
    assert BOT_TOKEN not in json.dumps(greeting.payload)
    assert BOT_TOKEN.split(":")[1] not in json.dumps(greeting.payload)


def test_a_channel_conversation_s_knowledge_and_widget_conversations_send_nothing(
    workspace, flow, platform
):
    reply = services.conversation_start(workspace=workspace, flow_id=flow.pk)
    assert reply.conversation.channel_id is None
    assert run_deliveries() == 0
    assert platform.received == []


def test_set_webhook_gives_telegram_the_address_and_the_secret(workspace, telegram, api, platform):
    answer = api.post(f"/chat/channels/{telegram.pk}/webhook")
    assert answer.status_code == 200, answer.content
    path, body = sent(platform)[0]
    assert path == f"/bot{BOT_TOKEN}/setWebhook"
    assert body["url"].endswith(f"/hooks/telegram/{telegram.webhook_token}/")
    assert body["secret_token"] == channel_telegram_secret(telegram)


@pytest.mark.django_db(transaction=True)
def test_two_first_messages_at_once_open_one_conversation(workspace, owner_actor, platform):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's; SQLite runs one writer at a time")
    flow = services.flow_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Messenger bot", "graph": GRAPH, "status": "active"},
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    channel = make_channel(workspace, owner_actor, flow, "telegram")
    for person in ("9001", "9002", "9003"):
        # Two different messages, and one platform retry of the first, all at once.
        events = [
            Inbound(person, f"tg-update-{person}-1", "hello"),
            Inbound(person, f"tg-update-{person}-2", "ann@initech.com"),
            Inbound(person, f"tg-update-{person}-1", "hello"),
        ]
        barrier = threading.Barrier(len(events))
        outcomes, errors = [], []

        def receive(event):
            try:
                barrier.wait(timeout=10)
                outcomes.append(channel_inbound_receive(channel=channel, inbound=event).outcome)
            except Exception as error:
                errors.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=receive, args=(event,)) for event in events]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert Conversation.objects.filter(channel=channel, external_id=person).count() == 1
        visitor = Message.objects.filter(conversation__external_id=person, author="visitor")
        assert sorted(visitor.values_list("client_id", flat=True)) == [
            f"tg-update-{person}-1",
            f"tg-update-{person}-2",
        ]
        assert sorted(outcomes).count("duplicate") == 1


def test_a_hand_over_is_said_on_the_channel_and_later_messages_wait_for_a_person(
    workspace, owner_actor, platform
):
    graph = {
        "start": "hello",
        "steps": [
            {"id": "hello", "kind": "message", "text": "Hi!", "next": "person"},
            {"id": "person", "kind": "handover", "text": "Connecting you to a person."},
        ],
    }
    flow = services.flow_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Straight to a person", "graph": graph, "status": "active"},
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    channel = make_channel(workspace, owner_actor, flow, "telegram")
    tg_post(channel, fixture("telegram_start"))
    run_deliveries()
    assert texts(platform) == [
        "Hi!",
        "Connecting you to a person.",
        "A person will reply here shortly.",
    ]
    conversation = Conversation.objects.get(channel=channel)
    assert conversation.status == ConversationStatus.WAITING
    assert tg_post(channel, fixture("telegram_text")).json()["received"] == ["stored"]
    run_deliveries()
    assert len(platform.received) == 3  # the bot stays quiet; a person answers


# --- what the flow cannot read: photos, voice messages, files -----------------------------


def telegram_photo(update_id=770001077):
    update = copy.deepcopy(fixture("telegram_text"))
    update["update_id"] = update_id
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "AgAD", "width": 90, "height": 90}]
    return update


def test_the_platforms_say_what_was_sent_when_it_is_not_text():
    assert platforms.telegram_read(telegram_photo()) == [
        Inbound("5550001", "tg-update-770001077", "a photo", "media")
    ]
    voice = copy.deepcopy(fixture("whatsapp_text"))
    message = voice["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update(type="audio", audio={"id": "a1", "mime_type": "audio/ogg"})
    (read,) = platforms.whatsapp_read(voice)
    assert (read.text, read.kind) == ("a voice message", "media")
    odd = copy.deepcopy(voice)
    odd["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = ["audio"]  # not a str
    assert platforms.whatsapp_read(odd) == []
    picture = copy.deepcopy(fixture("messenger_text"))
    event = picture["entry"][0]["messaging"][0]["message"]
    del event["text"]
    event["attachments"] = [{"type": ["x"]}, {"type": "image", "payload": {"url": "https://x"}}]
    (read,) = platforms.messenger_read(picture)
    assert (read.text, read.kind) == ("a photo", "media")


def test_a_photo_to_the_bot_is_answered_never_taken_as_an_answer(workspace, telegram, platform):
    tg_post(telegram, fixture("telegram_start"))
    answer = tg_post(telegram, telegram_photo())
    assert answer.status_code == 200 and answer.json()["received"] == ["stored"]
    assert tg_post(telegram, telegram_photo()).json()["received"] == ["duplicate"]  # a retry
    conversation = Conversation.objects.get(channel=telegram)
    assert conversation.current_step == "email"  # still asks for the email
    assert not Contact.objects.filter(workspace=workspace).exists()
    run_deliveries()
    assert texts(platform)[-1] == "I can only read text here. Please type your answer."
    assert texts(platform).count("I can only read text here. Please type your answer.") == 1
    assert tg_post(telegram, fixture("telegram_text")).json()["received"] == ["stored"]
    assert Contact.objects.filter(workspace=workspace, email="ann@initech.com").exists()


def test_a_photo_as_the_first_message_starts_the_flow_and_is_answered(telegram, platform):
    assert tg_post(telegram, telegram_photo()).json()["received"] == ["started"]
    run_deliveries()
    assert texts(platform) == [
        "Hi! A few questions.",
        "Your email?",
        "I can only read text here. Please type your answer.",
    ]


def test_a_photo_while_a_person_has_the_chat_shows_in_the_thread(workspace, telegram, platform):
    tg_post(telegram, fixture("telegram_start"))
    conversation = Conversation.objects.get(channel=telegram)
    Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.WAITING)
    run_deliveries()
    before = len(platform.received)
    assert tg_post(telegram, telegram_photo()).json()["received"] == ["stored"]
    said = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert (said.author, said.text) == ("visitor", "Sent a photo; open Telegram to see it.")
    run_deliveries()
    assert len(platform.received) == before  # nothing said back: a person answers
