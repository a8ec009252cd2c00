"""Lead magnets in the app: the list with each magnet's figures, a new magnet, a magnet's
page (its settings, the file upload, the code pool, the seats and the waiting list).
Every member may read them; making and changing them needs ``manage_forms``. Ids are
looked up in the member's workspace (another's answers 404); a refused input is shown
beside its field with 422."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.capture import magnets, selectors
from leadflow.capture.models import MagnetKind, SeatStatus
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

SECTION = {"section": "magnets"}
MANAGE = "manage_forms"
NUMBERS = {"capacity", "link_days", "max_downloads"}
# The inputs that show their own errors, by kind; an error about any other field (a file
# sent to a link magnet, say) is shown above the form, named by its label.
ERRORS_SHOWN = ("name", "description", "link_days", "max_downloads")
ERRORS_SHOWN_BY_KIND = {
    MagnetKind.FILE: ("file",),
    MagnetKind.URL: ("url",),
    MagnetKind.CODE: ("code_pattern",),
    MagnetKind.SEAT: ("capacity", "event_at"),
}
# The form's fields as it labels them.
LABELS = {
    "name": "Name",
    "kind": "Kind",
    "description": "What it is",
    "active": "On (given to leads)",
    "url": "Address",
    "code_pattern": "Make codes from a pattern",
    "single_use": "Each code can be redeemed once",
    "capacity": "Seats",
    "event_at": "When",
    "link_days": "A link works for (days)",
    "max_downloads": "Downloads per link",
    "file": "File",
    "codes": "Codes",
}
GRANTS_SHOWN = 200
CODE_HEADERS = {"code", "codes", "coupon", "key"}


def _values(magnet) -> dict:
    return {
        "name": magnet.name,
        "kind": magnet.kind,
        "description": magnet.description,
        "active": magnet.active,
        "url": magnet.url,
        "code_pattern": magnet.code_pattern,
        "single_use": magnet.single_use,
        "capacity": magnet.capacity or "",
        "event_at": (
            timezone.localtime(magnet.event_at).strftime("%Y-%m-%dT%H:%M")
            if magnet.event_at
            else ""
        ),
        "link_days": magnet.link_days,
        "max_downloads": magnet.max_downloads or "",
    }


def _posted(post, kind: str) -> tuple[dict, dict]:
    """(what the service gets, what the form shows again)."""
    shown = {name: post.get(name, "").strip() for name in magnets.MAGNET_FIELDS}
    shown["kind"] = kind
    for flag in ("active", "single_use"):
        shown[flag] = post.get(flag) == "on"
    data: dict = {key: shown[key] for key in ("name", "kind", "description", "active")}
    if kind == MagnetKind.URL:
        data["url"] = shown["url"]
    if kind == MagnetKind.CODE:
        data["code_pattern"] = shown["code_pattern"]
        data["single_use"] = shown["single_use"]
    if kind == MagnetKind.SEAT:
        data["capacity"] = shown["capacity"]
        data["event_at"] = shown["event_at"]
    data["link_days"] = shown["link_days"] or 7
    data["max_downloads"] = shown["max_downloads"]
    for name in NUMBERS & set(data):
        text = str(data[name])
        data[name] = None if text == "" else int(text) if text.isdecimal() else text
    if data.get("event_at"):
        try:
            parsed = dt.datetime.fromisoformat(data["event_at"])
        except ValueError:
            pass
        else:
            data["event_at"] = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    elif "event_at" in data:
        data["event_at"] = None
    return data, shown


def _context(request: HttpRequest, magnet, values: dict, errors: dict, **more) -> dict:
    waiting = seated = []
    if magnet is not None and magnet.kind == MagnetKind.SEAT:
        grants = selectors.magnet_grants(request.workspace, magnet)
        seated = list(grants.filter(seat=SeatStatus.SEATED)[:GRANTS_SHOWN])
        waiting = list(grants.filter(seat=SeatStatus.WAITING)[:GRANTS_SHOWN])
    return {
        **SECTION,
        "magnet": magnet,
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(
            errors, (*ERRORS_SHOWN, *ERRORS_SHOWN_BY_KIND.get(values.get("kind"), ())), LABELS
        ),
        "kinds": MagnetKind.choices,
        "may_change": request.membership.can(MANAGE),
        "max_megabytes": magnets.max_megabytes(),
        "accept": ",".join(sorted(magnets.FILE_TYPES)),
        "seated": seated,
        "waiting_list": waiting,
        "codes_text": "",
        "codes_errors": [],
        **more,
    }


@workspace_view("read")
@require_safe
def magnet_list(request: HttpRequest) -> HttpResponse:
    context = {
        **SECTION,
        "magnets": list(selectors.magnet_list(request.workspace)),
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/magnets/list.html", context)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def magnet_new(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") or request.GET.get("kind") or MagnetKind.FILE
    if kind not in MagnetKind.values:
        kind = MagnetKind.FILE
    values: dict = {"kind": kind, "active": True, "link_days": 7}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        data, values = _posted(request.POST, kind)
        try:
            magnet = magnets.magnet_create(
                workspace=request.workspace,
                actor=request.actor,
                data=data,
                file=request.FILES.get("file"),
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Made the lead magnet “{magnet.name}”.")
            return redirect("magnet_detail", request.workspace.slug, magnet.pk)
    return render_page(
        request, "web/magnets/form.html", _context(request, None, values, errors), status=status
    )


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def magnet_detail(request: HttpRequest, magnet_id: int) -> HttpResponse:
    magnet = selectors.magnet_get(request.workspace, magnet_id)
    values, errors, status = _values(magnet), {}, 200
    if request.method == "POST":
        if not request.membership.can(MANAGE):
            raise PermissionDenied("Your role may not change lead magnets.")
        data, values = _posted(request.POST, magnet.kind)
        try:
            magnets.magnet_update(
                workspace=request.workspace,
                magnet_id=magnet.pk,
                actor=request.actor,
                data=data,
                file=request.FILES.get("file"),
                base_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the lead magnet.")
            return redirect("magnet_detail", request.workspace.slug, magnet.pk)
    return render_page(
        request, "web/magnets/form.html", _context(request, magnet, values, errors), status=status
    )


@workspace_view(MANAGE)
@require_POST
def magnet_codes(request: HttpRequest, magnet_id: int) -> HttpResponse:
    """Add pool codes: typed or pasted, or a text/CSV file (one code a line, first column)."""
    magnet = selectors.magnet_get(request.workspace, magnet_id)
    text = request.POST.get("codes", "")
    upload = request.FILES.get("codes_file")
    codes = text.split()
    try:
        if upload is not None:
            if upload.size > 5 * 1024 * 1024:
                raise ValidationFailed([FieldError("codes", "A file of at most 5 MB.")])
            try:
                lines = upload.read().decode("utf-8-sig").splitlines()
            except UnicodeDecodeError:
                raise ValidationFailed([FieldError("codes", "A UTF-8 text or CSV file.")]) from None
            column = [line.split(",")[0].strip().strip('"') for line in lines]
            if column and column[0].lower() in CODE_HEADERS:  # a CSV's header row
                column = column[1:]
            codes += column
        added, skipped = magnets.magnet_codes_add(
            workspace=request.workspace, magnet_id=magnet.pk, codes=codes, actor=request.actor
        )
    except ValidationFailed as failure:
        context = _context(
            request,
            magnet,
            _values(magnet),
            {},
            codes_text=text,
            codes_errors=[error.message for error in failure.errors],
        )
        return render_page(request, "web/magnets/form.html", context, status=422)
    note = f" ({skipped} already there)" if skipped else ""
    messages.success(request, f"Added {added} codes{note}.")
    return redirect("magnet_detail", request.workspace.slug, magnet.pk)


@workspace_view(MANAGE)
@require_POST
def magnet_seat_release(request: HttpRequest, magnet_id: int, contact_id: int) -> HttpResponse:
    """Release a lead's seat; the first lead on the waiting list gets it and is emailed."""
    magnet = selectors.magnet_get(request.workspace, magnet_id)
    try:
        grant = magnets.magnet_seat_release(
            workspace=request.workspace,
            magnet_id=magnet.pk,
            contact_id=contact_id,
            actor=request.actor,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except Conflict as refusal:
        messages.error(request, str(refusal.detail))
    else:
        messages.success(request, f"Released the seat of {grant.contact}.")
    return redirect("magnet_detail", request.workspace.slug, magnet.pk)
