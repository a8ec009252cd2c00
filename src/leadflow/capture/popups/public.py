"""What the pop-up script (popups.js) asks, without login.

GET /e/popups: the one configuration request of a page: the pop-ups this visit may see.
POST /e/popups/event: one view, close or conversion of a pop-up, counted (a beacon; 204).

The workspace is named by its public key and its allowed sites decide CORS, as for the
tracker (core.publickit). Nothing here writes a row per request: the counters are
``F()`` increments of the pop-up's own row.
"""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.capture.popups import selectors, services
from leadflow.core.errors import FieldError, ValidationFailed
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
CLICK_IDS = ("gclid", "fbclid", "msclkid", "li_fat_id")
CONFIG_SECONDS = 120


def _refusal(request: HttpRequest, workspace: Workspace | None) -> HttpResponse | None:
    return workspace_refusal(request, workspace, "This site may not show this workspace's pop-ups.")


@require_http_methods(["GET", "OPTIONS"])
def popup_config(request: HttpRequest) -> HttpResponse:
    """GET /e/popups?key=pk_...&v=VISITOR&us=&um=&uc=&ck=gclid&r=REFERRER&s=SITE: the
    pop-ups for this visit. The query is the same on every page of a visit, so the
    browser's cache (private, two minutes) answers the next pages."""
    params = request.GET
    workspace = workspace_by_public_key(params.get("key"))
    refused = _refusal(request, workspace)
    if refused or request.method == "OPTIONS":
        return refused or cors(HttpResponse(status=204), request)
    visitor = params.get("v", "")
    visit = selectors.Visit(
        visitor_key=visitor if VISITOR_KEY.fullmatch(visitor) else "",
        utm={
            name: clip(params.get(short), 200)
            for short, name in (("us", "utm_source"), ("um", "utm_medium"), ("uc", "utm_campaign"))
            if params.get(short)
        },
        click_ids=tuple(name for name in params.get("ck", "").split(",") if name in CLICK_IDS),
        referrer=clip(params.get("r"), 2000),
        site=clip(params.get("s"), 2000),
    )
    response = JsonResponse({"popups": selectors.popups_for_visit(workspace, visit)})
    response["Cache-Control"] = f"private, max-age={CONFIG_SECONDS}"
    return cors(response, request)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def popup_event(request: HttpRequest) -> HttpResponse:
    """POST /e/popups/event {"key", "popup": id, "type": "view" | "close" | "conversion"}: 204
    once counted; 404 for a pop-up that is not an active one of the workspace; 422 naming
    each bad field; 429 past the per-IP rate."""
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    try:
        body = json_parse(request.body or b"{}")
    except ValidationFailed as failure:
        return cors(problem_response(422, failure.detail, errors=failure.errors), request)
    if not isinstance(body, dict):
        errors = [FieldError("body", "Not an object.")]
        answer = problem_response(422, "The body must be a JSON object.", errors=errors)
        return cors(answer, request)
    workspace = workspace_by_public_key(body.get("key"))
    refused = _refusal(request, workspace)
    if refused:
        return refused
    errors = []
    popup_id = body.get("popup")
    if isinstance(popup_id, bool) or not isinstance(popup_id, int) or not 0 < popup_id < 2**63:
        errors.append(FieldError("popup", "Must be a pop-up's id."))
    if body.get("type") not in services.COUNTERS:
        errors.append(FieldError("type", "Use one of: view, close, conversion."))
    if errors:
        failure = ValidationFailed(errors)
        return cors(problem_response(422, failure.detail, errors=errors), request)
    wait = rate_limit_hit(
        f"popup-events-ip:{workspace.pk}:{client_ip(request) or 'unknown'}",
        limit=settings.LEADFLOW_EVENT_RATE_PER_IP,
        window_seconds=60,
    )
    if wait:
        return cors(too_many_requests("Too many pop-up events; try again shortly.", wait), request)
    if not services.popup_count(workspace_id=workspace.pk, popup_id=popup_id, kind=body["type"]):
        return cors(problem_response(404, "No such active pop-up.", code="unknown_popup"), request)
    return cors(HttpResponse(status=204), request)
