"""What the chat widget asks, without login (docs/chat/flows.md).

POST /e/chat/start    {"key", "page_url"?, "visitor_id"?, "flow"?, "token"?, "consent"?}: a
                      new conversation with the flow for the page (201), or the one a token
                      or the visitor's open conversation names, with every message (200).
                      Where the workspace asks for consent, a new one needs "consent": true
                      (the visitor accepted the notice; kept on the conversation).
POST /e/chat/message  {"key", "token", "text", "client_id"}: the visitor's message and the
                      bot's replies (201); a retry with the same client_id answers the same
                      (200, nothing stored twice).
GET  /e/chat/messages?key=&token=&after=SEQ: the messages after SEQ, from the database (the
                      poll, and the replay after any reconnect).
POST /e/chat/handover {"key", "token", "client_id"}: "Talk to a person" (201; a retry, or a
                      chat already handed over, 200 with its hand-over message).
POST /e/chat/email    {"key", "token", "email"}: the visitor's email when nobody could
                      answer (200; stored on the lead through the lead-arrival service).
POST /e/chat/rate     {"key", "token", "rating" 1-5, "comment"?}: after the close (200; a new
                      rating replaces the last; 409 while open).
POST /e/chat/transcript {"key", "token", "email"?}: email the transcript (202; at most
                      LEADFLOW_CHAT_TRANSCRIPT_RATE per conversation and hour, then 429).

The workspace is named by its public key; its allowed sites decide CORS (core.publickit).
Bad input answers 422 naming each field, an unknown key, flow or token 404, a closed
conversation 409, past the per-IP rate 429 with Retry-After; a database that cannot be
reached 503 (core.middleware). Answers come after the commit.
"""

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.chat import services
from leadflow.chat.selectors import chat_settings_get
from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.problems import problem_response
from leadflow.core.publickit import (
    clip,
    cors,
    too_many_requests,
    workspace_by_public_key,
    workspace_refusal,
)
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.core.validation import json_parse

VISITOR_KEY = re.compile(r"[\w-]{8,64}")
START_KEYS = {"key", "page_url", "visitor_id", "flow", "token", "consent"}
MESSAGE_KEYS = {"key", "token", "text", "client_id"}
HANDOVER_KEYS = {"key", "token", "client_id"}
EMAIL_KEYS = {"key", "token", "email"}
RATE_KEYS = {"key", "token", "rating", "comment"}
TRANSCRIPT_KEYS = {"key", "token", "email"}
TRANSCRIPTS_PER_HOUR = 3


def _refusal(request: HttpRequest, workspace: Workspace | None) -> HttpResponse | None:
    return workspace_refusal(request, workspace, "This site may not use this workspace's chat.")


def _limited(
    request: HttpRequest, workspace: Workspace, *, poll: bool = False
) -> HttpResponse | None:
    """429 past the per-IP rate: messages and starts in one bucket, polls in their own (a
    waiting widget polls every few seconds)."""
    limit = settings.LEADFLOW_CHAT_POLL_RATE_PER_IP if poll else settings.LEADFLOW_CHAT_RATE_PER_IP
    if not limit:
        return None
    bucket = "chat-poll-ip" if poll else "chat-ip"
    wait = rate_limit_hit(
        f"{bucket}:{workspace.pk}:{client_ip(request) or 'unknown'}", limit=limit, window_seconds=60
    )
    if wait:
        return cors(too_many_requests("Too many chat requests; try again shortly.", wait), request)
    return None


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return cors(
        problem_response(
            error.status, error.detail, code=error.code, errors=getattr(error, "errors", None)
        ),
        request,
    )


def _body(request: HttpRequest, known: set[str]) -> dict[str, Any]:
    body = json_parse(request.body or b"{}")
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
    unknown = [FieldError(key[:80], "Unknown field.") for key in body if key not in known]
    if unknown:
        raise ValidationFailed(unknown)
    return body


def _consent(workspace: Workspace, body: dict[str, Any]) -> dict[str, Any] | None:
    """The notice the visitor accepted (kept on a new conversation), None when not asked;
    ValidationFailed when the workspace asks for consent and a new start lacks it."""
    given = body.get("consent")
    if given is not None and not isinstance(given, bool):
        raise ValidationFailed([FieldError("consent", "true once the visitor accepted.")])
    chat_settings = chat_settings_get(workspace)
    if body.get("token") or not chat_settings.consent_required:
        return None
    if given is not True:
        raise ValidationFailed([FieldError("consent", "Accept the notice to start the chat.")])
    return {"at": timezone.now().isoformat(), "text": chat_settings.consent_text[:2000]}


def _start_input(body: dict[str, Any]) -> dict[str, Any]:
    errors = []
    flow = body.get("flow")
    if flow is not None and (isinstance(flow, bool) or not isinstance(flow, int) or flow < 1):
        errors.append(FieldError("flow", "A flow's id."))
    visitor = body.get("visitor_id") or ""
    if visitor and (not isinstance(visitor, str) or not VISITOR_KEY.fullmatch(visitor)):
        errors.append(FieldError("visitor_id", "The tracker's visitor id (8 to 64 characters)."))
    token = body.get("token") or ""
    if not isinstance(token, str):
        errors.append(FieldError("token", "The token a start answered."))
    page_url = body.get("page_url") or ""
    if not isinstance(page_url, str):
        errors.append(FieldError("page_url", "The page's address."))
    if errors:
        raise ValidationFailed(errors)
    return {
        "page_url": clip(page_url),
        "visitor_id": visitor,
        "flow_id": flow,
        "token": clip(token, 500),
    }


def _post(
    request: HttpRequest,
    known: set[str],
    call: Callable[[Workspace, dict], Any],
    answer: Callable[[Any], HttpResponse] | None = None,
) -> HttpResponse:
    """The shape of both POSTs: the preflight, the body, the key and site, the rate, the
    service's reply (201 new, 200 a replay or a resume) or its error, CORS on each."""
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    try:
        body = _body(request, known)
    except ValidationFailed as failure:
        return _error(request, failure)
    workspace = workspace_by_public_key(body.get("key"))
    refused = _refusal(request, workspace) or _limited(request, workspace)
    if refused is not None:
        return refused
    try:
        reply = call(workspace, body)
    except DomainError as error:
        return _error(request, error)
    if answer is not None:
        return cors(answer(reply), request)
    status = 200 if reply.replayed or reply.resumed else 201
    return cors(JsonResponse(reply.as_json(), status=status), request)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_start(request: HttpRequest) -> HttpResponse:
    return _post(
        request,
        START_KEYS,
        lambda workspace, body: services.conversation_start(
            workspace=workspace, consent=_consent(workspace, body), **_start_input(body)
        ),
    )


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_message(request: HttpRequest) -> HttpResponse:
    return _post(
        request,
        MESSAGE_KEYS,
        lambda workspace, body: services.conversation_message_post(
            workspace=workspace,
            token=body.get("token"),
            text=body.get("text"),
            client_id=body.get("client_id"),
        ),
    )


@require_http_methods(["GET", "OPTIONS"])
def chat_messages(request: HttpRequest) -> HttpResponse:
    params = request.GET
    workspace = workspace_by_public_key(params.get("key"))
    refused = _refusal(request, workspace)
    if refused is not None or request.method == "OPTIONS":
        return refused or cors(HttpResponse(status=204), request)
    refused = _limited(request, workspace, poll=True)
    if refused is not None:
        return refused
    after = params.get("after", "0")
    if not after.isascii() or not after.isdigit() or len(after) > 12:
        return _error(
            request, ValidationFailed([FieldError("after", "The last seq seen (0 for all).")])
        )
    try:
        conversation, messages = services.conversation_messages(
            workspace=workspace, token=params.get("token", ""), after=int(after)
        )
    except DomainError as error:
        return _error(request, error)
    response = JsonResponse(
        {
            "conversation": conversation.pk,
            "status": conversation.status,
            "last_seq": conversation.last_seq,
            "assignee": services.assignee_json(conversation),
            "messages": [services.message_json(message) for message in messages],
        }
    )
    response["Cache-Control"] = "no-store"
    return cors(response, request)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_handover(request: HttpRequest) -> HttpResponse:
    return _post(
        request,
        HANDOVER_KEYS,
        lambda workspace, body: services.conversation_handover_request(
            workspace=workspace, token=body.get("token"), client_id=body.get("client_id")
        ),
    )


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_email(request: HttpRequest) -> HttpResponse:
    return _post(
        request,
        EMAIL_KEYS,
        lambda workspace, body: services.conversation_email_leave(
            workspace=workspace, token=body.get("token"), email=body.get("email")
        ),
        lambda reply: JsonResponse(reply.as_json(), status=200),
    )


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_rate(request: HttpRequest) -> HttpResponse:
    return _post(
        request,
        RATE_KEYS,
        lambda workspace, body: services.conversation_rate(
            workspace=workspace,
            token=body.get("token"),
            rating=body.get("rating"),
            comment=body.get("comment"),
        ),
        lambda conversation: JsonResponse(
            {"conversation": conversation.pk, "rating": conversation.rating}
        ),
    )


def _transcript(workspace: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    conversation = services.conversation_by_token(workspace, body.get("token"))
    wait = rate_limit_hit(
        f"chat-transcript:{conversation.pk}", limit=TRANSCRIPTS_PER_HOUR, window_seconds=3600
    )
    if wait:
        return {"wait": wait}
    services.transcript_email_request(
        workspace=workspace, conversation=conversation, email=body.get("email")
    )
    return {"conversation": conversation.pk}


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def chat_transcript(request: HttpRequest) -> HttpResponse:
    def answer(result: dict[str, Any]) -> HttpResponse:
        if "wait" in result:
            return too_many_requests(
                "Transcripts were sent already; try again later.", result["wait"]
            )
        return JsonResponse({"conversation": result["conversation"], "queued": True}, status=202)

    return _post(request, TRANSCRIPT_KEYS, _transcript, answer)
