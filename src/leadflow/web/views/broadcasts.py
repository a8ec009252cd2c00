"""Broadcasts in the app: the list, the form (segment, variants A and B: template, sender
and an optional subject of its own, the A/B test's settings, when to send), and a
broadcast's page with its audience, each variant's sent and unique clicks, the decision,
and schedule / cancel. Reading is for every member; the rest is marketing's."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.core.errors import Conflict, ValidationFailed
from leadflow.nurture.models import (
    BroadcastStatus,
    MarketingTemplate,
    Segment,
    SendingIdentity,
    Undecided,
)
from leadflow.nurture.selectors import broadcasts as selectors
from leadflow.nurture.services import broadcasts as services
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map
from leadflow.web.views.common import render_page

MANAGE = "manage_forms"
SECTION = {"section": "broadcasts"}
LABELS = ("A", "B")


def _detail(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    return HttpResponseRedirect(
        reverse("broadcast_detail", args=[request.workspace.slug, broadcast_id])
    )


@workspace_view()
def broadcast_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.broadcast_list(request.workspace)[:200])
    return render_page(request, "web/broadcasts/list.html", {**SECTION, "rows": rows})


def _int(raw: str):
    raw = (raw or "").strip()
    return int(raw) if raw.isdecimal() else (raw or None)


def _values_from_post(post) -> dict:
    variants = []
    for label in LABELS:
        template = _int(post.get(f"{label}-template_id", ""))
        if label == "B" and template is None:
            continue  # no B: a plain broadcast
        variants.append(
            {
                "template_id": template,
                "identity_id": _int(post.get(f"{label}-identity_id", "")),
                "subject": post.get(f"{label}-subject", ""),
            }
        )
    send_at = (post.get("send_at") or "").strip()
    values = {
        "name": post.get("name", ""),
        "segment_id": _int(post.get("segment_id", "")),
        "variants": variants,
        "undecided": post.get("undecided", Undecided.CONTROL),
        "send_at": parse_datetime(send_at) if send_at else None,
    }
    for key in ("test_percent", "test_hours", "min_sample"):
        values[key] = _int(post.get(key, ""))
    confidence = (post.get("confidence") or "").strip()
    try:
        values["confidence"] = float(confidence) / 100 if confidence else None
    except ValueError:
        values["confidence"] = confidence
    if send_at and values["send_at"] is None:
        values["send_at"] = send_at  # shown back as an error by the service
    if values["send_at"] is not None and not isinstance(values["send_at"], str):
        values["send_at"] = timezone.make_aware(values["send_at"], timezone.get_current_timezone())
    return {key: value for key, value in values.items() if value is not None}


def _form(request, broadcast, values, errors, status=200) -> HttpResponse:
    workspace = request.workspace
    page = {
        **SECTION,
        "broadcast": broadcast,
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "segments": Segment.objects.filter(workspace=workspace).order_by("name"),
        "templates": MarketingTemplate.objects.filter(workspace=workspace).order_by("name"),
        "identities": SendingIdentity.objects.filter(workspace=workspace).order_by("from_address"),
        "undecided": Undecided.choices,
    }
    return render_page(request, "web/broadcasts/edit.html", page, status=status)


def _current(broadcast) -> dict:
    if broadcast is None:
        return {"test_percent": 20, "test_hours": 4, "min_sample": 100, "confidence": 95}
    values = {
        "name": broadcast.name,
        "segment_id": broadcast.segment_id,
        "test_percent": broadcast.test_percent,
        "test_hours": broadcast.test_hours,
        "min_sample": broadcast.min_sample,
        "confidence": round(broadcast.confidence * 100, 1),
        "undecided": broadcast.undecided,
        "send_at": broadcast.send_at,
    }
    for variant in broadcast.variants.select_related("message"):
        values[variant.label] = {
            "template_id": variant.message.template_id,
            "identity_id": variant.message.identity_id,
            "subject": variant.message.subject,
        }
    return values


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def broadcast_edit(request: HttpRequest, broadcast_id: int | None = None) -> HttpResponse:
    workspace = request.workspace
    broadcast = selectors.broadcast_get(workspace, broadcast_id) if broadcast_id else None
    if request.method == "GET":
        return _form(request, broadcast, _current(broadcast), {})
    values = _values_from_post(request.POST)
    shown = {**values, "confidence": request.POST.get("confidence", "")}
    for label in LABELS:
        shown[label] = {
            key: _int(request.POST.get(f"{label}-{key}", ""))
            for key in ("template_id", "identity_id")
        } | {"subject": request.POST.get(f"{label}-subject", "")}
    try:
        if broadcast is None:
            broadcast = services.broadcast_create(
                workspace=workspace, actor=request.actor, values=values
            )
            messages.success(request, f"Created “{broadcast.name}”.")
        else:
            services.broadcast_update(
                workspace=workspace, actor=request.actor, broadcast_id=broadcast.pk, values=values
            )
            messages.success(request, "Saved.")
    except ValidationFailed as failure:
        errors = error_map(
            failure,
            rename={
                f"variants[{index}].{key}": f"{label}_{key}"
                for index, label in enumerate(LABELS)
                for key in ("template_id", "identity_id", "subject")
            },
        )
        return _form(request, broadcast, shown, errors, status=422)
    except Conflict as conflict:
        messages.error(request, str(conflict))
    return _detail(request, broadcast.pk)


@workspace_view()
def broadcast_detail(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = selectors.broadcast_get(request.workspace, broadcast_id)
    results = services.variant_results(broadcast)
    for row in results:
        row["percent"] = round(100 * row["rate"], 1)
    groups = selectors.group_sizes(broadcast)
    page = {
        **SECTION,
        "broadcast": broadcast,
        "results": results,
        "groups": groups,
        "tested": sum(size for group, size in groups.items() if group != "rest"),
        "editable": broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED),
        "test_ends": broadcast.started_at + timezone.timedelta(hours=broadcast.test_hours)
        if broadcast.started_at and broadcast.ab_test
        else None,
    }
    return render_page(request, "web/broadcasts/detail.html", page)


@workspace_view(MANAGE)
@require_POST
def broadcast_schedule(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    try:
        broadcast = services.broadcast_schedule(
            workspace=request.workspace, actor=request.actor, broadcast_id=broadcast_id
        )
        when = timezone.localtime(broadcast.send_at).strftime("%b %d, %H:%M")
        messages.success(request, f"Scheduled for {when}.")
    except Conflict as conflict:
        messages.error(request, str(conflict))
    return _detail(request, broadcast_id)


@workspace_view(MANAGE)
@require_POST
def broadcast_cancel(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    services.broadcast_cancel(
        workspace=request.workspace, actor=request.actor, broadcast_id=broadcast_id
    )
    messages.success(request, "Cancelled: nothing more goes out.")
    return _detail(request, broadcast_id)
