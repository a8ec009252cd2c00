"""Public capture endpoints: the hosted/iframe form, the embed config, submissions, opt-in.

They carry no session authority, so they are CSRF-exempt; CORS answers only the form's
allowed origins (any origin when the list is empty). Every answer to a submission comes
after the commit of ``services.submission_accept``. CORS, the origin gate, clipping and the
429 answer come from ``core.publickit``, as for every public endpoint.
"""

import uuid
from typing import Any

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.capture import antispam, magnet_links, selectors, services
from leadflow.capture.fields import RESERVED_PREFIX, public_definition
from leadflow.capture.models import Form, FormStatus, MagnetKind
from leadflow.capture.public_input import fields_shown, request_base_url, submission_json_read
from leadflow.core.errors import DomainError, FieldError, NotFound, ValidationFailed
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
from leadflow.core.ratelimit import client_ip, rate_limit_hit

# The hidden inputs a rendered form carries from one render to the next.
CONTEXT_FIELDS = (
    "_lf_page_url",
    "_lf_referrer",
    "_lf_visitor_id",
    *(f"_lf_{key}" for key in UTM_KEYS),
)


def _site_origin(request: HttpRequest) -> str:
    """The Origin of the site that sent this request; '' for LeadFlow's own pages (the
    hosted and iframe form post to themselves and are always allowed)."""
    origin = request.headers.get("Origin", "")
    return "" if origin.lower() == request_base_url(request).lower() else origin


def _origin_allowed(form: Form, origin: str) -> bool:
    """The workspace's allowed sites govern every form; a form may narrow them further."""
    return site_allowed(origin, form.workspace.allowed_origins, form.allowed_origins)


def _cors(response: HttpResponse, request: HttpRequest, form: Form | None) -> HttpResponse:
    """CORS for an answer about ``form`` (None: an answer any site may read, an error)."""
    origin = request.headers.get("Origin", "")
    return cors(response, request, allowed=form is None or _origin_allowed(form, origin))


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json"


def _form_or_404(key: str) -> Form:
    form = selectors.form_by_key(key)
    if form is None:
        raise NotFound("No such form.")
    return form


def _form_input(request: HttpRequest, form: Form) -> services.SubmissionInput:
    fields: dict[str, Any] = {}
    checkbox_names = {f["name"] for f in form.fields if f["type"] == "checkboxes"}
    for name in request.POST:
        if name.startswith(RESERVED_PREFIX):
            continue
        values = request.POST.getlist(name)
        fields[name] = values if name in checkbox_names else values[-1]
    submission_id = None
    if request.POST.get("_lf_submission_id"):
        try:
            submission_id = uuid.UUID(request.POST["_lf_submission_id"])
        except ValueError:
            raise ValidationFailed([FieldError("_lf_submission_id", "Must be a UUID.")]) from None
    page_url = request.POST.get("_lf_page_url") or _outside_referer(request)
    return services.SubmissionInput(
        fields=fields,
        submission_id=submission_id,
        page_url=clip(page_url),
        referrer=clip(request.POST.get("_lf_referrer", "")),
        utm=utm_clip(
            {key: request.POST.get(f"_lf_{key}") or request.POST.get(key) for key in UTM_KEYS}
        ),
        visitor_id=clip(request.POST.get("_lf_visitor_id", ""), 100),
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:500],
        honeypot=clip(request.POST.get(antispam.HONEYPOT_FIELD, ""), 200),
        token=request.POST.get(antispam.TOKEN_FIELD),
        pow_nonce="",
        token_required=False,
        base_url=request_base_url(request),
    )


def _typed_values(request: HttpRequest, form: Form) -> dict[str, Any]:
    """What the person typed, to fill the re-rendered form (checkboxes as lists)."""
    checkbox_names = {f["name"] for f in form.fields if f["type"] == "checkboxes"}
    return {
        name: request.POST.getlist(name) if name in checkbox_names else request.POST[name]
        for name in request.POST
        if not name.startswith(RESERVED_PREFIX)
    }


def _outside_referer(request: HttpRequest) -> str:
    """The Referer unless it is one of LeadFlow's own pages (the iframe's own URL is never
    the page a lead came from). Across sites browsers send only the origin by default."""
    referer = request.headers.get("Referer", "")
    base = request_base_url(request).lower()
    return "" if referer.lower() == base or referer.lower().startswith(base + "/") else referer


def _shown_context(request: HttpRequest) -> dict[str, str]:
    """The page context a rendered form carries in hidden ``_lf_*`` inputs.

    The hosted page is itself the page (its query string holds the UTM and click ids) and
    the Referer is where the visitor came from. In a frame (``?embed=1``) the page is the
    site around it, as far as the Referer tells (the snippet's script sends the full URL,
    the referrer and the visitor id by postMessage). A re-rendered form keeps what was
    posted, so correcting a typo loses no attribution.
    """
    if request.method == "POST":
        carried = {
            name: clip(request.POST.get(name, ""), 100 if name == "_lf_visitor_id" else 2000)
            for name in CONTEXT_FIELDS
            if request.POST.get(name)
        }
        if "_lf_page_url" not in carried and _outside_referer(request):
            carried["_lf_page_url"] = clip(_outside_referer(request))  # as the post had it
        return carried
    if request.GET.get("embed") == "1":
        return {"_lf_page_url": clip(_outside_referer(request))}
    return {
        "_lf_page_url": clip(request.build_absolute_uri()),
        "_lf_referrer": clip(_outside_referer(request)),
    }


def _render_form(
    request: HttpRequest,
    form: Form,
    *,
    errors: list[FieldError] | None = None,
    values: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    by_field: dict[str, list[str]] = {}
    for error in errors or []:
        by_field.setdefault(error.field, []).append(error.message)
    definitions, other_errors = fields_shown(form.fields, by_field, values)
    if request.method == "POST":  # the first render's time carries over (antispam)
        token, wait = antispam.form_token_carry(form, request.POST.get(antispam.TOKEN_FIELD))
    else:
        token, wait = antispam.form_token_issue(form), float(form.min_fill_seconds)
    response = render(
        request,
        "capture/form_page.html",
        {
            "form": form,
            "fields": definitions,
            "token": token,
            # The page's script holds a send back until the form's minimum fill time has
            # passed (as the embed script does), with a quarter second to spare.
            "wait_ms": int(wait * 1000) + 250 if token else 0,
            "context": sorted(_shown_context(request).items()),
            "honeypot": antispam.HONEYPOT_FIELD,
            "other_errors": other_errors,
            "embedded": request.GET.get("embed") == "1",
        },
        status=status,
    )
    if form.allowed_origins:
        response["Content-Security-Policy"] = "frame-ancestors 'self' " + " ".join(
            form.allowed_origins
        )
    return response


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def form_endpoint(request: HttpRequest, key: str) -> HttpResponse:
    """GET: the hosted form page (also the iframe URL). POST: a submission, JSON or
    url-encoded. OPTIONS: the CORS preflight for the embed script."""
    form = selectors.form_by_key(key)
    json_mode = _wants_json(request) or request.method == "OPTIONS"
    if form is None:
        return (
            problem_response(404, "No such form.")
            if json_mode
            else render(request, "capture/form_missing.html", status=404)
        )
    origin = _site_origin(request)
    if request.method == "OPTIONS":
        if not _origin_allowed(form, origin):
            return problem_response(403, "This site may not use this form.")
        return _cors(HttpResponse(status=204), request, form)
    if request.method == "GET":
        if form.status != FormStatus.ACTIVE:
            return render(request, "capture/form_missing.html", {"disabled": True}, status=410)
        return _render_form(request, form)
    if not _origin_allowed(form, origin):
        if not json_mode:
            return render(request, "capture/form_missing.html", {"forbidden": True}, status=403)
        return _cors(site_refused("This site may not use this form."), request, None)
    wait = antispam.rate_limited(form, client_ip(request))
    if wait:
        return _cors(
            too_many_requests("Too many submissions; try again shortly.", wait), request, form
        )
    if json_mode:
        try:
            outcome = services.submission_accept(form=form, data=submission_json_read(request)[0])
        except DomainError as error:
            return _cors(
                problem_response(
                    error.status,
                    error.detail,
                    code=error.code,
                    errors=getattr(error, "errors", None),
                ),
                request,
                form,
            )
        body = outcome.body
        offer = services.submission_magnet(
            form=form, submission_pk=outcome.submission.pk, base_url=request_base_url(request)
        )
        if offer is not None:  # made fresh for each answer (a replay too), never stored
            body = {**body, "magnet": offer.as_json()}
        return _cors(JsonResponse(body, status=outcome.status_code), request, form)
    try:
        data = _form_input(request, form)
        outcome = services.submission_accept(form=form, data=data)
    except ValidationFailed as failure:
        return _render_form(
            request,
            form,
            errors=failure.errors,
            status=422,
            values=_typed_values(request, form),
        )
    except DomainError as error:
        return render(request, "capture/form_missing.html", {"disabled": True}, status=error.status)
    if form.redirect_url:
        return HttpResponseRedirect(form.redirect_url, status=303)
    offer = services.submission_magnet(
        form=form, submission_pk=outcome.submission.pk, base_url=request_base_url(request)
    )
    return render(
        request,
        "capture/thanks.html",
        {"form": form, "embedded": request.GET.get("embed") == "1", "magnet": offer},
        status=outcome.status_code,
    )


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def form_config(request: HttpRequest, key: str) -> HttpResponse:
    """What the embed script needs: the fields with their rules, a fresh time token, the
    proof-of-work challenge when the form asks for one."""
    form = selectors.form_by_key(key)
    if form is None:
        return _cors(problem_response(404, "No such form."), request, None)
    origin = _site_origin(request)
    if not _origin_allowed(form, origin):
        return _cors(site_refused("This site may not use this form."), request, None)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, form)
    if form.status != FormStatus.ACTIVE:
        return _cors(
            problem_response(410, "This form no longer accepts submissions."), request, form
        )
    token = antispam.form_token_issue(form)
    body = {
        "key": form.key,
        "name": form.name,
        "submit_label": form.submit_label,
        "fields": [public_definition(field) for field in form.fields],
        "token": token,
        "honeypot": antispam.HONEYPOT_FIELD,
        "success_message": form.success_message,
        "redirect_url": form.redirect_url or None,
        # The script waits this long after loading before it sends, so a quick person
        # (autofill) is never mistaken for a bot by the time trap.
        "min_fill_seconds": form.min_fill_seconds,
        "proof_of_work": (
            {
                "challenge": antispam.form_token_read(form, token)["c"],
                "bits": antispam.DIFFICULTY_BITS,
            }
            if form.proof_of_work
            else None
        ),
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return _cors(response, request, form)


def optin_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link from the double opt-in email: the lead becomes confirmed."""
    try:
        submission = services.optin_confirm(
            token=token, ip=client_ip(request), base_url=request_base_url(request)
        )
    except DomainError as error:
        return render(
            request, "capture/optin_done.html", {"error": error.detail}, status=error.status
        )
    offer = services.submission_magnet(
        form=submission.form,
        submission_pk=submission.pk,
        base_url=request_base_url(request),
        confirmed=True,
    )
    return render(
        request,
        "capture/optin_done.html",
        {"workspace": submission.workspace, "magnet": offer},
    )


# --- lead magnets ---------------------------------------------------------------------------

RENEW_PER_IP = 5  # fresh-link requests per IP per 10 minutes


def _file_response(grant) -> HttpResponse:
    """The file, streamed from local storage, or a short-lived presigned redirect when the
    storage has no local path (S3-compatible)."""
    magnet = grant.magnet
    storage = magnet.file.storage
    try:
        storage.path(magnet.file.name)
    except NotImplementedError:
        return HttpResponseRedirect(storage.url(magnet.file.name))
    response = FileResponse(
        magnet.file.open("rb"),
        as_attachment=True,
        filename=magnet.file_name or None,
        content_type=magnet.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def magnet_open(request: HttpRequest, key: str, token: str) -> HttpResponse:
    """A lead's signed link: the file, the external page, or their code or seat. An
    altered link (404) or an expired one (410) offers to email a fresh one. A HEAD (link
    checkers, mail scanners) counts nothing and answers nothing."""
    if request.method == "HEAD":
        return HttpResponse(status=200)
    try:
        grant = magnet_links.magnet_open(key=key, token=token)
    except magnet_links.LinkExpired as error:
        return render(
            request,
            "capture/magnet_link.html",
            {"error": error.detail, "key": key, "token": token},
            status=error.status,
        )
    except magnet_links.LinkInvalid as error:
        known = selectors.magnet_by_key(key) is not None
        return render(
            request,
            "capture/magnet_link.html",
            {"error": error.detail, "key": key if known else ""},
            status=error.status,
        )
    magnet = grant.magnet
    if magnet.kind == MagnetKind.FILE:
        return _file_response(grant)
    if magnet.kind == MagnetKind.URL:
        return HttpResponseRedirect(magnet.url)
    response = render(request, "capture/magnet.html", {"grant": grant, "magnet": magnet})
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt  # no session authority: it only ever emails the lead's own address
@require_POST
def magnet_renew(request: HttpRequest, key: str) -> HttpResponse:
    """Email a fresh link to the lead (from an expired link, or by the address typed on an
    altered one's page). The same answer whatever happened; rate limited per IP."""
    wait = rate_limit_hit(
        f"magnet-renew:{client_ip(request)}", limit=RENEW_PER_IP, window_seconds=600
    )
    if wait:
        response = render(
            request,
            "capture/magnet_link.html",
            {"error": "Too many requests; try again in a few minutes."},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    magnet_links.magnet_link_renew(
        key=key,
        base_url=request_base_url(request),
        token=clip(request.POST.get("token", ""), 500),
        email=clip(request.POST.get("email", ""), 254),
    )
    return render(request, "capture/magnet_link.html", {"sent": True})
