"""The contact page's Consent section and the consent ledger's downloads.

The section shows the contact's status per purpose (the latest ledger row of each) and
the history, newest first, with the text, version, source, time and address of each row;
a member who may write records a change (a row with source "manual"). Downloads: one
contact's ledger, and the whole workspace's (``export``: a sales member who sees only
own leads gets theirs). And the settings page of the workspace's consent purposes (admins:
list, add, rename one of its own).
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors
from leadflow.contacts.consent import (
    consent_current,
    consent_export_rows,
    consent_history,
    consent_purpose_usage,
    consent_purposes,
)
from leadflow.contacts.models import DEFAULT_PURPOSES, ConsentSource, ConsentState, Contact
from leadflow.contacts.services import (
    consent_given_clean,
    consent_purpose_create,
    consent_purpose_rename,
    consent_record,
)
from leadflow.core.errors import ValidationFailed
from leadflow.core.exports import csv_response
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map

HISTORY_SHOWN = 100


def contact_consent_context(
    request: HttpRequest,
    contact: Contact,
    *,
    errors: dict | None = None,
    values: dict | None = None,
) -> dict[str, Any]:
    """The Consent section's context: purposes with their status, the newest rows."""
    workspace_id = request.workspace.pk
    history = list(consent_history(workspace_id, contact.pk)[: HISTORY_SHOWN + 1])
    purposes = consent_current(workspace_id, contact.pk)
    return {
        "consent_purposes": purposes,
        "consent_purpose_choices": [(item["purpose"], item["label"]) for item in purposes],
        "consent_history": history[:HISTORY_SHOWN],
        "consent_more": len(history) > HISTORY_SHOWN,
        "consent_states": ConsentState.choices,
        "consent_errors": errors or {},
        "consent_values": values or {},
    }


@workspace_view("write")
@require_POST
def contact_consent(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Record a consent change by a member (purpose, status, note): one ledger row."""
    # Imported here: the contact page's views use this module's context.
    from leadflow.web.views.contacts import contact_page_render

    workspace, actor = request.workspace, request.actor
    contact = selectors.contact_get(workspace, actor, contact_id)
    data = {key: request.POST.get(key, "") for key in ("purpose", "status", "note", "text")}
    try:
        given = consent_given_clean(workspace, data, source=ConsentSource.MANUAL)
        consent_record(workspace=workspace, contact=contact, given=given, actor=actor)
    except ValidationFailed as failure:
        return contact_page_render(
            request,
            contact,
            partial="consent",
            status=422,
            consent_errors=error_map(failure),
            consent_values=data,
        )
    if not request.htmx:
        messages.success(request, "Consent recorded.")
        return redirect("contact_detail", workspace.slug, contact.pk)
    return contact_page_render(request, contact, partial="consent", with_timeline=False)


@workspace_view("read")
@require_safe
def contact_consent_csv(request: HttpRequest, contact_id: int) -> HttpResponse:
    """One contact's consent ledger as CSV (what the person may ask to see)."""
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    rows = consent_export_rows(request.workspace.pk, contact_ids=[contact.pk])
    return csv_response(rows, f"consent-contact-{contact.pk}.csv")


@workspace_view("export")
@require_safe
def consent_export(request: HttpRequest) -> HttpResponse:
    """The workspace's consent ledger as CSV, oldest row first."""
    visible = None
    if request.actor.sees_only_own_leads:
        visible = selectors.contacts_visible(request.workspace, request.actor).values("pk")
    rows = consent_export_rows(request.workspace.pk, contact_ids=visible)
    return csv_response(rows, "consent-ledger.csv")


# --- settings: the workspace's consent purposes ----------------------------------------------


def _purposes_page(
    request: HttpRequest, *, values=None, errors=None, rename=None, status=200
) -> HttpResponse:
    """``rename``: (key, label typed, errors) of a rename refused, shown on its row."""
    workspace_id = request.workspace.pk
    usage = consent_purpose_usage(workspace_id)
    key_refused, label_typed, rename_errors = rename or ("", "", {})
    purposes = [
        {
            "key": key,
            "label": label_typed if key == key_refused else label,
            "default": key in DEFAULT_PURPOSES,
            "contacts": usage.get(key, 0),
            "errors": rename_errors if key == key_refused else {},
        }
        for key, label in consent_purposes(workspace_id).items()
    ]
    context = {
        "settings_section": "consent",
        "purposes": purposes,
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "web/settings/consent.html", context, status=status)


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_consent(request: HttpRequest) -> HttpResponse:
    """The workspace's consent purposes (the defaults and its own); POST adds one."""
    if request.method == "GET":
        return _purposes_page(request)
    values = {name: request.POST.get(name, "") for name in ("key", "label")}
    try:
        purpose = consent_purpose_create(
            workspace=request.workspace, key=values["key"], label=values["label"],
            actor=request.actor,
        )  # fmt: skip
    except ValidationFailed as failure:
        return _purposes_page(request, values=values, errors=error_map(failure), status=422)
    messages.success(request, f"Purpose “{purpose.label}” ({purpose.key}) added.")
    return redirect("settings_consent", request.workspace.slug)


@workspace_view("manage_settings")
@require_POST
def settings_consent_rename(request: HttpRequest, key: str) -> HttpResponse:
    """A new label for one of the workspace's own purposes (its key stays)."""
    label = request.POST.get("label", "")
    try:
        purpose = consent_purpose_rename(
            workspace=request.workspace, key=key, label=label, actor=request.actor
        )
    except ValidationFailed as failure:
        return _purposes_page(request, rename=(key, label, error_map(failure)), status=422)
    messages.success(request, f"Purpose {purpose.key} is now called “{purpose.label}”.")
    return redirect("settings_consent", request.workspace.slug)
