"""The widget's live stream and typing signal, without login (docs/chat/streams.md).

GET  /e/chat/stream?key=&token=&after=SEQ (or Last-Event-ID): text/event-stream of the
     conversation: every message after SEQ replayed from the database, then each new one
     (``event: message``, ``id: <seq>``), ``event: status`` and the agent's ``event: typing``;
     served only by the stream tier (503 + Retry-After elsewhere and beyond capacity: the
     widget polls /e/chat/messages meanwhile).
POST /e/chat/typing {"key", "token"}: the visitor is typing (204; nothing is stored;
     past LEADFLOW_CHAT_TYPING_RATE per minute per conversation, 429).

The workspace is named by its public key and its allowed sites decide CORS, as for the
other /e/chat endpoints (core.publickit).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.chat import services
from leadflow.chat.live import live_notify
from leadflow.chat.stream import (
    EventStream,
    Snapshot,
    event_stream_response,
    last_seq_asked,
    status_json,
    stream_refusal,
)
from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.core.problems import problem_response
from leadflow.core.publickit import (
    cors,
    too_many_requests,
    workspace_by_public_key,
    workspace_refusal,
)
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.core.validation import json_parse

TYPING_KEYS = {"key", "token"}


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return cors(
        problem_response(
            error.status, error.detail, code=error.code, errors=getattr(error, "errors", None)
        ),
        request,
    )


def _preflight(request: HttpRequest) -> HttpResponse:
    response = cors(HttpResponse(status=204), request)
    if "Access-Control-Allow-Origin" in response:
        response["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID"
    return response


@require_http_methods(["GET", "OPTIONS"])
def chat_stream(request: HttpRequest) -> HttpResponse:
    params = request.GET
    workspace = workspace_by_public_key(params.get("key"))
    refused = workspace_refusal(request, workspace, "This site may not use this workspace's chat.")
    if refused is not None:
        return refused
    if request.method == "OPTIONS":
        return _preflight(request)
    refused = stream_refusal(request)
    if refused is not None:
        return cors(refused, request)
    wait = rate_limit_hit(  # a connect counts as a poll: the stream replaces the polls
        f"chat-poll-ip:{workspace.pk}:{client_ip(request) or 'unknown'}",
        limit=settings.LEADFLOW_CHAT_POLL_RATE_PER_IP,
        window_seconds=60,
    )
    if wait:
        return cors(too_many_requests("Too many chat requests; try again shortly.", wait), request)
    after = last_seq_asked(request)
    if after is None:
        return _error(
            request, ValidationFailed([FieldError("after", "The last seq seen (0 for all).")])
        )
    token = params.get("token", "")
    try:
        conversation = services.conversation_by_token(workspace, token)
    except DomainError as error:
        return _error(request, error)

    def read(after: int) -> Snapshot:
        limit = 200
        found, messages = services.conversation_messages(
            workspace=workspace, token=token, after=after, limit=limit
        )
        return Snapshot(
            status_json(found),
            [services.message_json(message) for message in messages],
            more=len(messages) >= limit,
        )

    stream = EventStream(conversation_id=conversation.pk, read=read, after=after, me="visitor")
    return cors(event_stream_response(stream), request)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_typing(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    try:
        body = json_parse(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
        unknown = [FieldError(key[:80], "Unknown field.") for key in body if key not in TYPING_KEYS]
        if unknown:
            raise ValidationFailed(unknown)
    except ValidationFailed as failure:
        return _error(request, failure)
    workspace = workspace_by_public_key(body.get("key"))
    refused = workspace_refusal(request, workspace, "This site may not use this workspace's chat.")
    if refused is not None:
        return refused
    try:
        conversation = services.conversation_by_token(workspace, body.get("token"))
    except DomainError as error:
        return _error(request, error)
    limit = settings.LEADFLOW_CHAT_TYPING_RATE
    wait = rate_limit_hit(f"chat-typing:{conversation.pk}:visitor", limit=limit, window_seconds=60)
    if wait:
        return cors(too_many_requests("Too many typing signals.", wait), request)
    live_notify(conversation.pk, "typing", {"who": "visitor", "name": ""})
    return cors(HttpResponse(status=204), request)
