"""Nurture's tracking endpoints (no session, no cookie; docs/nurture/tracking.md):

- ``GET /t/c/<token>/``: a tracked link. Records the click (counted, or filtered as a
  scanner's) and redirects (302) to the address the token was signed with, with the
  person's ``lf_c`` token added when it leads to one of the workspace's own sites.
- ``GET /t/o/<token>.gif``: the open pixel. Records the open and answers a 1x1 GIF.

An altered or foreign token answers 404 and writes nothing (the redirect only ever goes
where a sender signed: never an open redirect). Both answer fast and never fail the
reader: above the per-IP rate limit, or when the database cannot be written, the click
still redirects and the pixel still loads, unrecorded.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.nurture.services.tracking import Engagement, engagement_record
from leadflow.nurture.tracking import Tracked, click_read, open_read, with_contact_token
from leadflow.tracking.services import contact_link_token

logger = logging.getLogger("leadflow.nurture.tracking")

PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _private(response: HttpResponse) -> HttpResponse:
    # The token is the reader's key: never cached, never sent onwards as a referrer.
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _record(request: HttpRequest, tracked: Tracked) -> Engagement | None:
    if rate_limit_hit(
        f"nurture-track-ip:{client_ip(request)}",
        limit=settings.LEADFLOW_TRACKING_RATE_PER_IP,
        window_seconds=60,
    ):
        return None
    try:
        return engagement_record(
            tracked=tracked,
            method=request.method or "GET",
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except DatabaseError:
        # The reader still gets where they were going; only the count is lost.
        logger.warning("An email open or click could not be recorded.", exc_info=True)
        return None


def _destination(tracked: Tracked, engagement: Engagement | None) -> str:
    """The signed address; for a person's click (not a scanner's) with the ``lf_c`` token
    when it leads to one of the workspace's own sites."""
    if engagement is None or not engagement.counted:
        return tracked.url
    origins = (
        Workspace.objects.filter(pk=engagement.workspace_id)
        .values_list("allowed_origins", flat=True)
        .first()
    )
    if not origins:
        return tracked.url
    reader = Contact(pk=engagement.contact_id, workspace_id=engagement.workspace_id)
    return with_contact_token(tracked.url, contact_link_token(reader), list(origins))


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    tracked = click_read(token)
    if tracked is None:
        return _private(HttpResponseNotFound("No such link.", content_type="text/plain"))
    engagement = _record(request, tracked)
    return _private(HttpResponseRedirect(_destination(tracked, engagement)))


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    tracked = open_read(token)
    if tracked is None:
        return _private(HttpResponseNotFound("No such image.", content_type="text/plain"))
    _record(request, tracked)
    return _private(HttpResponse(PIXEL, content_type="image/gif"))
