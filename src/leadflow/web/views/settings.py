"""Workspace settings: general settings, members and roles, API keys, custom fields, tracking
and sites (with channel rules), audit.

Only roles with ``manage_settings`` reach settings, API keys and custom fields; members
need ``manage_members``; the audit log needs ``view_audit``. Making someone an owner, or
changing or removing an owner, needs ``manage_owners`` (owners only), so an admin cannot
take a workspace over.

Longer than the house's ~600 lines: one settings area whose pages share the admin checks and
the form helpers at the top; each page's views are short and sit together.
"""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors, services
from leadflow.contacts.models import CustomField, CustomFieldType, MatchType
from leadflow.core import selectors as core_selectors
from leadflow.core import services as core_services
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import ApiScope, Role
from leadflow.core.selectors import LEAD_OWNER_PERMISSION
from leadflow.core.tasks import task_schedule
from leadflow.tracking import selectors as tracking_selectors
from leadflow.tracking import services as tracking_services
from leadflow.tracking.models import Channel
from leadflow.tracking.services import CLICK_IDS
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import (
    PAGE_SIZE,
    as_text,
    query_with,
    render_page,
    widget_script_url,
)

# --- workspace -------------------------------------------------------------------------------


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_workspace(request: HttpRequest) -> HttpResponse:
    """Name, default country (for reading local phone numbers) and lead visibility."""
    workspace = request.workspace
    values = {
        "name": workspace.name,
        "default_country": workspace.default_country,
        "sales_sees_all_leads": workspace.sales_sees_all_leads,
    }
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", "").strip(),
            "default_country": request.POST.get("default_country", "").strip(),
            "sales_sees_all_leads": request.POST.get("sales_sees_all_leads") == "on",
        }
        try:
            core_services.workspace_update(workspace=workspace, actor=request.actor, **values)
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Workspace settings saved.")
            return redirect("settings_workspace", workspace.slug)
    context = {
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, values),
        "settings_section": "workspace",
    }
    return render_page(request, "web/settings/workspace.html", context, status=status)


# --- members ---------------------------------------------------------------------------------


def _role_choices(request: HttpRequest) -> list[tuple[str, str]]:
    if request.membership.can("manage_owners"):
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if value != Role.OWNER]


def _members_page(request: HttpRequest, values: dict, errors: dict, status: int = 200):
    context = {
        "members": core_selectors.member_list(request.workspace),
        "lead_owners": list(
            core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION)
        ),
        "role_choices": _role_choices(request),
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, ("email", "role", "full_name")),
        "settings_section": "members",
    }
    return render_page(request, "web/settings/members.html", context, status=status)


@workspace_view("manage_members")
@require_http_methods(["GET", "POST"])
def settings_members(request: HttpRequest) -> HttpResponse:
    """Members and their roles; adding a new person emails them a link to set a password."""
    if request.method == "GET":
        return _members_page(request, {"role": Role.VIEWER}, {})
    values = {
        "email": request.POST.get("email", "").strip(),
        "role": request.POST.get("role", ""),
        "full_name": request.POST.get("full_name", "").strip()[:200],
    }
    if values["role"] == Role.OWNER and not request.membership.can("manage_owners"):
        raise HttpForbidden("Only owners may add owners.")
    try:
        membership, created = core_services.member_add(
            workspace=request.workspace,
            email=values["email"],
            role=values["role"],
            full_name=values["full_name"],
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return _members_page(request, values, error_map(failure), status=422)
    except Conflict as conflict:
        return _members_page(request, values, {"email": [conflict.detail]}, status=422)
    if created:
        # The worker emails the link (core.tasks.invitation_send, through core.notifications).
        task_schedule(
            "leadflow.core.tasks.invitation_send",
            membership.pk,
            request.user.pk,
            request.build_absolute_uri("/"),
        )
        messages.success(
            request, f"Added {membership.user.email}; we emailed them a link to set a password."
        )
    else:
        messages.success(request, f"Added {membership.user.email}.")
    return redirect("settings_members", request.workspace.slug)


def _member(request: HttpRequest, membership_id: int):
    member = core_selectors.member_list(request.workspace).filter(pk=membership_id).first()
    if member is None:
        raise NotFound("No such member.")
    return member


@workspace_view("manage_members")
@require_POST
def settings_member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Change a member's role; the last owner keeps theirs (the service refuses)."""
    member = _member(request, membership_id)
    role = request.POST.get("role", "")
    if Role.OWNER in (role, member.role) and not request.membership.can("manage_owners"):
        raise HttpForbidden("Only owners may change owners.")
    try:
        core_services.member_set_role(
            workspace=request.workspace, membership_id=member.pk, role=role, actor=request.actor
        )
    except Conflict as conflict:
        messages.error(request, conflict.detail)
    else:
        messages.success(request, f"{member.user.email} is now {Role(role).label.lower()}.")
    return redirect("settings_members", request.workspace.slug)


@workspace_view("manage_members")
@require_POST
def settings_member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Take a person out of the workspace; their user account and other workspaces stay.
    Their open leads go to the member chosen in ``successor_id``, or (empty) back to
    routing (sales' ``member_leads_release``, a hook of ``core.services.member_remove``)."""
    member = _member(request, membership_id)
    if member.role == Role.OWNER and not request.membership.can("manage_owners"):
        raise HttpForbidden("Only owners may remove owners.")
    successor = request.POST.get("successor_id", "").strip()
    if successor and not (successor.isdecimal() and len(successor) < 19):
        raise ValidationFailed([FieldError("successor_id", "Choose a member.")])
    try:
        core_services.member_remove(
            workspace=request.workspace,
            membership_id=member.pk,
            actor=request.actor,
            successor_id=int(successor) if successor else None,
        )
    except Conflict as conflict:
        messages.error(request, conflict.detail)
        return redirect("settings_members", request.workspace.slug)
    messages.success(request, f"Removed {member.user.email}.")
    if member.user_id == request.user.pk:
        return redirect("home")
    return redirect("settings_members", request.workspace.slug)


# --- API keys --------------------------------------------------------------------------------


# What a new key can ask at once, by its first scope that allows it: (scope, method, path, body).
API_EXAMPLES = (
    (ApiScope.CONTACTS_READ, "GET", "contacts?limit=5", None),
    (ApiScope.FORMS_READ, "GET", "forms", None),
    (ApiScope.SETTINGS_READ, "GET", "workspace", None),
    (ApiScope.CONTACTS_WRITE, "POST", "contacts", '{"email": "jane.doe@example.com"}'),
)


def api_example_request(request: HttpRequest, secret: str, scopes: list[str]) -> str:
    """A curl command that a key with ``scopes`` may run as it is ("" when none fits)."""
    for scope, method, path, body in API_EXAMPLES:
        if scope in scopes:
            url = request.build_absolute_uri(f"/api/v1/{path}")
            send = f" -X {method} -H \"Content-Type: application/json\" -d '{body}'" if body else ""
            return f'curl{send} -H "Authorization: Bearer {secret}" "{url}"'
    return ""


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_api_keys(request: HttpRequest) -> HttpResponse:
    """API keys of the workspace. A new key's secret is shown in this answer only: it is
    stored as a hash and cannot be shown again."""
    values: dict = {"scopes": [ApiScope.CONTACTS_READ.value]}
    errors: dict = {}
    created = secret = None
    status = 200
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "scopes": request.POST.getlist("scopes")}
        try:
            if not values["scopes"]:
                raise ValidationFailed([FieldError("scopes", "Choose at least one scope.")])
            created, secret = core_services.apikey_create(
                workspace=request.workspace,
                name=values["name"],
                scopes=values["scopes"],
                actor=request.actor,
            )
            status = 201
            values = {"scopes": [ApiScope.CONTACTS_READ.value]}
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
    context = {
        "keys": core_selectors.apikey_list(request.workspace),
        "scope_choices": ApiScope.choices,
        "values": values,
        "errors": errors,
        "created_key": created,
        "secret": secret,
        "api_example": api_example_request(request, secret, created.scopes) if secret else "",
        "api_docs_url": reverse("api:openapi-view"),
        "settings_section": "api_keys",
    }
    response = render_page(request, "web/settings/api_keys.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@workspace_view("manage_settings")
@require_POST
def settings_api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a key of this workspace at once; requests with it fail from now on."""
    key = core_services.apikey_revoke(
        workspace=request.workspace, key_id=key_id, actor=request.actor
    )
    messages.success(request, f"Revoked the key “{key.name}”. Requests with it now fail.")
    return redirect("settings_api_keys", request.workspace.slug)


# --- custom fields ---------------------------------------------------------------------------


def _number(raw: str, name: str, errors: list, *, whole: bool = False):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        errors.append(FieldError(name, "Must be a whole number." if whole else "Must be a number."))
        return None


def _custom_field_data(request: HttpRequest, *, creating: bool) -> dict:
    """The custom field form as service data; numbers parsed, choices one per line."""
    post = request.POST
    errors: list[FieldError] = []
    data = {
        "label": post.get("label", "").strip(),
        "required": post.get("required") == "on",
        "pattern": post.get("pattern", "").strip(),
        "choices": [line.strip() for line in post.get("choices", "").splitlines() if line.strip()],
        "min_value": _number(post.get("min_value", ""), "min_value", errors),
        "max_value": _number(post.get("max_value", ""), "max_value", errors),
        "max_length": _number(post.get("max_length", ""), "max_length", errors, whole=True),
        "position": _number(post.get("position", ""), "position", errors, whole=True) or 0,
        "identifying": post.get("identifying") == "on",
        "match_type": post.get("match_type", "").strip(),
    }
    if data["max_length"] is not None and data["max_length"] < 1:
        errors.append(FieldError("max_length", "Must be at least 1."))
    if data["position"] < 0:
        errors.append(FieldError("position", "Must be 0 or more."))
    if creating:
        data["key"] = post.get("key", "").strip()
        data["field_type"] = post.get("field_type", "")
    if errors:
        raise ValidationFailed(errors)
    return data


def _field_values(definition: CustomField) -> dict:
    return {
        "label": definition.label,
        "key": definition.key,
        "field_type": definition.field_type,
        "required": definition.required,
        "pattern": definition.pattern,
        "choices": "\n".join(map(str, definition.choices or [])),
        "min_value": "" if definition.min_value is None else f"{definition.min_value:g}",
        "max_value": "" if definition.max_value is None else f"{definition.max_value:g}",
        "max_length": definition.max_length or "",
        "position": definition.position,
        "identifying": definition.identifying,
        "match_type": definition.match_type,
    }


FIELD_FORM_NAMES = (
    "label",
    "key",
    "field_type",
    "required",
    "pattern",
    "choices",
    "min_value",
    "max_value",
    "max_length",
    "position",
    "identifying",
    "match_type",
)


def _fields_page(
    request: HttpRequest,
    template: str,
    *,
    values: dict,
    errors: dict,
    definition: CustomField | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "fields": selectors.custom_field_list(request.workspace),
        "definition": definition,
        "type_choices": CustomFieldType.choices,
        "match_choices": [("", "Not compared"), *MatchType.choices],
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, FIELD_FORM_NAMES),
        "settings_section": "fields",
    }
    return render_page(request, template, context, status=status)


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_fields(request: HttpRequest) -> HttpResponse:
    """Custom contact fields: the list and a form for a new one (any type, with rules)."""
    if request.method == "GET":
        return _fields_page(
            request, "web/settings/fields.html", values={"field_type": "text"}, errors={}
        )
    values = {name: request.POST.get(name, "") for name in FIELD_FORM_NAMES}
    values["required"] = request.POST.get("required") == "on"
    values["identifying"] = request.POST.get("identifying") == "on"
    try:
        definition = services.custom_field_create(
            workspace=request.workspace,
            data=_custom_field_data(request, creating=True),
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return _fields_page(
            request,
            "web/settings/fields.html",
            values=values,
            errors=error_map(failure),
            status=422,
        )
    messages.success(request, f"Added the field “{definition.label}” ({definition.key}).")
    return redirect("settings_fields", request.workspace.slug)


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    """Change a custom field's label and rules; its key and type stay as created."""
    definition = selectors.custom_field_get(request.workspace, field_id)
    if request.method == "GET":
        return _fields_page(
            request,
            "web/settings/field_edit.html",
            values=_field_values(definition),
            errors={},
            definition=definition,
        )
    values = {
        **{name: request.POST.get(name, "") for name in FIELD_FORM_NAMES},
        "key": definition.key,
        "field_type": definition.field_type,
        "required": request.POST.get("required") == "on",
        "identifying": request.POST.get("identifying") == "on",
    }
    try:
        services.custom_field_update(
            workspace=request.workspace,
            field_id=definition.pk,
            data=_custom_field_data(request, creating=False),
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return _fields_page(
            request,
            "web/settings/field_edit.html",
            values=values,
            errors=error_map(failure),
            definition=definition,
            status=422,
        )
    messages.success(request, f"Saved the field “{values['label'].strip()}”.")
    return redirect("settings_fields", request.workspace.slug)


@workspace_view("manage_settings")
@require_POST
def settings_field_delete(request: HttpRequest, field_id: int) -> HttpResponse:
    """Delete a custom field definition; values already on contacts stay untouched."""
    definition = selectors.custom_field_get(request.workspace, field_id)
    services.custom_field_delete(
        workspace=request.workspace, field_id=definition.pk, actor=request.actor
    )
    messages.success(request, f"Deleted the field “{definition.label}”.")
    return redirect("settings_fields", request.workspace.slug)


# --- tracking and sites ------------------------------------------------------------------------

TRACKING_NAMES = (
    "allowed_origins",
    "respect_privacy_signals",
    "tracking_requires_consent",
    "event_retention_days",
)
RULE_NAMES = ("channel", "utm_source", "utm_medium", "referrer_domain", "click_id", "position")


def _whole_number(text: str) -> int | str:
    """A typed whole number as int; anything else stays text for the service to refuse."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


def _tracking_values(workspace) -> dict:
    return {
        "allowed_origins": "\n".join(workspace.allowed_origins),
        "respect_privacy_signals": workspace.respect_privacy_signals,
        "tracking_requires_consent": workspace.tracking_requires_consent,
        "event_retention_days": workspace.event_retention_days,
    }


def _tracking_changes(post) -> dict:
    """The settings form as ``workspace_update`` changes: one allowed site per line."""
    return {
        "allowed_origins": [
            line.strip() for line in post.get("allowed_origins", "").splitlines() if line.strip()
        ],
        "respect_privacy_signals": post.get("respect_privacy_signals") == "on",
        "tracking_requires_consent": post.get("tracking_requires_consent") == "on",
        "event_retention_days": _whole_number(post.get("event_retention_days", "")),
    }


def _rule_data(post) -> dict:
    return {name: post.get(name, "") for name in RULE_NAMES} | {
        "position": _whole_number(post.get("position", "0") or "0")
    }


def _tracking_page(
    request: HttpRequest,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    rule_values: dict | None = None,
    rule_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    rules = list(tracking_selectors.channel_rule_list(workspace))
    next_position = (rules[-1].position + 10) if rules else 10
    errors, rule_errors = errors or {}, rule_errors or {}
    context = {
        "settings_section": "tracking",
        "snippet": tracker_snippet(request),
        "values": values or _tracking_values(workspace),
        "errors": errors,
        "other_errors": non_field_errors(errors, TRACKING_NAMES),
        "rules": rules,
        "rule_values": rule_values or {"channel": Channel.PAID_SOCIAL, "position": next_position},
        "rule_errors": rule_errors,
        "rule_other_errors": non_field_errors(rule_errors, RULE_NAMES),
        **_rule_choices(),
    }
    return render_page(request, "web/settings/tracking.html", context, status=status)


def _rule_choices() -> dict:
    return {
        "channel_choices": Channel.choices,
        "click_id_choices": [(name, name) for name in CLICK_IDS],
    }


def tracker_snippet(request: HttpRequest) -> str:
    """The line that puts the tracker on a site, with this server's address and the
    workspace's public key (plain text: the page escapes it)."""
    return as_text(
        format_html(
            '<script src="{}" data-key="{}" async></script>',
            widget_script_url(request, "lf.js"),
            request.workspace.public_key,
        )
    )


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_tracking(request: HttpRequest) -> HttpResponse:
    """The tracker: public key and snippet, the sites allowed to send data and embed forms
    (empty: any site, with a warning), privacy signals, consent, event retention, and the
    workspace's channel rules."""
    if request.method == "GET":
        return _tracking_page(request)
    changes = _tracking_changes(request.POST)
    try:
        core_services.workspace_update(workspace=request.workspace, actor=request.actor, **changes)
    except ValidationFailed as failure:
        values = {**changes, "allowed_origins": request.POST.get("allowed_origins", "")}
        return _tracking_page(request, values=values, errors=error_map(failure), status=422)
    messages.success(request, "Tracking settings saved.")
    return redirect("settings_tracking", request.workspace.slug)


@workspace_view("manage_settings")
@require_POST
def settings_channel_rule_create(request: HttpRequest) -> HttpResponse:
    """Add a channel rule; a bad pattern shows beside its input."""
    data = _rule_data(request.POST)
    try:
        rule = tracking_services.channel_rule_create(
            workspace=request.workspace, data=data, actor=request.actor
        )
    except ValidationFailed as failure:
        return _tracking_page(request, rule_values=data, rule_errors=error_map(failure), status=422)
    messages.success(request, f"Added a rule for {rule.get_channel_display()}.")
    return redirect("settings_tracking", request.workspace.slug)


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def settings_channel_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Change a channel rule of this workspace."""
    rule = tracking_selectors.channel_rule_get(request.workspace, rule_id)
    values, errors, status = {name: getattr(rule, name) for name in RULE_NAMES}, {}, 200
    if request.method == "POST":
        values = _rule_data(request.POST)
        try:
            tracking_services.channel_rule_update(
                workspace=request.workspace, rule_id=rule.pk, data=values, actor=request.actor
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the channel rule.")
            return redirect("settings_tracking", request.workspace.slug)
    context = {
        "settings_section": "tracking",
        "rule": rule,
        "rule_values": values,
        "rule_errors": errors,
        "rule_other_errors": non_field_errors(errors, RULE_NAMES),
        **_rule_choices(),
    }
    return render_page(request, "web/settings/channel_rule_edit.html", context, status=status)


@workspace_view("manage_settings")
@require_POST
def settings_channel_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Delete a channel rule; visits it classified keep their channel."""
    tracking_services.channel_rule_delete(
        workspace=request.workspace, rule_id=rule_id, actor=request.actor
    )
    messages.success(request, "Deleted the channel rule.")
    return redirect("settings_tracking", request.workspace.slug)


# --- audit -----------------------------------------------------------------------------------


@workspace_view("view_audit")
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who changed what and when, newest first, one keyset page at a time."""
    entries = core_selectors.audit_list(request.workspace)
    try:
        page = selectors.cursor_paginate(
            entries, sort="-created_at", cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except ValidationFailed:
        page = selectors.cursor_paginate(entries, sort="-created_at", cursor=None, limit=PAGE_SIZE)
    rows = [
        {
            "entry": entry,
            "changes": json.dumps(entry.changes, ensure_ascii=False, default=str)
            if entry.changes
            else "",
        }
        for entry in page.items
    ]
    context = {
        "rows": rows,
        "next_query": query_with({}, cursor=page.next_cursor) if page.next_cursor else "",
        "is_later_page": bool(request.GET.get("cursor")),
        "settings_section": "audit",
    }
    return render_page(request, "web/settings/audit.html", context)
