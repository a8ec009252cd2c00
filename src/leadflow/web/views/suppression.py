"""Settings → Suppression list and Settings → Subscription topics (nurture), and the
contact page's "suppressed" line.

The list keeps only hashes, so the page finds an address by hashing what is typed (a GET
with ``?address=``); it adds addresses by hand or from a CSV, removes one (the audit log
keeps who and when), and counts the list by reason. Marketing's pages: the roles with
``manage_forms`` (owner, admin, marketer), as forms and the consent they collect are.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.errors import ValidationFailed
from leadflow.nurture import selectors, services
from leadflow.nurture.models import SuppressionReason
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map

PAGE_SIZE = 50
# What a member may give as the reason of an address added by hand (bounces and
# unsubscribes come from the sender and the links; "imported" from the CSV).
MANUAL_REASONS = [
    (SuppressionReason.MANUAL.value, "Asked not to be emailed / added by hand"),
    (SuppressionReason.COMPLAINT.value, "Complaint (marked as spam)"),
    (SuppressionReason.HARD_BOUNCE.value, "Hard bounce (the address does not exist)"),
]
MAX_CSV_BYTES = 20 * 1024 * 1024


def contact_suppression_context(request: HttpRequest, contact: Contact) -> dict[str, Any]:
    """The contact page's line: the list's row for the contact's address, if any."""
    return {"suppression": selectors.contact_suppression(request.workspace, contact)}


def _list_page(
    request: HttpRequest,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    reason = request.GET.get("reason", "")
    if reason not in SuppressionReason.values:
        reason = ""
    rows = selectors.suppression_list(workspace, reason=reason or None)
    try:
        page = cursor_paginate(
            rows, sort="-created_at", cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except ValidationFailed:
        page = cursor_paginate(rows, sort="-created_at", cursor=None, limit=PAGE_SIZE)
    counts = selectors.suppression_counts(workspace)
    searched = request.GET.get("address", "").strip()[:254]
    found = selectors.suppression_by_address(workspace, searched) if searched else None
    context = {
        "settings_section": "suppression",
        "rows": page.items,
        "next_cursor": page.next_cursor,
        "reason": reason,
        "reasons": [(value, label, counts[value]) for value, label in SuppressionReason.choices],
        "total": sum(counts.values()),
        "searched": searched,
        "found": found,
        "manual_reasons": MANUAL_REASONS,
        "values": values or {"reason": SuppressionReason.MANUAL.value},
        "errors": errors or {},
    }
    return render(request, "web/nurture/suppression.html", context, status=status)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def suppression_list(request: HttpRequest) -> HttpResponse:
    """GET: the list (``?reason=``, ``?cursor=``), the search (``?address=``). POST: add
    one address."""
    if request.method == "GET":
        return _list_page(request)
    values = {name: request.POST.get(name, "") for name in ("address", "reason", "note")}
    if values["reason"] not in dict(MANUAL_REASONS):
        values["reason"] = SuppressionReason.MANUAL.value
    try:
        added = services.suppression_add(
            workspace=request.workspace,
            address=values["address"],
            reason=values["reason"],
            note=values["note"],
            source="app",
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return _list_page(request, values=values, errors=error_map(failure), status=422)
    address = values["address"].strip()
    if added.created:
        messages.success(request, f"{address} is suppressed: it will not be emailed.")
    else:
        messages.info(
            request,
            f"{address} was already suppressed ({added.suppression.get_reason_display()}).",
        )
    return redirect(reverse("settings_suppression", args=[request.workspace.slug]))


@workspace_view("manage_forms")
@require_POST
def suppression_remove(request: HttpRequest, suppression_id: int) -> HttpResponse:
    services.suppression_remove(
        workspace=request.workspace, suppression_id=suppression_id, actor=request.actor
    )
    messages.success(request, "The address is off the suppression list; the audit log records it.")
    return redirect(reverse("settings_suppression", args=[request.workspace.slug]))


@workspace_view("manage_forms")
@require_POST
def suppression_import(request: HttpRequest) -> HttpResponse:
    """A CSV of addresses (or SHA-256 hashes) to suppress, reason "imported"."""
    upload = request.FILES.get("file")
    if upload is None:
        return _list_page(request, errors={"file": ["Choose a CSV file."]}, status=422)
    if upload.size > MAX_CSV_BYTES:
        return _list_page(
            request, errors={"file": ["A suppression file is at most 20 MB."]}, status=422
        )
    text = upload.read().decode("utf-8-sig", errors="replace")
    try:
        outcome = services.suppressions_import(
            workspace=request.workspace,
            text=text,
            actor=request.actor,
            source=f"CSV {upload.name}"[:100],
        )
    except ValidationFailed as failure:
        return _list_page(request, errors=error_map(failure), status=422)
    summary = f"{outcome.added} addresses suppressed, {outcome.already} already on the list."
    if outcome.invalid:
        messages.warning(request, f"{summary} Not addresses: {'; '.join(outcome.invalid[:5])}.")
    else:
        messages.success(request, summary)
    return redirect(reverse("settings_suppression", args=[request.workspace.slug]))


def _topics_page(
    request: HttpRequest, values: dict | None = None, errors: dict | None = None, status=200
) -> HttpResponse:
    context = {
        "settings_section": "topics",
        "topics": selectors.topics_list(request.workspace),
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "web/nurture/topics.html", context, status=status)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def topic_list(request: HttpRequest) -> HttpResponse:
    """The workspace's subscription topics; POST adds one."""
    if request.method == "GET":
        return _topics_page(request)
    values = {name: request.POST.get(name, "") for name in ("name", "description")}
    try:
        services.topic_create(workspace=request.workspace, data=values, actor=request.actor)
    except ValidationFailed as failure:
        return _topics_page(request, values, error_map(failure), status=422)
    messages.success(request, f"Topic “{values['name'].strip()}” added.")
    return redirect("settings_topics", request.workspace.slug)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def topic_edit(request: HttpRequest, topic_id: int) -> HttpResponse:
    topic = selectors.topic_get(request.workspace, topic_id)
    values = {"name": topic.name, "description": topic.description}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in ("name", "description")}
        try:
            services.topic_update(
                workspace=request.workspace, topic_id=topic.pk, data=values, actor=request.actor
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Topic saved.")
            return redirect("settings_topics", request.workspace.slug)
    context = {"settings_section": "topics", "topic": topic, "values": values, "errors": errors}
    return render(request, "web/nurture/topic_edit.html", context, status=status)


@workspace_view("manage_forms")
@require_POST
def topic_delete(request: HttpRequest, topic_id: int) -> HttpResponse:
    services.topic_delete(workspace=request.workspace, topic_id=topic_id, actor=request.actor)
    messages.success(request, "Topic deleted.")
    return redirect("settings_topics", request.workspace.slug)
