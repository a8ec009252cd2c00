"""The kit every internet-facing endpoint shares (each app's ``public.py``): CORS answers, the
origin gate, text clipping, the UTM keys and the 429 answer.

Public endpoints take requests from anyone on the internet (forms, the tracker's events,
ad platforms' webhooks, opt-in links): no session, no API key. What they answer must read
the same from every app, so each piece lives here once. The API's own plumbing (key auth,
scopes, problem+json handlers) is ``core.apikit``; this module is for the endpoints without
an account behind them.
"""

import re
from typing import Any

from django.http import HttpRequest, HttpResponse

from leadflow.core.cache import cached
from leadflow.core.models import Workspace
from leadflow.core.origins import origin_allowed
from leadflow.core.problems import problem_response

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX_LENGTH = 200
PUBLIC_KEY = re.compile(r"pk_[A-Za-z0-9_-]{1,37}")


def workspace_by_public_key(key: object) -> Workspace | None:
    """The workspace a widget names by its public key (cached a few seconds), or None. Only
    a key's own characters reach the database (a NUL would fail the query)."""
    if not isinstance(key, str) or not PUBLIC_KEY.fullmatch(key):
        return None
    return cached(
        "workspace-public-key", key, lambda: Workspace.objects.filter(public_key=key).first()
    )


def workspace_refusal(
    request: HttpRequest, workspace: Workspace | None, detail: str
) -> HttpResponse | None:
    """404 for an unknown public key, 403 (``detail``) for a site not on the workspace's
    allowlist, both readable by the script; None when the request may go on."""
    if workspace is None:
        return cors(
            problem_response(404, "No workspace has this public key.", code="unknown_key"), request
        )
    if not site_allowed(request.headers.get("Origin", ""), workspace.allowed_origins):
        return cors(site_refused(detail), request)
    return None


def cors(response: HttpResponse, request: HttpRequest, *, allowed: bool = True) -> HttpResponse:
    """Let a script on the requesting site read ``response`` (when ``allowed``): the site's own
    Origin is echoed with the methods and headers the embed and tracker scripts use, and
    Retry-After is exposed (the scripts honour it). ``Vary: Origin`` always, so a cache never
    hands one site's answer to another."""
    origin = request.headers.get("Origin", "")
    if origin and allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        response["Access-Control-Expose-Headers"] = "Retry-After"
    response["Vary"] = "Origin"
    return response


def site_allowed(origin: str, *allowlists: list[str]) -> bool:
    """The origin gate: a site passes when every allowlist lets it through (the workspace's
    allowed sites, then a narrower list of the thing it asks for, a form say). An empty list
    accepts any site; a request without Origin (a server, or the site itself) passes."""
    return all(origin_allowed(allowed, origin) for allowed in allowlists)


def site_refused(detail: str) -> HttpResponse:
    """403 for a site that is not on the allowlist, with the code the scripts look for."""
    return problem_response(403, detail, code="origin_not_allowed")


def clip(value: Any, limit: int = 2000, *, strip: bool = False) -> str:
    """A value someone on the internet sent, as text of at most ``limit`` characters: text and
    numbers are kept (stripped when asked), anything else (objects, lists, null) reads as ''.
    Clipping never fails, so a long referrer never costs a lead."""
    if not isinstance(value, str | int | float):
        return ""
    text = str(value)
    return (text.strip() if strip else text)[:limit]


def utm_clip(raw: Any) -> dict[str, str]:
    """The UTM tags in a mapping, each clipped; other keys and empty values are left out."""
    if not isinstance(raw, dict):
        return {}
    return {key: clip(raw[key], UTM_MAX_LENGTH) for key in UTM_KEYS if raw.get(key)}


def too_many_requests(detail: str, retry_after: int) -> HttpResponse:
    """429 with Retry-After: the seconds until the rate-limit window that was hit ends."""
    return problem_response(429, detail, headers={"Retry-After": str(retry_after)})
