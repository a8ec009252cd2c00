"""The public event endpoint: POST /e with a batch from the tracker script (lf.js).

CSRF-exempt (no session authority); the workspace's public key decides the workspace and
its allowed sites decide CORS (core.publickit, as for every public endpoint). Answers 202
only after the batch is committed, with the counts and the errors of the events it
rejected (by index).
"""

from crawleruseragents import is_crawler
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.core.problems import problem_response
from leadflow.core.publickit import (
    cors,
    site_allowed,
    site_refused,
    too_many_requests,
    workspace_by_public_key,
)
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.core.validation import json_parse
from leadflow.tracking import selectors, services


@require_http_methods(["GET", "OPTIONS"])
def tracker_config(request: HttpRequest) -> HttpResponse:
    """GET /e/config?key=pk_...: what lf.js must know before it stores or sends anything
    (the workspace's privacy settings, and what other apps add: the pop-up script's address
    when a pop-up is active). Public, read-only, cached by the browser for five
    minutes; 404 for an unknown key, 403 for a site that is not allowed."""
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    workspace = workspace_by_public_key(request.GET.get("key"))
    if workspace is None:
        return cors(
            problem_response(404, "No workspace has this public key.", code="unknown_key"), request
        )
    if not site_allowed(request.headers.get("Origin", ""), workspace.allowed_origins):
        return cors(site_refused("This site may not send data to this workspace."), request)
    response = JsonResponse(
        {
            "respect_privacy_signals": workspace.respect_privacy_signals,
            "tracking_requires_consent": workspace.tracking_requires_consent,
            **selectors.tracker_config_extras(workspace),
        }
    )
    response["Cache-Control"] = "public, max-age=300"
    return cors(response, request)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def events_endpoint(request: HttpRequest) -> HttpResponse:
    """Ingest a batch of events (up to 100). sendBeacon posts text/plain; both are JSON."""
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    try:
        # Bad text inside an event is that event's error (services.event_clean), not the batch's.
        batch = json_parse(request.body or b"{}", check_text=False)
    except ValidationFailed as failure:
        return cors(problem_response(422, failure.detail, errors=failure.errors), request)
    if not isinstance(batch, dict):
        return cors(
            problem_response(
                422,
                "The body must be a JSON object.",
                errors=[FieldError("body", "Not an object.")],
            ),
            request,
        )
    workspace = workspace_by_public_key(batch.get("key"))
    if workspace is None:
        return cors(
            problem_response(404, "No workspace has this public key.", code="unknown_key"), request
        )
    if not site_allowed(request.headers.get("Origin", ""), workspace.allowed_origins):
        return cors(site_refused("This site may not send data to this workspace."), request)
    user_agent = request.headers.get("User-Agent", "")
    if not user_agent or is_crawler(user_agent):
        return cors(JsonResponse({"accepted": 0, "ignored": "bot"}, status=202), request)
    if workspace.respect_privacy_signals and (
        request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"
    ):
        return cors(JsonResponse({"accepted": 0, "ignored": "privacy signal"}, status=202), request)
    ip = client_ip(request) or "unknown"

    wait = rate_limit_hit(
        f"events-ip:{workspace.pk}:{ip}",
        limit=settings.LEADFLOW_EVENT_RATE_PER_IP,
        window_seconds=60,
    )
    if wait:
        return cors(too_many_requests("Too many events; try again shortly.", wait), request)
    try:
        result = services.events_ingest(workspace=workspace, batch=batch, user_agent=user_agent)
    except ValidationFailed as failure:
        return cors(problem_response(422, failure.detail, errors=failure.errors), request)
    except DomainError as error:
        return cors(problem_response(error.status, error.detail, code=error.code), request)
    status = 202 if result.accepted or result.duplicates or not result.errors else 422
    return cors(JsonResponse(result.as_dict(), status=status), request)
