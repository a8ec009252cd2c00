"""The public webhook of a lead source: ``POST /in/<key>`` (and the GET handshakes).

Server to server: no session authority (so CSRF-exempt) and no CORS. Rate limited per IP
and per source; bodies over the inbound limit answer 413 and are not kept; a database
failure answers 503 (core.middleware). Every 2xx comes after ``delivery_receive``'s commit;
every 4xx is application/problem+json with the reasons.
"""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.core.problems import problem_response
from leadflow.core.publickit import too_many_requests
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.inbound import formats, selectors, services
from leadflow.inbound.models import LeadSource, SourceFormat


def _rate_limited(source: LeadSource, ip: str | None) -> int:
    wait = rate_limit_hit(
        f"inbound-ip:{source.pk}:{ip}",
        limit=settings.LEADFLOW_INBOUND_RATE_PER_IP,
        window_seconds=60,
    )
    return wait or rate_limit_hit(
        f"inbound:{source.pk}", limit=settings.LEADFLOW_INBOUND_RATE_PER_SOURCE, window_seconds=60
    )


def _handshake(request: HttpRequest, source: LeadSource) -> HttpResponse:
    """Meta's subscription check (hub.mode, hub.verify_token = the source's secret,
    hub.challenge echoed) and LinkedIn's endpoint validation (challengeCode answered with
    its HMAC under the client secret)."""
    if source.format == SourceFormat.FACEBOOK and request.GET.get("hub.mode") == "subscribe":
        token = request.GET.get("hub.verify_token", "")
        if token and token in source.secrets_accepted():
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return problem_response(403, "hub.verify_token does not match this lead source's secret.")
    if source.format == SourceFormat.LINKEDIN and request.GET.get("challengeCode"):
        if not source.app_secret:
            return problem_response(
                403, "Set the LinkedIn client secret on this lead source to answer the challenge."
            )
        code = request.GET["challengeCode"][:200]
        return JsonResponse(
            {
                "challengeCode": code,
                "challengeResponse": formats.linkedin_challenge_response(source, code),
            }
        )
    return problem_response(405, "Send leads with POST.", headers={"Allow": "POST"})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, key: str) -> HttpResponse:
    source = selectors.source_by_key(key)
    if source is None:
        return problem_response(404, "No such lead source.")
    if request.method == "GET":
        return _handshake(request, source)
    ip = client_ip(request)
    wait = _rate_limited(source, ip)
    if wait:
        return too_many_requests("Too many requests; retry shortly.", wait)
    limit = services.max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit or len(request.body) > limit:
        return problem_response(413, f"A lead is at most {limit} bytes.")
    outcome = services.delivery_receive(
        source=source,
        body=request.body,
        headers=request.headers,
        ip=ip,
        base_url=request.build_absolute_uri("/"),
    )
    if outcome.ok:
        return HttpResponse(
            json.dumps(outcome.body()), status=outcome.status_code, content_type="application/json"
        )
    return problem_response(
        outcome.status_code,
        outcome.detail,
        code=outcome.result,
        errors=outcome.errors or None,
    )
