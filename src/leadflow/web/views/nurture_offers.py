"""Offers: the personal offers a workspace gives (a generated code per person, or codes from
an uploaded pool), for whom (interests), when (period, days a code stays valid), and how
they do (given, redeemed, left). Every member may read them; making and changing them needs
``manage_forms`` (marketers, admins, owners). Ids are looked up in the member's workspace
(another's answers 404); a refused input is shown beside its field with 422."""

import datetime as dt
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import OfferKind
from leadflow.nurture.selectors.offers import offer_codes_recent, offer_get, offer_list
from leadflow.nurture.services.offers import (
    OFFER_FIELDS,
    offer_codes_add,
    offer_create,
    offer_update,
)
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

SECTION = {"section": "offers"}
MANAGE = "manage_forms"


def _local_input(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _values(offer) -> dict:
    return {
        "name": offer.name,
        "description": offer.description,
        "kind": offer.kind,
        "prefix": offer.prefix,
        "interests": ", ".join(offer.interests),
        "priority": offer.priority,
        "starts_at": _local_input(offer.starts_at),
        "ends_at": _local_input(offer.ends_at),
        "valid_days": offer.valid_days or "",
        "active": offer.active,
    }


def _posted(post) -> tuple[dict, dict]:
    """(what the service gets, what the form shows again)."""
    shown = {name: post.get(name, "").strip() for name in OFFER_FIELDS}
    shown["active"] = post.get("active") == "on"
    data: dict = {
        "name": shown["name"],
        "description": shown["description"],
        "kind": shown["kind"] or OfferKind.GENERATED,
        "prefix": shown["prefix"],
        "interests": [one.strip() for one in shown["interests"].split(",") if one.strip()],
        "active": shown["active"],
    }
    for name in ("priority", "valid_days"):
        text = shown[name]
        if text == "":
            data[name] = 0 if name == "priority" else None
        else:
            data[name] = int(text) if re.fullmatch(r"-?\d{1,6}", text) else text
    for name in ("starts_at", "ends_at"):
        text = shown[name]
        if not text:
            data[name] = None
            continue
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            data[name] = text
        else:
            data[name] = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    return data, shown


@workspace_view("read")
@require_safe
def offer_index(request: HttpRequest) -> HttpResponse:
    context = {
        **SECTION,
        "offers": list(offer_list(request.workspace)),
        "may_change": request.membership.can(MANAGE),
        "now": timezone.now(),
    }
    return render_page(request, "web/nurture/offers.html", context)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def offer_new(request: HttpRequest) -> HttpResponse:
    values = {"kind": OfferKind.GENERATED, "active": True, "priority": 0}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        data, values = _posted(request.POST)
        try:
            offer = offer_create(workspace=request.workspace, actor=request.actor, data=data)
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Made the offer “{offer.name}”.")
            return redirect("offer_detail", request.workspace.slug, offer.pk)
    context = {
        **SECTION,
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, OFFER_FIELDS),
        "kinds": OfferKind.choices,
        "offer": None,
        "may_change": True,
    }
    return render_page(request, "web/nurture/offer_form.html", context, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = offer_get(request.workspace, offer_id)
    may_change = request.membership.can(MANAGE)
    values, errors, status = _values(offer), {}, 200
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied("Your role may not change offers.")
        data, values = _posted(request.POST)
        if offer.codes.exists():
            data.pop("kind", None)  # shown, not changeable, once it has codes
        try:
            offer_update(
                workspace=request.workspace, offer_id=offer.pk, actor=request.actor, data=data
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the offer.")
            return redirect("offer_detail", request.workspace.slug, offer.pk)
    context = {
        **SECTION,
        "offer": offer,
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, OFFER_FIELDS),
        "kinds": OfferKind.choices,
        "codes": offer_codes_recent(offer),
        "may_change": may_change,
        "codes_text": "",
        "codes_errors": [],
    }
    return render_page(request, "web/nurture/offer_form.html", context, status=status)


@workspace_view(MANAGE)
@require_POST
def offer_codes(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = offer_get(request.workspace, offer_id)
    text = request.POST.get("codes", "")
    try:
        added, skipped = offer_codes_add(
            workspace=request.workspace, offer_id=offer.pk, actor=request.actor, codes=text.split()
        )
    except ValidationFailed as failure:
        context = {
            **SECTION,
            "offer": offer,
            "values": _values(offer),
            "errors": {},
            "other_errors": [],
            "kinds": OfferKind.choices,
            "codes": offer_codes_recent(offer),
            "may_change": True,
            "codes_text": text,
            "codes_errors": [error.message for error in failure.errors],
        }
        return render_page(request, "web/nurture/offer_form.html", context, status=422)
    note = f" ({skipped} already known)" if skipped else ""
    messages.success(request, f"Added {added} codes{note}.")
    return redirect("offer_detail", request.workspace.slug, offer.pk)
