"""Sending what the bot and people say in a messenger conversation (docs/chat/messengers.md).

Guarantees:

- each message is sent at most once: its ``payload["delivery"]`` moves ``sending`` (committed
  before the platform is called) → ``sent`` (with the platform's message id) or
  ``failed`` (a refusal: its status and the platform's description, shown in the
  transcript); a run that finds a message ``sent``, ``failed`` or ``sending`` leaves it; a
  worker that died while sending leaves it ``sending``, and after ``STALE`` it is marked
  ``unknown`` (never sent again by itself: the person may have it);
- messages go out in ``seq`` order: a run stops at a message another run is sending or that
  waits for a retry;
- a rate limit (429, Meta's throttling codes), a 5xx or no answer is tried again after
  ``RETRY_DELAYS`` (or the platform's ``retry_after``), ``retry`` on the message in the
  meantime; past the last delay it is ``failed``;
- a secret never reaches the log or the message: Telegram's token is in its URL, so every
  error text has it removed.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.chat import channel_platforms as platforms
from leadflow.chat.models import Channel, ChannelKind, Conversation, Message, MessageAuthor
from leadflow.chat.services.channels import channel_secret, channel_telegram_secret
from leadflow.core.errors import DomainError

logger = logging.getLogger(__name__)

RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600)  # seconds; then the message has failed
STALE = dt.timedelta(minutes=5)
SENT_AUTHORS = (MessageAuthor.BOT, MessageAuthor.AGENT, MessageAuthor.SYSTEM)
# Graph API error codes that mean "slow down", answered with a 4xx status.
GRAPH_THROTTLED = {4, 17, 32, 613, 80007, 130429, 131048, 131056}
HANDOVER_TEXT = {
    "waiting": "A person will reply here shortly.",
    # The reasons main's hand-over message carries (the flow's step, no knowledge answer).
    "flow": "A person will reply here shortly.",
    "knowledge": "A person will reply here shortly.",
    "offline": "We're away right now; a person will reply here when we're back.",
}


class ChannelSendFailed(DomainError):
    status = 502
    code = "channel_send_failed"
    title = "The messenger platform refused the request."


class ChannelNotReady(DomainError):
    status = 409
    code = "channel_not_ready"
    title = "The channel is not set up for this."


@dataclass
class Answer:
    """What the platform said: ``status`` (0: no answer), the message's id there, why it
    refused, and how long it asked us to wait."""

    status: int
    platform_id: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.error


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "•••")
    return text


def channel_http_post(
    url: str, body: dict[str, Any], *, secrets: tuple[str, ...] = (), headers=None
):
    """POST ``body`` as JSON; the answer as an ``Answer`` (never raises for the network:
    no answer is status 0). ``secrets`` are removed from every error text."""
    try:
        response = requests.post(
            url, json=body, headers=headers or {}, timeout=settings.LEADFLOW_MESSENGER_TIMEOUT
        )
    except requests.RequestException as problem:
        return Answer(0, error=_scrub(f"No answer: {type(problem).__name__}: {problem}", *secrets))
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return _answer_of(response.status_code, data, response.text, secrets, response.headers)


def _answer_of(status: int, data: dict, text: str, secrets: tuple[str, ...], headers) -> Answer:
    if "ok" in data:  # Telegram
        if data.get("ok") is True and 200 <= status < 300:
            result = data.get("result")
            mid = result.get("message_id", "") if isinstance(result, dict) else ""
            return Answer(status, platform_id=str(mid))
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        retry = parameters.get("retry_after")
        description = str(data.get("description") or text[:300])
        return Answer(
            status if status >= 400 else 400,
            error=_scrub(f"{status}: {description}"[:500], *secrets),
            retry_after=float(retry) if isinstance(retry, (int, float)) else None,
        )
    if 200 <= status < 300:  # Graph: WhatsApp {"messages": [{"id"}]}, Messenger {"message_id"}
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return Answer(status, platform_id=str(messages[0].get("id", "")))
        return Answer(status, platform_id=str(data.get("message_id", "")))
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    code = error.get("code")
    if status < 500 and code in GRAPH_THROTTLED:
        status = 429
    retry_header = headers.get("Retry-After", "") if headers is not None else ""
    message = str(error.get("message") or text[:300])
    return Answer(
        status,
        error=_scrub(f"{status}: {message} (code {code})"[:500], *secrets),
        retry_after=float(retry_header) if retry_header.isdigit() else None,
    )


# --- the platforms' send calls --------------------------------------------------------------


def _send(channel: Channel, external_id: str, outgoing: platforms.Outgoing) -> Answer:
    token = channel_secret(channel, "token_env")
    if not token:
        return Answer(400, error=f"No token: set {channel.token_env or 'the token variable'}.")
    if channel.kind == ChannelKind.TELEGRAM:
        url = f"{settings.LEADFLOW_TELEGRAM_API_BASE}/bot{token}/sendMessage"
        body = platforms.telegram_request(external_id, outgoing)
        return channel_http_post(url, body, secrets=(token,))
    graph = f"{settings.LEADFLOW_GRAPH_API_BASE}/{settings.LEADFLOW_GRAPH_API_VERSION}"
    headers = {"Authorization": f"Bearer {token}"}
    if channel.kind == ChannelKind.WHATSAPP:
        url = f"{graph}/{channel.account_id}/messages"
        body = platforms.whatsapp_request(external_id, outgoing)
    else:
        url = f"{graph}/{channel.account_id}/messages"
        body = platforms.messenger_request(external_id, outgoing)
    return channel_http_post(url, body, secrets=(token,), headers=headers)


def _outgoing(message: Message) -> platforms.Outgoing | None:
    """What to send for a message (None: nothing to send, as an internal note or a
    system message that says nothing to the person)."""
    payload = message.payload or {}
    if message.author == MessageAuthor.SYSTEM:
        if payload.get("notice") and message.text:  # "I can only read text here", a payment
            return platforms.Outgoing(message.text, [])
        text = HANDOVER_TEXT.get(str(payload.get("handover", "")), "")
        if payload.get("handover") == "assigned" and payload.get("assignee"):
            text = f"{payload['assignee']} joined the conversation."
        return platforms.Outgoing(text, []) if text else None
    # An agent's internal note (``Message.internal`` once the inbox lands) is never sent.
    if getattr(message, "internal", False) or payload.get("internal"):
        return None
    outgoing = platforms.outgoing_of(message.text, payload)
    if message.author == MessageAuthor.AGENT and payload.get("agent"):
        outgoing = platforms.Outgoing(f"{payload['agent']}: {outgoing.text}", outgoing.choices)
    return outgoing if (outgoing.text or outgoing.choices) else None


# --- the delivery run -------------------------------------------------------------------------


def _delivery(message: Message) -> dict[str, Any]:
    return dict((message.payload or {}).get("delivery") or {})


def _set_delivery(message: Message, **values: Any) -> None:
    message.payload = {**(message.payload or {}), "delivery": values}
    message.save(update_fields=["payload"])


def _claim(conversation_id: int, now: dt.datetime):
    """Under the conversation's lock: the next message to send, marked ``sending``, with
    its channel and the person's id; None when there is nothing to send now."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
        if conversation is None or conversation.channel_id is None:
            return None
        channel = Channel.objects.filter(pk=conversation.channel_id).first()
        if channel is None:
            return None
        waiting = Message.objects.filter(conversation=conversation, author__in=SENT_AUTHORS).filter(
            Q(payload__delivery__status__in=["sending", "retry"]) | ~Q(payload__has_key="delivery")
        )
        for message in waiting.order_by("seq"):
            delivery = _delivery(message)
            status = delivery.get("status")
            if status == "sending":
                started = dt.datetime.fromisoformat(delivery.get("at"))
                if now - started < STALE:
                    return None  # another run sends it, and goes on after it
                _set_delivery(message, **{**delivery, "status": "unknown"})
                continue
            if status == "retry" and dt.datetime.fromisoformat(delivery["next_at"]) > now:
                return None  # the run that set the retry scheduled it; order waits for it
            outgoing = _outgoing(message)
            if outgoing is None:
                _set_delivery(message, status="skipped")
                continue
            attempts = int(delivery.get("attempts") or 0) + 1
            _set_delivery(message, status="sending", attempts=attempts, at=now.isoformat())
            return channel, conversation.external_id, message, outgoing, attempts
    return None


def channel_deliver(*, conversation_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Send the conversation's messages not yet sent, in order (see the module's
    guarantees). Answers when to run again (a retry is due then), or None."""
    for _ in range(200):
        moment = now or timezone.now()
        claimed = _claim(conversation_id, moment)
        if claimed is None:
            return None
        channel, external_id, message, outgoing, attempts = claimed
        answer = _send(channel, external_id, outgoing)
        with transaction.atomic():
            if answer.ok:
                _set_delivery(
                    message,
                    status="sent",
                    id=answer.platform_id,
                    attempts=attempts,
                    at=timezone.now().isoformat(),
                )
                continue
            if answer.transient and attempts <= len(RETRY_DELAYS):
                wait = max(answer.retry_after or 0, RETRY_DELAYS[attempts - 1])
                due = moment + dt.timedelta(seconds=wait)
                _set_delivery(
                    message,
                    status="retry",
                    attempts=attempts,
                    error=answer.error,
                    next_at=due.isoformat(),
                )
                logger.info("chat %s: send %s retried in %ss", conversation_id, message.seq, wait)
                return due
            _set_delivery(
                message,
                status="failed",
                attempts=attempts,
                error=answer.error,
                at=timezone.now().isoformat(),
            )
            logger.warning(
                "chat %s: send %s failed: %s", conversation_id, message.seq, answer.error
            )
    return None


def channel_telegram_webhook_set(*, channel: Channel, url: str) -> str:
    """Tell Telegram to post the bot's updates to ``url`` with the channel's secret token
    (``setWebhook``); a message on success, ChannelNotReady (409) without a bot token,
    ChannelSendFailed (502) when Telegram refuses or does not answer."""
    token = channel_secret(channel, "token_env")
    if channel.kind != ChannelKind.TELEGRAM:
        raise ChannelNotReady("Only a Telegram channel has a webhook to set.")
    if not token:
        raise ChannelNotReady(f"No bot token: set {channel.token_env or 'the token variable'}.")
    answer = channel_http_post(
        f"{settings.LEADFLOW_TELEGRAM_API_BASE}/bot{token}/setWebhook",
        {
            "url": url,
            "secret_token": channel_telegram_secret(channel),
            "allowed_updates": ["message", "callback_query"],
        },
        secrets=(token,),
    )
    if answer.error or not 200 <= answer.status < 300:
        raise ChannelSendFailed(f"Telegram answered {answer.error or answer.status}.")
    return "Telegram will post this bot's messages to LeadFlow."


def channel_callback_answer(*, channel_id: int, callback_id: str) -> bool:
    """Acknowledge a Telegram button press (``answerCallbackQuery``), which stops the
    button's spinner; True when Telegram took it. Nothing is stored: a lost one only
    leaves the spinner to time out."""
    channel = Channel.objects.filter(pk=channel_id, kind=ChannelKind.TELEGRAM).first()
    token = channel_secret(channel, "token_env") if channel else ""
    if not token or not callback_id:
        return False
    answer = channel_http_post(
        f"{settings.LEADFLOW_TELEGRAM_API_BASE}/bot{token}/answerCallbackQuery",
        {"callback_query_id": callback_id},
        secrets=(token,),
    )
    return answer.ok
