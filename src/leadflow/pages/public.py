"""Public landing-page endpoints (no login): the page at ``/lp/<workspace>/<slug>/``, its
form's submissions at ``/lp/<workspace>/<slug>/submit`` and the workspace's uploaded images
at ``/lp/<workspace>/images/<content hash>.<ext>`` (beside the pages, so a reverse proxy that
passes a site's path to the pages passes the images too).

The page is served as it was rendered at publish (one cached read, ``served_by_path``): the
view picks the visitor's variant (sticky: a hash of the ``lf_ab`` cookie), puts a fresh time
token in the form, counts the view in the process's batch and answers. A submission goes
through capture's one path with the page and variant recorded (``page_submission_accept``);
CORS, the origin gate, clipping and 429 come from ``core.publickit`` as for every public
endpoint.
"""

import secrets
import time
from types import SimpleNamespace
from typing import Any

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.capture import antispam
from leadflow.capture import selectors as capture_selectors
from leadflow.capture import services as capture_services
from leadflow.capture.fields import RESERVED_PREFIX
from leadflow.capture.public_input import request_base_url, submission_json_read
from leadflow.capture.services import SubmissionInput
from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.core.problems import problem_response
from leadflow.core.publickit import (
    UTM_KEYS,
    clip,
    cors,
    site_allowed,
    site_refused,
    too_many_requests,
    utm_clip,
)
from leadflow.core.ratelimit import client_ip
from leadflow.pages import selectors, services
from leadflow.pages.counters import view_count
from leadflow.pages.models import image_storage, variant_pick
from leadflow.pages.render import TOKEN_MARK, page_html

SPLIT_COOKIE = "lf_ab"
SPLIT_COOKIE_SECONDS = 390 * 86400
TOKEN_MARK_BYTES = TOKEN_MARK.encode()


_TOKENS: dict[str, tuple[float, str]] = {}


def _time_token(form_key: str) -> str:
    """The form's time token for a view: signed once per second per process and shared by
    that second's views (signing is a third of a view's cost). The time trap then counts
    from at most a second before the page was shown."""
    now = time.monotonic()
    kept = _TOKENS.get(form_key)
    if kept is None or now - kept[0] >= 1.0:
        if len(_TOKENS) > 1000:
            _TOKENS.clear()
        kept = _TOKENS[form_key] = (now, antispam.form_token_issue(SimpleNamespace(key=form_key)))
    return kept[1]


def _variant_for(request: HttpRequest, served: selectors.Served) -> tuple[dict, str | None]:
    """The variant this visitor sees and the split cookie to set ('' none to set)."""
    by_id = {v["id"]: v for v in served.variants}
    if served.winner_id in by_id:
        return by_id[served.winner_id], None
    live = [v for v in served.variants if v["weight"] > 0] or served.variants[:1]
    if len(live) == 1:
        return live[0], None
    key = request.COOKIES.get(SPLIT_COOKIE, "")
    new = None
    if not (8 <= len(key) <= 64 and key.replace("-", "").isalnum()):
        key = new = secrets.token_hex(16)
    chosen = variant_pick(key, served.page_id, [(v["id"], v["weight"]) for v in live])
    return by_id[chosen], new


@require_http_methods(["GET", "HEAD"])
def page_view(request: HttpRequest, workspace_slug: str, slug: str) -> HttpResponse:
    """The published page: one cached read, the sticky variant, a fresh time token."""
    served = selectors.served_by_path(f"{workspace_slug}/{slug}")
    if served is None or not served.variants:
        return render(request, "pages/missing.html", status=404)
    variant, new_key = _variant_for(request, served)
    html = variant["html"]
    if served.form_key:
        html = html.replace(TOKEN_MARK_BYTES, _time_token(served.form_key).encode(), 1)
    view_count(variant["id"])
    response = HttpResponse(html)
    # The token makes every answer unique; browsers may keep it for back/forward only.
    response["Cache-Control"] = "private, no-cache"
    if new_key:
        response.set_cookie(
            SPLIT_COOKIE,
            new_key,
            max_age=SPLIT_COOKIE_SECONDS,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure(),
        )
    return response


IMAGE_CACHE = "public, max-age=31536000, immutable"


@require_http_methods(["GET", "HEAD"])
def image_view(request: HttpRequest, workspace_slug: str, file_name: str) -> HttpResponse:
    """An uploaded page image. Its name is the hash of its bytes, so it is cached for a year
    by browsers and proxies; it is streamed from the storage (local or S3-compatible)."""
    served = selectors.image_served(workspace_slug, file_name)
    if served is None:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    etag = f'"{file_name.partition(".")[0]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        try:
            stream = image_storage().open(served.stored_as, "rb")
        except FileNotFoundError:
            return HttpResponse("Not found", status=404, content_type="text/plain")
        response = FileResponse(stream, content_type=served.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = IMAGE_CACHE
    # An image is only ever an image: no script, embeddable on any site (og:image).
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _input(request: HttpRequest, json_mode: bool) -> tuple[SubmissionInput, Any]:
    """The submission as capture takes it, and the variant id as sent."""
    if json_mode:
        data, body = submission_json_read(request, also=("variant", "honeypot"))
        return data, body.get("variant")
    post = request.POST
    fields: dict[str, Any] = {}
    for name in post:
        if not name.startswith(RESERVED_PREFIX):
            values = post.getlist(name)
            fields[name] = values if len(values) > 1 else values[-1]
    return SubmissionInput(
        fields=fields,
        # Without script the page itself is the Referer (with its UTM and click ids).
        page_url=clip(request.headers.get("Referer", "")),
        utm=utm_clip({key: post.get(key) for key in UTM_KEYS}),
        honeypot=clip(post.get(antispam.HONEYPOT_FIELD, ""), 200),
        token=clip(post.get(antispam.TOKEN_FIELD) or "", 1000),
        token_required=True,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:500],
        base_url=request_base_url(request),
    ), post.get("_lf_variant")


def _variant_id(served: selectors.Served, raw: Any) -> int:
    try:
        variant_id = int(raw)
    except (TypeError, ValueError, OverflowError):
        variant_id = None
    if variant_id not in {v["id"] for v in served.variants}:
        raise ValidationFailed([FieldError("variant", "Not a variant of this page.")])
    return variant_id


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def page_submit(request: HttpRequest, workspace_slug: str, slug: str) -> HttpResponse:
    """The page's form: JSON from the page's script, or url-encoded without script."""
    json_mode = request.content_type == "application/json" or request.method == "OPTIONS"
    served = selectors.served_by_path(f"{workspace_slug}/{slug}")
    form = capture_selectors.form_by_key(served.form_key) if served else None
    if form is None:
        return cors(problem_response(404, "No such page."), request)
    origin = request.headers.get("Origin", "")
    if origin.lower() == request_base_url(request).lower():
        origin = ""  # the hosted page itself
    if not site_allowed(origin, form.workspace.allowed_origins):
        return cors(site_refused("This site may not use this page."), request, allowed=False)
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204), request)
    wait = antispam.rate_limited(form, client_ip(request))
    if wait:
        return cors(too_many_requests("Too many submissions; try again shortly.", wait), request)
    try:
        data, raw_variant = _input(request, json_mode)
        variant_id = _variant_id(served, raw_variant)
        outcome = services.page_submission_accept(
            form=form, page_id=served.page_id, variant_id=variant_id, data=data
        )
    except DomainError as error:
        if json_mode or not isinstance(error, ValidationFailed):
            response = problem_response(
                error.status, error.detail, code=error.code, errors=getattr(error, "errors", None)
            )
            return cors(response, request)
        return _render_with_errors(request, served, form, error, raw_variant)
    # The form's lead magnet, as the form's own thank-you screen shows it (made fresh for
    # each answer, a replay too; nothing for a held submission or before a confirmation).
    offer = capture_services.submission_magnet(
        form=form, submission_pk=outcome.submission.pk, base_url=request_base_url(request)
    )
    if json_mode:
        body = {**outcome.body, "magnet": offer.as_json()} if offer else outcome.body
        return cors(JsonResponse(body, status=outcome.status_code), request)
    if form.redirect_url:
        return HttpResponseRedirect(form.redirect_url, status=303)
    return render(
        request,
        "pages/thanks.html",
        {"message": form.success_message, "magnet": offer},
        status=outcome.status_code,
    )


def _render_with_errors(
    request, served, form, failure: ValidationFailed, raw_variant
) -> HttpResponse:
    """A form sent without script came back with errors: the page again, with them."""
    page = selectors.page_by_id(served.page_id)
    variants = {v.pk: v for v in selectors.variants_of(page)}
    try:
        variant = variants[int(raw_variant)]
    except (TypeError, ValueError, OverflowError, KeyError):
        variant = next(iter(variants.values()))
    by_field: dict[str, list[str]] = {}
    for error in failure.errors:
        by_field.setdefault(error.field, []).append(error.message)
    html = page_html(
        page=page,
        variant=variant,
        form=form,
        brand=selectors.brand_get(page.workspace),
        base_url=services.base_url_for(request_base_url(request)),
        tracker_key=page.workspace.public_key,
        errors=by_field,
        values={k: v for k, v in request.POST.items() if not k.startswith(RESERVED_PREFIX)},
        token=request.POST.get(antispam.TOKEN_FIELD, ""),
    )
    return HttpResponse(html, status=422)
