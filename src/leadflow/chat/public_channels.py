"""The messenger platforms' webhooks (docs/chat/messengers.md):

POST /hooks/telegram/<token>/    a Telegram update; ``X-Telegram-Bot-Api-Secret-Token``
                                 must be the secret LeadFlow gave ``setWebhook``.
GET  /hooks/whatsapp/<token>/    Meta's subscription check: ``hub.verify_token`` must be
GET  /hooks/messenger/<token>/   the channel's verify token; answers ``hub.challenge``.
POST /hooks/whatsapp/<token>/    a notification; ``X-Hub-Signature-256`` must sign the raw
POST /hooks/messenger/<token>/   body with the app secret the channel names.

- The token only routes the post to its channel: an unknown one answers 404 and nothing is
  read. The platform's proof authenticates it: a missing or wrong one (or a channel with no
  app secret to check it with) answers 403 and writes nothing.
- A body that is not the platform's shape answers 400, never 500; statuses, echoes and
  edits are read and skipped (200).
- Each message is committed before the 200 (a database failure answers 503:
  core.middleware), so the platform's retry is the recovery, and a retried message (the
  same platform id) is stored once. The bot's replies are sent afterwards by a task.
"""

import json
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.chat import channel_platforms as platforms
from leadflow.chat.models import Channel, ChannelKind
from leadflow.chat.services.channels import (
    channel_by_webhook,
    channel_inbound_receive,
    channel_secret,
    channel_telegram_secret,
    channel_verify_token,
)
from leadflow.core.tasks import task_schedule

MAX_BODY = 1_000_000
CALLBACK_TASK = "leadflow.chat.tasks.channel_callback_answer_task"


def _problem(status: int, title: str) -> JsonResponse:
    return JsonResponse({"title": title, "status": status}, status=status)


def _channel(kind: str, token: str) -> Channel:
    channel = channel_by_webhook(kind, token)
    if channel is None:
        raise Http404("No such webhook.")
    return channel


def _receive(request: HttpRequest, channel: Channel, read: Callable) -> HttpResponse:
    """Read the body with the platform's reader and give each message to the bot."""
    if len(request.body) > MAX_BODY:
        return _problem(400, "The body is too large.")
    try:
        events = read(json.loads(request.body))
    except (ValueError, RecursionError) as problem:
        return _problem(400, f"Not a body we can read: {problem}"[:300])
    outcomes = [channel_inbound_receive(channel=channel, inbound=event) for event in events]
    for event in events:
        if event.callback_id:  # stop the Telegram button's spinner, after the answer is in
            task_schedule(CALLBACK_TASK, channel.pk, event.callback_id[:200])
    return JsonResponse({"ok": True, "received": [o.outcome for o in outcomes]})


@csrf_exempt
@require_POST
def telegram_hook(request: HttpRequest, token: str) -> HttpResponse:
    channel = _channel(ChannelKind.TELEGRAM, token)
    header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not header or not constant_time_compare(header, channel_telegram_secret(channel)):
        return _problem(403, "The secret token does not match.")
    return _receive(request, channel, platforms.telegram_read)


def _meta_hook(request: HttpRequest, kind: str, token: str, read: Callable) -> HttpResponse:
    channel = _channel(kind, token)
    if request.method == "GET":
        params = request.GET
        if params.get("hub.mode") == "subscribe" and constant_time_compare(
            params.get("hub.verify_token", ""), channel_verify_token(channel)
        ):
            return HttpResponse(params.get("hub.challenge", "")[:200], content_type="text/plain")
        return _problem(403, "The verify token does not match.")
    secret = channel_secret(channel, "app_secret_env")
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not platforms.meta_signature_valid(secret, request.body, signature):
        return _problem(403, "The request's signature does not match.")
    return _receive(request, channel, read)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_hook(request: HttpRequest, token: str) -> HttpResponse:
    return _meta_hook(request, ChannelKind.WHATSAPP, token, platforms.whatsapp_read)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def messenger_hook(request: HttpRequest, token: str) -> HttpResponse:
    return _meta_hook(request, ChannelKind.MESSENGER, token, platforms.messenger_read)
