"""Settings → Lead sources: inbound webhooks in the app.

The list (with a new-source form), one source (its webhook URL and secret to copy, the
network's app secret, the mapping, the defaults, rotate / switch off / delete), and its
delivery log (filter by status, one delivery's body and reasons, replay).

Owners, admins and marketers manage lead sources: the roles that may also delete leads
(``write`` and ``delete`` in ``core.models.ROLE_PERMISSIONS``). Sales and viewers cannot
reach these pages: the delivery log shows every lead's raw data, whoever owns it. Forcing
in an unverified delivery is for owners and admins (the service checks it).
"""

import contextlib
import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts.models import LifecycleStage
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from leadflow.inbound import formats, selectors, services
from leadflow.inbound.models import DeliveryStatus, LeadSource, SourceFormat, webhook_url
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors, optional_int, tag_names_from_text
from leadflow.web.views.common import PAGE_SIZE, query_with, render_page

MANAGE = {"permission": "write", "also": ("delete",)}
SECTION = {"settings_section": "lead_sources"}
FORMAT_HELP = {
    SourceFormat.FACEBOOK: "Meta Lead Ads: field_data from the Graph API or an integration.",
    SourceFormat.LINKEDIN: "LinkedIn Lead Gen Forms: a Lead Sync form response.",
    SourceFormat.GOOGLE: "Google Ads lead form extensions (webhook with a key).",
    SourceFormat.GENERIC: "Any JSON: map dotted paths to contact fields.",
}


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@workspace_view(**MANAGE)
@require_http_methods(["GET", "POST"])
def lead_source_list(request: HttpRequest) -> HttpResponse:
    """Every lead source with its counts (one grouped query), and a form for a new one."""
    values = {"name": "", "format": SourceFormat.FACEBOOK}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "format": request.POST.get("format", "")}
        try:
            source = services.lead_source_create(
                workspace=request.workspace, data=values, actor=request.actor
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Created the lead source {source.name}.")
            return redirect("settings_lead_source", request.workspace.slug, source.pk)
    context = {
        **SECTION,
        "sources": selectors.source_list(request.workspace),
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, ("name", "format")),
        "format_choices": [
            (value, label, FORMAT_HELP[value]) for value, label in SourceFormat.choices
        ],
    }
    return render_page(request, "web/inbound/list.html", context, status=status)


def _edit_values(source: LeadSource) -> dict:
    return {
        "name": source.name,
        "mapping": json.dumps(source.mapping, indent=2) if source.mapping else "",
        "default_tags": ", ".join(source.default_tags),
        "default_lifecycle_stage": source.default_lifecycle_stage,
        "default_owner_id": source.default_owner_id or "",
        "is_active": source.is_active,
    }


def _posted_values(request: HttpRequest) -> dict:
    """The edit form's values, to show again when the save is refused."""
    post = request.POST
    return {
        "name": post.get("name", ""),
        "mapping": post.get("mapping", ""),
        "default_tags": post.get("default_tags", ""),
        "default_lifecycle_stage": post.get("default_lifecycle_stage", ""),
        "default_owner_id": post.get("default_owner_id", ""),
        "is_active": post.get("is_active") == "on",
    }


def _posted_data(request: HttpRequest, values: dict) -> dict:
    """The service's input from the edit form (the mapping is JSON text)."""
    data: dict = {
        "name": values["name"],
        "default_tags": tag_names_from_text(values["default_tags"]),
        "default_lifecycle_stage": values["default_lifecycle_stage"],
        "default_owner_id": optional_int(values["default_owner_id"], "default_owner_id"),
        "is_active": values["is_active"],
    }
    try:
        data["mapping"] = json.loads(values["mapping"]) if values["mapping"].strip() else {}
    except ValueError as error:
        raise ValidationFailed([FieldError("mapping", f"Not valid JSON: {error.msg}.")]) from None
    if request.POST.get("app_secret"):  # blank keeps the secret that is set
        data["app_secret"] = request.POST["app_secret"]
    if request.POST.get("clear_app_secret") == "on":
        data["app_secret"] = ""
    return data


@workspace_view(**MANAGE)
@require_http_methods(["GET", "POST"])
def lead_source_detail(request: HttpRequest, source_id: int) -> HttpResponse:
    """One source: the URL and secret to give the sender, and its settings."""
    source = selectors.source_get(request.workspace, source_id)
    values, errors, status = _edit_values(source), {}, 200
    if request.method == "POST":
        values = _posted_values(request)
        try:
            services.lead_source_update(
                workspace=request.workspace,
                source_id=source.pk,
                data=_posted_data(request, values),
                actor=request.actor,
            )
        except ValidationFailed as failure:
            errors, status = _merge_mapping_errors(error_map(failure)), 422
        else:
            messages.success(request, "Lead source saved. Replay rejected deliveries to apply it.")
            return redirect("settings_lead_source", request.workspace.slug, source.pk)
    shown = ("name", "mapping", "default_tags", "default_lifecycle_stage", "default_owner_id")
    context = {
        **SECTION,
        "source": source,
        "webhook_url": webhook_url(source, _base_url(request)),
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, (*shown, "app_secret", "is_active")),
        "stage_choices": LifecycleStage.choices,
        "members": list(
            core_selectors.member_users(
                request.workspace, permission=core_selectors.LEAD_OWNER_PERMISSION
            )
        ),
        "standard_fields": sorted(formats.STANDARD_FIELDS[source.format].items()),
        "targets": formats.CONTACT_TARGETS,
        "needs_app_secret": source.format in (SourceFormat.FACEBOOK, SourceFormat.LINKEDIN),
        "grace_until": source.previous_secret_expires_at
        if source.previous_secret in source.secrets_accepted()
        else None,
    }
    return render_page(request, "web/inbound/detail.html", context, status=status)


def _merge_mapping_errors(errors: dict) -> dict:
    """Mapping errors are shown together under the mapping box, each with its entry."""
    merged: dict[str, list[str]] = {}
    for name, texts in errors.items():
        if name.startswith("mapping."):
            merged.setdefault("mapping", []).extend(
                f"{name.removeprefix('mapping.')}: {text}" for text in texts
            )
        else:
            merged.setdefault(name, []).extend(texts)
    return merged


@workspace_view(**MANAGE)
@require_POST
def lead_source_rotate(request: HttpRequest, source_id: int) -> HttpResponse:
    services.lead_source_rotate_secret(
        workspace=request.workspace, source_id=source_id, actor=request.actor
    )
    messages.success(
        request, "New secret made. The previous one keeps working for 24 hours: update the sender."
    )
    return redirect("settings_lead_source", request.workspace.slug, source_id)


@workspace_view(**MANAGE)
@require_POST
def lead_source_delete(request: HttpRequest, source_id: int) -> HttpResponse:
    source = selectors.source_get(request.workspace, source_id)
    services.lead_source_delete(
        workspace=request.workspace, source_id=source.pk, actor=request.actor
    )
    messages.success(request, f"Deleted the lead source {source.name} and its delivery log.")
    return redirect("settings_lead_sources", request.workspace.slug)


@workspace_view(**MANAGE)
@require_safe
def lead_source_deliveries(request: HttpRequest, source_id: int) -> HttpResponse:
    """The delivery log, newest first, filtered by status, in keyset pages."""
    source = selectors.source_get(request.workspace, source_id)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    error = ""
    try:
        page = cursor_paginate(
            selectors.delivery_list(request.workspace, source.pk, status=status or None),
            sort="-received_at",
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed:
        error = "That page link is no longer valid; showing the newest deliveries."
        page = cursor_paginate(
            selectors.delivery_list(request.workspace, source.pk, status=status or None),
            sort="-received_at",
            cursor=None,
            limit=PAGE_SIZE,
        )
    params = {"status": status}
    context = {
        **SECTION,
        "source": source,
        "deliveries": page.items,
        "status": status,
        "status_choices": DeliveryStatus.choices,
        "error": error,
        "next_query": query_with(params, cursor=page.next_cursor) if page.next_cursor else "",
        "first_query": query_with(params),
        "is_later_page": bool(request.GET.get("cursor")),
    }
    return render_page(request, "web/inbound/deliveries.html", context)


@workspace_view(**MANAGE)
@require_safe
def lead_source_delivery(request: HttpRequest, source_id: int, delivery_id: int) -> HttpResponse:
    """One delivery: when, from where, its headers and body (shown as text, escaped), its
    reasons, and the replay button."""
    delivery = selectors.delivery_get(request.workspace, source_id, delivery_id)
    body = delivery.body
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    context = {
        **SECTION,
        "source": delivery.source,
        "delivery": delivery,
        "body": body,
        "replayable": delivery.status
        in (DeliveryStatus.REJECTED, DeliveryStatus.UNVERIFIED, DeliveryStatus.NEEDS_FETCH),
        "may_force": request.membership.can("manage_settings"),
    }
    return render_page(request, "web/inbound/delivery.html", context)


@workspace_view(**MANAGE)
@require_POST
def lead_source_delivery_replay(
    request: HttpRequest, source_id: int, delivery_id: int
) -> HttpResponse:
    try:
        outcome = services.delivery_replay(
            workspace=request.workspace,
            source_id=source_id,
            delivery_id=delivery_id,
            actor=request.actor,
            force=request.POST.get("force") == "on",
            base_url=_base_url(request),
        )
    except (Conflict, PermissionDenied) as error:
        messages.error(request, error.detail)
    else:
        text = {
            "accepted": "Replayed: the lead is stored.",
            "duplicate": "Replayed: this lead was accepted already through another delivery.",
            "unchanged": "This delivery was accepted already: nothing to replay.",
            "needs_fetch": "Replayed: the payload still carries only the lead id.",
        }.get(outcome.result)
        if text:
            messages.success(request, text)
        else:
            messages.error(
                request,
                "Replayed, still rejected: "
                + "; ".join(f"{e.field}: {e.message}" for e in outcome.errors),
            )
    return redirect("settings_lead_source_delivery", request.workspace.slug, source_id, delivery_id)
