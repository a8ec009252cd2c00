"""What the messenger platforms send and expect, without the database or the network:
reading their webhooks into ``Inbound`` events, checking their proofs, and writing a bot
message as the request each one's send API takes (docs/chat/messengers.md).

- Telegram (Bot API): an update per post, proved by the ``X-Telegram-Bot-Api-Secret-Token``
  header we gave ``setWebhook``; ``sendMessage`` with an inline keyboard for choices.
- WhatsApp Cloud API and Facebook Messenger (Meta's Graph API): batches of entries, proved
  by ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body keyed with the app secret);
  WhatsApp answers choices with interactive reply buttons (at most 3) or a list (at most
  10), Messenger with quick replies (at most 13).

Every reader raises ``Malformed`` for a body that is not the platform's shape (the webhook
answers 400), and skips what is not a person's message (statuses, echoes, edits, reads):
those give no event.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from django.utils.crypto import constant_time_compare

MAX_TEXT = 2000  # what a conversation takes (chat.services.conversations.MAX_TEXT)
TELEGRAM_CALLBACK_BYTES = 64
WHATSAPP_BUTTONS = 3
WHATSAPP_LIST_ROWS = 10
MESSENGER_QUICK_REPLIES = 13


class Malformed(ValueError):
    """The body is not what the platform sends (the webhook answers 400)."""


@dataclass(frozen=True)
class Inbound:
    """One person's message: who (``external_id``: the chat id, wa_id or PSID), the
    platform's id of the message (``message_id``: a retried delivery has the same), what
    they said (``text``; a shared contact's phone number, a button's value; for ``media``
    what was sent, as "a photo"), ``kind`` (``text``, ``button``, ``contact``, ``start``,
    ``media``) and, for WhatsApp and Messenger, the account it was sent to
    (``account_id``)."""

    external_id: str
    message_id: str
    text: str
    kind: str = "text"
    account_id: str = ""
    callback_id: str = ""  # Telegram: the button press to acknowledge (answerCallbackQuery)


# What a person may send that the flow cannot read, as the conversation names it ("media").
TELEGRAM_MEDIA = {
    "photo": "a photo", "video": "a video", "video_note": "a video", "voice": "a voice message",
    "audio": "an audio file", "document": "a file", "sticker": "a sticker",
    "animation": "an animation", "location": "a location", "venue": "a location",
}  # fmt: skip
WHATSAPP_MEDIA = {
    "image": "a photo", "video": "a video", "audio": "a voice message", "document": "a file",
    "sticker": "a sticker", "location": "a location",
}  # fmt: skip
MESSENGER_MEDIA = {
    "image": "a photo", "video": "a video", "audio": "a voice message", "file": "a file",
    "location": "a location",
}  # fmt: skip


# What no database column stores (NUL, lone surrogates that JSON's \u escapes can carry).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return UNSTORABLE.sub("", str(value))


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{name} must be an object.")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{name} must be a list.")
    return value


# --- proofs ----------------------------------------------------------------------------------


def meta_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_signature_valid(app_secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs the raw ``body`` with ``app_secret`` (constant time; never
    true without a secret or a header)."""
    if not app_secret or not header:
        return False
    return constant_time_compare(meta_signature(app_secret, body), header.strip())


# --- reading webhooks ------------------------------------------------------------------------


def telegram_read(update: Any) -> list[Inbound]:
    """The person's message in a Telegram update: a text (``/start`` is ``start``), a
    shared contact (its phone number), or an inline button's ``callback_data``; edits,
    channel posts and membership changes give nothing."""
    update = _dict(update, "The update")
    update_id = _str(update.get("update_id"))
    if not update_id:
        raise Malformed("update_id is missing.")
    message_id = f"tg-update-{update_id}"
    if "callback_query" in update:
        query = _dict(update["callback_query"], "callback_query")
        message = _dict(query.get("message") or {}, "callback_query.message")
        chat = _dict(message.get("chat") or query.get("from") or {}, "callback_query.chat")
        chat_id = _str(chat.get("id"))
        data = _str(query.get("data"))
        if not chat_id or not data:
            return []
        callback = _str(query.get("id"))
        return [Inbound(chat_id, message_id, data[:MAX_TEXT], "button", callback_id=callback)]
    if "message" not in update:
        return []  # edited_message, channel_post, my_chat_member...: not a person's message
    message = _dict(update["message"], "message")
    chat_id = _str(_dict(message.get("chat"), "message.chat").get("id"))
    if not chat_id:
        raise Malformed("message.chat.id is missing.")
    if isinstance(message.get("contact"), dict):
        phone = _str(message["contact"].get("phone_number"))
        if phone and not phone.startswith("+"):
            phone = "+" + phone  # Telegram writes some numbers without the plus
        return [Inbound(chat_id, message_id, phone, "contact")] if phone else []
    text = _str(message.get("text")).strip()
    if not text:
        # A photo, a voice message...: nothing the flow can read, said as what it is.
        sent = next((label for key, label in TELEGRAM_MEDIA.items() if key in message), "")
        return [Inbound(chat_id, message_id, sent, "media")] if sent else []
    if text == "/start" or text.startswith("/start "):
        return [Inbound(chat_id, message_id, "", "start")]
    return [Inbound(chat_id, message_id, text[:MAX_TEXT], "text")]


def whatsapp_read(body: Any) -> list[Inbound]:
    """The people's messages in a WhatsApp Cloud API notification: texts, reply buttons
    and list rows (their ids), template buttons (their payload), shared contacts (the
    first phone number); statuses (sent, delivered, read) and other types give nothing."""
    body = _dict(body, "The body")
    if body.get("object") != "whatsapp_business_account":
        raise Malformed("object must be whatsapp_business_account.")
    found = []
    for entry in _list(body.get("entry"), "entry"):
        for change in _list(_dict(entry, "entry[]").get("changes"), "entry[].changes"):
            change = _dict(change, "changes[]")
            if change.get("field") != "messages":
                continue
            value = _dict(change.get("value"), "changes[].value")
            account = _str(_dict(value.get("metadata") or {}, "metadata").get("phone_number_id"))
            for message in _list(value.get("messages"), "value.messages"):
                found.extend(_whatsapp_message(_dict(message, "messages[]"), account))
    return found


def _whatsapp_message(message: dict[str, Any], account: str) -> list[Inbound]:
    sender, message_id = _str(message.get("from")), _str(message.get("id"))
    if not sender or not message_id:
        raise Malformed("A message needs from and id.")
    kind = message.get("type")
    text, event = "", "text"
    if kind == "text":
        text = _str(_dict(message.get("text"), "text").get("body"))
    elif kind == "interactive":
        interactive = _dict(message.get("interactive"), "interactive")
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        text, event = _str(_dict(reply, "interactive reply").get("id")), "button"
    elif kind == "button":
        button = _dict(message.get("button"), "button")
        text, event = _str(button.get("payload") or button.get("text")), "button"
    elif kind == "contacts":
        for card in _list(message.get("contacts"), "contacts"):
            phones = _list(_dict(card, "contacts[]").get("phones"), "phones")
            if phones:
                text, event = _str(_dict(phones[0], "phones[]").get("phone")), "contact"
                break
    elif isinstance(kind, str) and kind in WHATSAPP_MEDIA:
        text, event = WHATSAPP_MEDIA[kind], "media"
    text = text.strip()
    if not text:
        return []
    return [Inbound(sender, message_id, text[:MAX_TEXT], event, account)]


def messenger_read(body: Any) -> list[Inbound]:
    """The people's messages in a Messenger notification: texts, quick replies and
    postbacks (their payload); echoes of the page's own messages, deliveries and reads
    give nothing."""
    body = _dict(body, "The body")
    if body.get("object") != "page":
        raise Malformed("object must be page.")
    found = []
    for entry in _list(body.get("entry"), "entry"):
        entry = _dict(entry, "entry[]")
        page = _str(entry.get("id"))
        for event in _list(entry.get("messaging"), "entry[].messaging"):
            event = _dict(event, "messaging[]")
            sender = _str(_dict(event.get("sender") or {}, "sender").get("id"))
            if "message" in event:
                message = _dict(event["message"], "message")
                if message.get("is_echo"):
                    continue
                quick = message.get("quick_reply")
                if isinstance(quick, dict) and _str(quick.get("payload")):
                    text, kind = _str(quick["payload"]), "button"
                else:
                    text, kind = _str(message.get("text")), "text"
                if not text.strip() and isinstance(message.get("attachments"), list):
                    sent = [
                        _str(a.get("type")) for a in message["attachments"] if isinstance(a, dict)
                    ]
                    label = next((MESSENGER_MEDIA[t] for t in sent if t in MESSENGER_MEDIA), "")
                    text, kind = (label, "media") if label else (text, kind)
                message_id = _str(message.get("mid"))
            elif "postback" in event:
                postback = _dict(event["postback"], "postback")
                text, kind = _str(postback.get("payload") or postback.get("title")), "button"
                message_id = _str(postback.get("mid")) or (
                    f"postback-{sender}-{_str(event.get('timestamp'))}"
                )
            else:
                continue  # delivery, read, reaction...
            if not sender or not message_id:
                raise Malformed("A message needs sender.id and mid.")
            if text.strip():
                found.append(Inbound(sender, message_id, text.strip()[:MAX_TEXT], kind, page))
    return found


# --- writing messages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """What the bot says, as the platforms need it: the text (with the citation's link line),
    the choices to offer as buttons (value, label), and whether it asks for a phone number
    or an email (Telegram and Messenger have buttons that share them)."""

    text: str
    choices: list[tuple[str, str]]
    asks_for: str = ""


def outgoing_of(text: str, payload: dict[str, Any]) -> Outgoing:
    """A message of the conversation (its text and payload) as an ``Outgoing``: a
    question's choices, a knowledge answer's suggestions (their titles, which the bot
    takes as a question), a citation as a last line ``Source: title — link``."""
    lines = [text] if text else []
    citation = payload.get("citation")
    if isinstance(citation, dict) and (citation.get("title") or citation.get("link")):
        source = " — ".join(str(citation[k]) for k in ("title", "link") if citation.get(k))
        lines.append(f"Source: {source}")
    choices = [
        (str(c.get("value", "")), str(c.get("label") or c.get("value", "")))
        for c in payload.get("choices") or []
        if isinstance(c, dict) and c.get("value")
    ]
    choices += [
        (str(s["title"]), str(s["title"]))
        for s in payload.get("suggestions") or []
        if isinstance(s, dict) and s.get("title")
    ]
    asks = payload.get("input") if payload.get("input") in ("phone", "email") else ""
    return Outgoing("\n\n".join(lines), choices, asks)


def _button_value(value: str, index: int, limit_bytes: int) -> str:
    """The value a button sends back: the choice's value when it fits, else its number
    (the bot takes a choice's number as the choice)."""
    return value if len(value.encode()) <= limit_bytes else str(index)


def telegram_request(chat_id: str, message: Outgoing) -> dict[str, Any]:
    """The ``sendMessage`` body: choices as an inline keyboard (one per row), a phone
    question with a "share my number" keyboard button."""
    body: dict[str, Any] = {"chat_id": chat_id, "text": message.text[:4096] or "…"}
    if message.choices:
        body["reply_markup"] = {
            "inline_keyboard": [
                [
                    {
                        "text": label[:64],
                        "callback_data": _button_value(value, index, TELEGRAM_CALLBACK_BYTES),
                    }
                ]
                for index, (value, label) in enumerate(message.choices, start=1)
            ]
        }
    elif message.asks_for == "phone":
        body["reply_markup"] = {
            "keyboard": [[{"text": "Share my phone number", "request_contact": True}]],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }
    return body


def whatsapp_request(wa_id: str, message: Outgoing) -> dict[str, Any]:
    """The Cloud API's ``messages`` body: a text, up to 3 choices as reply buttons, up to
    10 as a list, more as numbered lines (the number answers). A phone question offers the
    number the person writes from as a button: tapping it answers with that number, through
    the question like a typed one."""
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id}
    text = message.text or "…"
    choices = message.choices
    if not choices and message.asks_for == "phone" and wa_id.isdigit():
        choices = [(f"+{wa_id}", "Use this number")]
    if choices and len(choices) <= WHATSAPP_BUTTONS:
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": _button_value(v, i, 256), "title": label[:20]}}
                for i, (v, label) in enumerate(choices, start=1)
            ]
        }
        interactive = {"type": "button", "body": {"text": text[:1024]}, "action": action}
        return {**base, "type": "interactive", "interactive": interactive}
    if choices and len(choices) <= WHATSAPP_LIST_ROWS:
        rows = [
            {"id": _button_value(v, i, 200), "title": label[:24]}
            for i, (v, label) in enumerate(choices, start=1)
        ]
        interactive = {
            "type": "list",
            "body": {"text": text[:4096]},
            "action": {"button": "Choose", "sections": [{"title": "Options", "rows": rows}]},
        }
        return {**base, "type": "interactive", "interactive": interactive}
    if choices:
        text += "\n" + "\n".join(f"{i}. {label}" for i, (_, label) in enumerate(choices, 1))
    return {**base, "type": "text", "text": {"body": text[:4096], "preview_url": "http" in text}}


def messenger_request(psid: str, message: Outgoing) -> dict[str, Any]:
    """The Send API's body: choices as quick replies (up to 13, more as numbered lines),
    an email or phone question with the quick reply that shares the person's own."""
    text = message.text or "…"
    body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": "RESPONSE"}
    quick: list[dict[str, Any]] = []
    if message.choices and len(message.choices) <= MESSENGER_QUICK_REPLIES:
        quick = [
            {"content_type": "text", "title": label[:20], "payload": _button_value(v, i, 1000)}
            for i, (v, label) in enumerate(message.choices, start=1)
        ]
    elif message.choices:
        text += "\n" + "\n".join(f"{i}. {label}" for i, (_, label) in enumerate(message.choices, 1))
    elif message.asks_for == "email":
        quick = [{"content_type": "user_email"}]
    elif message.asks_for == "phone":
        quick = [{"content_type": "user_phone_number"}]
    body["message"] = {"text": text[:2000]}
    if quick:
        body["message"]["quick_replies"] = quick
    return body
