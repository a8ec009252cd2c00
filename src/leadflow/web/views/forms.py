"""Lead forms in the app: the list, a new form, the builder (fields, settings, embed
snippets, live preview), submissions (accepted and spam, one submission, CSV) and deletion.

Form ids in URLs are looked up inside the current workspace: another workspace's id
answers 404. Reading needs ``read``; creating, changing and deleting a form (with its
submissions) need ``manage_forms``; exporting submissions needs ``export``. A sales member
who sees only own leads sees (and exports) only the submissions of those leads. Writes go through
``capture.services.form_*``; the field list is validated by ``capture.fields``.

The builder keeps the field list as JSON in one input (``fields``), kept current by
``form-builder.js``; a failed save shows each ``fields[i].key`` error beside the input of
row i that holds that setting.

Longer than the house's ~600 lines: the form builder's pages (list, builder, submissions,
held review and release) share the builder's form handling and permission checks.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.capture import antispam, selectors, services
from leadflow.capture.fields import (
    CONTACT_TARGETS,
    FIELD_TYPES,
    OBVIOUS_TARGET_KINDS,
    OBVIOUS_TARGETS_BY_NAME,
    OBVIOUS_TARGETS_BY_TYPE,
    OPTION_TYPES,
    form_fields_clean,
)
from leadflow.capture.models import Form, FormStatus, Magnet, Submission, SubmissionStatus
from leadflow.capture.public_input import fields_shown
from leadflow.capture.services import FORM_SETTINGS, TEXT_LIMITS
from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.kinds import answer_text
from leadflow.contacts.models import LifecycleStage
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.exports import csv_response
from leadflow.core.publickit import UTM_KEYS
from leadflow.web.access import workspace_view
from leadflow.web.forms import FIELD_LABELS, error_message, tag_names_from_text
from leadflow.web.views.common import (
    PAGE_SIZE,
    as_text,
    query_with,
    render_page,
    widget_script_url,
)

SECTION = {"section": "forms"}

TYPE_LABELS = {
    "text": "Short text",
    "email": "Email",
    "phone": "Phone",
    "number": "Number",
    "textarea": "Long text",
    "select": "Dropdown",
    "radio": "Radio buttons",
    "checkboxes": "Checkboxes",
    "date": "Date",
    "hidden": "Hidden value",
    "consent": "Consent checkbox",
}
assert set(TYPE_LABELS) == set(FIELD_TYPES)

# Which settings of a field the builder shows for each type (name and type always).
_ASKED = ("placeholder", "help_text", "required", "maps_to")
PROPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": (*_ASKED, "pattern", "min", "max_length"),
    "email": (*_ASKED, "blocked_domains", "block_disposable"),
    "phone": _ASKED,
    "number": (*_ASKED, "min", "max"),
    "textarea": (*_ASKED, "pattern", "min", "max_length"),
    "select": (*_ASKED, "options"),
    "radio": ("help_text", "required", "maps_to", "options"),
    "checkboxes": ("help_text", "required", "maps_to", "options"),
    "date": ("help_text", "required", "maps_to"),
    "hidden": ("maps_to", "default", "pattern"),
    "consent": ("required", "consent_text"),
}
ALWAYS = ("name", "type", "label")
SETTING_NAMES = ("success_mode", *FORM_SETTINGS)
SUBMISSIONS_PAGE = PAGE_SIZE


def starter_fields(workspace_name: str) -> list[dict[str, Any]]:
    """What a new form starts with: a required email, a first name and a consent box."""
    return [
        {
            "name": "email",
            "type": "email",
            "label": "Email",
            "placeholder": "you@company.com",
            "required": True,
            "maps_to": "email",
        },
        {"name": "first_name", "type": "text", "label": "First name", "maps_to": "first_name"},
        {
            "name": "consent",
            "type": "consent",
            "label": "Consent",
            "required": False,
            "consent_text": (
                f"I agree that {workspace_name} may email me about its products and offers. "
                "I can unsubscribe at any time."
            ),
        },
    ]


# --- list and new ----------------------------------------------------------------------------


def _may_review_held(request: HttpRequest) -> bool:
    """Whether the member can release held (suspected) submissions, so is shown how many
    wait: the permission ``submission_release`` checks, and held submissions in sight (a
    sales member who sees only own leads sees none, ``submissions_visible``)."""
    return request.membership.can("write") and not request.actor.sees_only_own_leads


@workspace_view("read")
@require_safe
def form_list(request: HttpRequest) -> HttpResponse:
    """Every form of the workspace with its counts (one grouped query for all of them)
    and, once the tracker has seen it shown, its views and conversion rate over 7 days
    (visitors who saw it and then sent it / visitors who saw it: never over 100 %; one
    more grouped query, see selectors.FormViews)."""
    forms = list(selectors.form_list(request.workspace))
    stats = selectors.form_stats(request.workspace, [form.pk for form in forms])
    since = timezone.now() - dt.timedelta(days=7)
    views = selectors.form_view_conversions(request.workspace, forms, since=since) if forms else {}
    rows = [
        {
            "form": form,
            "stats": stats[form.pk],
            "views": views[form.pk].views,
            "viewers": views[form.pk].viewers,
            "converted": views[form.pk].converted,
            "conversion": views[form.pk].conversion_rate,
        }
        for form in forms
    ]
    context = {**SECTION, "rows": rows, "may_review_held": _may_review_held(request)}
    return render_page(request, "web/forms/list.html", context)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponse:
    """Name a new form; it starts with an email, a first name and a consent box."""
    values = {"name": request.POST.get("name", "").strip()}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            _check_lengths({"name": values["name"]})
            form = services.form_create(
                workspace=request.workspace,
                data={"name": values["name"], "fields": starter_fields(request.workspace.name)},
                actor=request.actor,
            )
        except ValidationFailed as failure:
            status = 422
            for error in failure.errors:
                errors.setdefault(error.field, []).append(error.message)
        else:
            messages.success(request, f"Created the form “{form.name}”. Add your fields.")
            return redirect("form_builder", request.workspace.slug, form.pk)
    context = {**SECTION, "values": values, "errors": errors}
    return render_page(request, "web/forms/new.html", context, status=status)


# --- builder --------------------------------------------------------------------------------


@dataclass
class FieldRow:
    """One field as the builder shows it: display strings, and errors by setting."""

    uid: str
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    row_errors: list[str] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.values["type"]

    @property
    def shown(self) -> tuple[str, ...]:
        return PROPS_BY_TYPE.get(self.type, ())

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.row_errors)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lines(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_text(item) for item in value)
    return _text(value)


def _field_row(index: int, definition: Any, errors: dict[str, list[str]]) -> FieldRow:
    raw = definition if isinstance(definition, dict) else {}
    kind = raw.get("type") if raw.get("type") in FIELD_TYPES else "text"
    values = {
        "name": _text(raw.get("name")),
        "type": kind,
        "label": _text(raw.get("label")),
        "placeholder": _text(raw.get("placeholder")),
        "help_text": _text(raw.get("help_text")),
        "required": bool(raw.get("required")),
        "options": _lines(raw.get("options")),
        "maps_to": _text(raw.get("maps_to")),
        "pattern": _text(raw.get("pattern")),
        "min": _text(raw.get("min")),
        "max": _text(raw.get("max")),
        "max_length": _text(raw.get("max_length")),
        "blocked_domains": _lines(raw.get("blocked_domains")),
        "block_disposable": bool(raw.get("block_disposable")),
        "default": _text(raw.get("default")),
        "consent_text": _text(raw.get("consent_text")),
    }
    row = FieldRow(uid=str(index), values=values)
    visible = {*ALWAYS, *row.shown}
    for prop, messages_ in errors.items():
        if prop in visible:
            row.errors[prop] = messages_
        else:
            row.row_errors += messages_
    return row


def _field_rows(fields: Any, errors: list[FieldError]) -> tuple[list[FieldRow], list[str]]:
    """Rows for the editor and the errors about the list as a whole ("fields")."""
    by_row: dict[int, dict[str, list[str]]] = {}
    list_errors: list[str] = []
    for error in errors:
        index, prop = _row_error_name(error.field)
        if index is None:
            if error.field == "fields":
                list_errors.append(error.message)
        else:
            by_row.setdefault(index, {}).setdefault(prop, []).append(error.message)
    definitions = fields if isinstance(fields, list) else []
    rows = [
        _field_row(index, definition, by_row.get(index, {}))
        for index, definition in enumerate(definitions)
    ]
    return rows, list_errors


def _row_error_name(name: str) -> tuple[int | None, str]:
    """``fields[2].options`` → (2, "options"); ``fields[2]`` → (2, ""); else (None, "")."""
    if not name.startswith("fields["):
        return None, ""
    index_text, _, rest = name.removeprefix("fields[").partition("]")
    if not index_text.isdigit():
        return None, ""
    return int(index_text), rest.removeprefix(".")


def _fields_from_post(request: HttpRequest) -> Any:
    raw = request.POST.get("fields", "")
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed(
            [FieldError("fields", "The field list could not be read. Reload the page and retry.")]
        ) from None


def _check_lengths(data: dict[str, Any]) -> None:
    errors = [
        FieldError(name, f"At most {limit} characters.")
        for name, limit in TEXT_LIMITS.items()
        if len(str(data.get(name) or "")) > limit
    ]
    if errors:
        raise ValidationFailed(errors)


def _posted_values(request: HttpRequest) -> dict[str, Any]:
    """The settings as typed, to show again (and to read into service data)."""
    post = request.POST
    return {
        "name": post.get("name", "").strip(),
        "submit_label": post.get("submit_label", "").strip(),
        "success_mode": "redirect" if post.get("success_mode") == "redirect" else "message",
        "success_message": post.get("success_message", "").strip(),
        "redirect_url": post.get("redirect_url", "").strip(),
        "notify_user_ids": post.getlist("notify_user_ids"),
        "notify_owner": post.get("notify_owner") == "on",
        "default_owner_id": post.get("default_owner_id", "").strip(),
        "tags": post.get("tags", ""),
        "lifecycle_stage": post.get("lifecycle_stage", ""),
        "source_label": post.get("source_label", "").strip(),
        "allowed_origins": post.get("allowed_origins", ""),
        "double_opt_in": post.get("double_opt_in") == "on",
        "proof_of_work": post.get("proof_of_work") == "on",
        "min_fill_seconds": post.get("min_fill_seconds", "").strip(),
        "status": post.get("status", ""),
        "magnet_id": post.get("magnet_id", "").strip(),
    }


def _settings_data(values: dict[str, Any]) -> dict[str, Any]:
    """The typed settings as service data; ValidationFailed for what cannot be read."""
    errors: list[FieldError] = []
    redirecting = values["success_mode"] == "redirect"
    if redirecting and not values["redirect_url"]:
        errors.append(FieldError("redirect_url", "Give the address to send people to."))
    if not redirecting and not values["success_message"]:
        errors.append(FieldError("success_message", "Write the thank-you message."))
    notify_ids = [int(raw) for raw in values["notify_user_ids"] if raw.isdigit()]
    if len(notify_ids) != len(values["notify_user_ids"]):
        errors.append(
            FieldError("notify_user_ids", "Members of this workspace who can own leads only.")
        )
    magnet = values["magnet_id"]
    if magnet and not magnet.isdigit():
        errors.append(FieldError("magnet_id", "No such magnet in this workspace."))
    owner = values["default_owner_id"]
    if owner and not owner.isdigit():
        errors.append(
            FieldError("default_owner_id", "Not a member of this workspace who can own leads.")
        )
    try:
        seconds = int(values["min_fill_seconds"] or "0")
    except ValueError:
        errors.append(FieldError("min_fill_seconds", "A whole number from 0 to 60."))
        seconds = 0
    data = {
        "name": values["name"],
        "submit_label": values["submit_label"] or "Send",
        "success_message": values["success_message"],
        "redirect_url": values["redirect_url"] if redirecting else "",
        "notify_user_ids": notify_ids,
        "notify_owner": values["notify_owner"],
        "default_owner_id": int(owner) if owner.isdigit() else None,
        "tags": tag_names_from_text(values["tags"]),
        "lifecycle_stage": values["lifecycle_stage"],
        "source_label": values["source_label"],
        "allowed_origins": [
            line.strip() for line in values["allowed_origins"].splitlines() if line.strip()
        ],
        "double_opt_in": values["double_opt_in"],
        "proof_of_work": values["proof_of_work"],
        "min_fill_seconds": seconds,
        "status": values["status"],
        "magnet_id": int(magnet) if magnet.isdigit() else None,
    }
    try:
        _check_lengths(data)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors:
        raise ValidationFailed(errors)
    return data


def _settings_values(form: Form) -> dict[str, Any]:
    return {
        "name": form.name,
        "submit_label": form.submit_label,
        "success_mode": "redirect" if form.redirect_url else "message",
        "success_message": form.success_message,
        "redirect_url": form.redirect_url,
        "notify_user_ids": [str(user_id) for user_id in form.notify_user_ids],
        "notify_owner": form.notify_owner,
        "default_owner_id": str(form.default_owner_id or ""),
        "tags": ", ".join(form.tags),
        "lifecycle_stage": form.lifecycle_stage,
        "source_label": form.source_label,
        "allowed_origins": "\n".join(form.allowed_origins),
        "double_opt_in": form.double_opt_in,
        "proof_of_work": form.proof_of_work,
        "min_fill_seconds": str(form.min_fill_seconds),
        "status": form.status,
        "magnet_id": str(form.magnet_id or ""),
    }


def _custom_field_keys(request: HttpRequest) -> set[str]:
    return {definition.key for definition in contact_selectors.custom_field_list(request.workspace)}


def _preview_html(request: HttpRequest, form: Form, fields: list[dict], submit_label: str) -> str:
    """The public form page for a checked field list, as the preview pane shows it."""
    shown = SimpleNamespace(name=form.name, key=form.key, submit_label=submit_label or "Send")
    definitions, _ = fields_shown(fields)
    return render_to_string(
        "capture/form_page.html",
        {
            "form": shown,
            "fields": definitions,
            "token": "",
            "honeypot": antispam.HONEYPOT_FIELD,
            "other_errors": [],
            "embedded": True,
            "preview": True,
        },
        request=request,
    )


def _error_label(name: str, fields: Any) -> str:
    index, prop = _row_error_name(name)
    if index is None:
        return "Fields" if name == "fields" else name
    definition = fields[index] if isinstance(fields, list) and index < len(fields) else {}
    title = ""
    if isinstance(definition, dict):
        title = str(definition.get("label") or definition.get("name") or "")
    where = f"Field {index + 1}" + (f" ({title})" if title else "")
    return f"{where} · {PROP_LABELS.get(prop, prop)}" if prop else where


PROP_LABELS = {
    "name": "Name",
    "type": "Type",
    "label": "Label",
    "placeholder": "Placeholder",
    "help_text": "Help text",
    "required": "Required",
    "options": "Options",
    "maps_to": "Saves to",
    "pattern": "Pattern",
    "min": "Minimum",
    "max": "Maximum",
    "max_length": "Maximum length",
    "blocked_domains": "Blocked domains",
    "block_disposable": "Block disposable addresses",
    "default": "Value",
    "consent_text": "Consent text",
}


def _maps_to_choices(definitions: list) -> list[tuple[str, list[tuple[str, str]]]]:
    """Where an answer can go: the contact's own fields, then the workspace's custom fields."""
    contact = [(target, FIELD_LABELS.get(target, target)) for target in CONTACT_TARGETS]
    custom = [(f"custom_fields.{definition.key}", definition.label) for definition in definitions]
    groups = [("Contact", contact)]
    if custom:
        groups.append(("Custom fields", custom))
    return groups


def _embed_snippets(request: HttpRequest, form: Form) -> dict[str, str]:
    """The three ways to put the form on a site, with this server's absolute URLs.

    Plain text, not safe strings: the page shows them as text, escaped again.
    """
    base = request.build_absolute_uri("/").rstrip("/")
    script_url = widget_script_url(request, "form.js")
    form_url = f"{base}/f/{form.key}"
    script = format_html('<script src="{}" data-form="{}" async></script>', script_url, form.key)
    # The frame's few lines of script send it the page around it (docs/embedding.md).
    iframe = render_to_string(
        "web/forms/_embed_iframe.html",
        {
            "url": form_url,
            "form": form,
            "height": 160 + 90 * len([f for f in form.fields if f.get("type") != "hidden"]),
        },
    )
    html = render_to_string(
        "web/forms/_embed_form.html",
        {"action": form_url, "form": form, "honeypot": antispam.HONEYPOT_FIELD},
    )
    return {
        "hosted": form_url,
        "script": as_text(script),
        "iframe": as_text(iframe.strip()),
        "html": as_text(html.strip()),
    }


def _builder_page(
    request: HttpRequest,
    form: Form,
    *,
    fields: Any,
    values: dict[str, Any],
    errors: list[FieldError],
    status: int = 200,
) -> HttpResponse:
    rows, list_errors = _field_rows(fields, errors)
    definitions = list(contact_selectors.custom_field_list(request.workspace))
    maps_to_groups = _maps_to_choices(definitions)
    setting_errors: dict[str, list[str]] = {}
    other_errors: list[str] = []
    for error in errors:
        if _row_error_name(error.field)[0] is not None or error.field == "fields":
            continue
        if error.field in SETTING_NAMES:
            setting_errors.setdefault(error.field, []).append(error.message)
        else:
            other_errors.append(error_message(error.field, error.message))
    try:
        clean = form_fields_clean(fields, {definition.key for definition in definitions})
        preview = _preview_html(request, form, clean, values.get("submit_label", ""))
    except ValidationFailed as failure:
        preview = _preview_errors_html(request, failure, fields)
    preview = as_text(preview)
    context = {
        **SECTION,
        "form": form,
        "rows": rows,
        "new_row": FieldRow(uid="__uid__", values=_field_row(0, {"type": "text"}, {}).values),
        "fields_json": json.dumps(fields if isinstance(fields, list) else []),
        "list_errors": list_errors,
        "values": values,
        "errors": setting_errors,
        "other_errors": other_errors,
        "has_errors": bool(errors),
        "type_choices": list(TYPE_LABELS.items()),
        "builder_config": {
            "props": PROPS_BY_TYPE,
            "types": TYPE_LABELS,
            "option_types": list(OPTION_TYPES),
            "obvious_by_type": OBVIOUS_TARGETS_BY_TYPE,
            "obvious_by_name": OBVIOUS_TARGETS_BY_NAME,
            "obvious_kinds": OBVIOUS_TARGET_KINDS,
        },
        "maps_to_groups": maps_to_groups,
        "maps_labels": {value: label for _, choices in maps_to_groups for value, label in choices},
        # Only members who can own and act on leads are offered (no viewers).
        "members": core_selectors.member_list(
            request.workspace, permission=core_selectors.LEAD_OWNER_PERMISSION
        ),
        "member_users": core_selectors.member_users(
            request.workspace, permission=core_selectors.LEAD_OWNER_PERMISSION
        ),
        "stage_choices": LifecycleStage.choices,
        "status_choices": FormStatus.choices,
        "magnet_choices": [
            (magnet.pk, magnet.name if magnet.active else f"{magnet.name} (off)")
            for magnet in Magnet.objects.filter(workspace=request.workspace).order_by("name")
        ],
        "embed": _embed_snippets(request, form),
        "preview_html": preview,
        "stats": selectors.form_stats(request.workspace, [form.pk])[form.pk],
        "may_review_held": _may_review_held(request),
    }
    return render_page(request, "web/forms/builder.html", context, status=status)


def _preview_errors_html(request: HttpRequest, failure: ValidationFailed, fields: Any) -> str:
    items = [
        {"field": error.field, "where": _error_label(error.field, fields), "message": error.message}
        for error in failure.errors
    ]
    return render_to_string("web/forms/_preview_errors.html", {"items": items}, request=request)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def form_builder(request: HttpRequest, form_id: int) -> HttpResponse:
    """The builder: fields on the left, a live preview on the right, settings and embed
    snippets below. Saving (``manage_forms``) checks fields and settings together and, when
    something is wrong, shows the posted edits again with each error beside its input."""
    form = selectors.form_get(request.workspace, form_id)
    if request.method == "GET":
        return _builder_page(
            request, form, fields=form.fields, values=_settings_values(form), errors=[]
        )
    if not request.membership.can("manage_forms"):
        raise HttpForbidden("Your role does not allow changing forms.")
    values = _posted_values(request)
    fields: Any = form.fields
    try:
        fields = _fields_from_post(request)
        data = _settings_data(values)
        services.form_update(
            workspace=request.workspace,
            form_id=form.pk,
            data={**data, "fields": fields},
            actor=request.actor,
        )
    except ValidationFailed as failure:
        errors = list(failure.errors)
        fields_checked = any(
            error.field == "fields" or _row_error_name(error.field)[0] is not None
            for error in errors
        )
        if not fields_checked:
            # The settings could not be read, so the service never saw the fields:
            # check them too, so that one save shows every problem.
            try:
                form_fields_clean(fields, _custom_field_keys(request))
            except ValidationFailed as more:
                errors += more.errors
        return _builder_page(request, form, fields=fields, values=values, errors=errors, status=422)
    messages.success(request, f"Saved the form “{data['name']}”.")
    return redirect("form_builder", request.workspace.slug, form.pk)


@workspace_view("read")
@require_POST
def form_preview(request: HttpRequest, form_id: int) -> HttpResponse:
    """The public form for an unsaved field list (nothing is stored): the page the preview
    pane shows, or a page listing the problems when the definitions are not valid.

    Both answer 200: the preview itself worked (an invalid list is a normal moment while
    someone types), and the list of problems names each ``fields[i].key`` for the builder.
    """
    form = selectors.form_get(request.workspace, form_id)
    try:
        fields = _fields_from_post(request)
    except ValidationFailed as failure:
        return _preview_response(_preview_errors_html(request, failure, None))
    try:
        clean = form_fields_clean(fields, _custom_field_keys(request))
    except ValidationFailed as failure:
        return _preview_response(_preview_errors_html(request, failure, fields))
    submit_label = request.POST.get("submit_label", "").strip()[: TEXT_LIMITS["submit_label"]]
    return _preview_response(_preview_html(request, form, clean, submit_label))


def _preview_response(page: str) -> HttpResponse:
    response = HttpResponse(page)
    response["Cache-Control"] = "no-store"
    return response


@workspace_view("manage_forms", also=("delete",))
@require_http_methods(["GET", "POST"])
def form_delete(request: HttpRequest, form_id: int) -> HttpResponse:
    """Ask, then delete the form and its submissions; contacts and timelines stay."""
    form = selectors.form_get(request.workspace, form_id)
    if request.method == "POST":
        services.form_delete(workspace=request.workspace, form_id=form.pk, actor=request.actor)
        messages.success(request, f"Deleted the form “{form.name}”.")
        return redirect("form_list", request.workspace.slug)
    stats = selectors.form_stats(request.workspace, [form.pk])[form.pk]
    context = {**SECTION, "form": form, "stats": stats}
    return render_page(request, "web/forms/delete.html", context)


# --- submissions ----------------------------------------------------------------------------


def _status_param(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    held = (SubmissionStatus.SPAM, SubmissionStatus.SUSPECTED)
    return status if status in held else SubmissionStatus.ACCEPTED


def _email_field_name(form: Form) -> str | None:
    for definition in form.fields:
        if definition.get("maps_to") == "email":
            return definition["name"]
    for definition in form.fields:
        if definition.get("type") == "email":
            return definition["name"]
    return None


def _answers(submission: Submission) -> dict[str, Any]:
    """What to show as the answers: the checked values, or the raw payload of spam."""
    if submission.status == SubmissionStatus.ACCEPTED and submission.values:
        return submission.values
    return submission.payload if isinstance(submission.payload, dict) else {}


@workspace_view("read")
@require_safe
def submission_list(request: HttpRequest, form_id: int) -> HttpResponse:
    """A form's submissions, newest first, one keyset page at a time; accepted or spam."""
    form = selectors.form_get(request.workspace, form_id)
    status = _status_param(request)
    submissions = selectors.submission_list(
        request.workspace, form.pk, actor=request.actor, status=status
    )
    error = ""
    try:
        page = contact_selectors.cursor_paginate(
            submissions,
            sort="-created_at",
            cursor=request.GET.get("cursor") or None,
            limit=SUBMISSIONS_PAGE,
        )
    except ValidationFailed:
        error = "This page link is not valid any more; showing the first page."
        page = contact_selectors.cursor_paginate(
            submissions, sort="-created_at", cursor=None, limit=SUBMISSIONS_PAGE
        )
    email_name = _email_field_name(form)
    rows = [
        {
            "submission": submission,
            "email": answer_text(_answers(submission).get(email_name)) if email_name else "—",
            "utm_source": submission.utm.get("utm_source", ""),
            "utm_campaign": submission.utm.get("utm_campaign", ""),
        }
        for submission in page.items
    ]
    params = {"status": status} if status != SubmissionStatus.ACCEPTED else {}
    context = {
        **SECTION,
        "form": form,
        "status": status,
        "rows": rows,
        "page": page,
        "error": error,
        "stats": selectors.form_stats(request.workspace, [form.pk])[form.pk],
        "next_query": query_with(params, cursor=page.next_cursor) if page.next_cursor else "",
        "first_query": query_with(params),
        "is_later_page": bool(request.GET.get("cursor")),
        "own_leads_only": request.actor.sees_only_own_leads,
        "may_review_held": _may_review_held(request),
    }
    return render_page(request, "web/forms/submissions.html", context)


@workspace_view("read")
@require_safe
def submission_detail(request: HttpRequest, form_id: int, submission_id: int) -> HttpResponse:
    """One submission: every answer, where it came from, and its consent records."""
    form = selectors.form_get(request.workspace, form_id)
    submission = selectors.submission_get(
        request.workspace, form.pk, submission_id, actor=request.actor
    )
    answers = _answers(submission)
    labels = {
        definition["name"]: definition.get("label") or definition["name"]
        for definition in form.fields
    }
    pairs = [(labels[name], answer_text(answers.get(name))) for name in labels if name in answers]
    pairs += [(name, answer_text(value)) for name, value in answers.items() if name not in labels]
    context = {
        **SECTION,
        "form": form,
        "submission": submission,
        "answers": pairs,
        "utm": _utm_rows(submission.utm),
        "consents": list(submission.consents.order_by("id")),
    }
    return render_page(request, "web/forms/submission.html", context)


def _utm_rows(utm: object) -> list[tuple[str, str]]:
    """A submission's campaign tags as people read them ("UTM source"), in funnel order."""
    if not isinstance(utm, dict):
        return []
    keys = [key for key in UTM_KEYS if key in utm] + sorted(set(utm) - set(UTM_KEYS))
    return [(str(key).replace("utm_", "UTM ", 1).replace("_", " "), utm[key]) for key in keys]


@workspace_view("export")
@require_safe
def submission_export(request: HttpRequest, form_id: int) -> HttpResponse:
    """The form's accepted (or spam) submissions as CSV, streamed, safe for spreadsheets."""
    form = selectors.form_get(request.workspace, form_id)
    status = _status_param(request)
    rows = selectors.submission_csv_rows(
        request.workspace, form, actor=request.actor, status=status
    )
    name = slugify(form.name) or "form"
    suffix = "" if status == SubmissionStatus.ACCEPTED else f"-{status}"
    return csv_response(rows, f"{name}-submissions{suffix}.csv")


@workspace_view("write")
@require_POST
def submission_release(request: HttpRequest, form_id: int, submission_id: int) -> HttpResponse:
    """Not spam: a suspected or spam submission becomes a lead (``submission_release``:
    the path of every accepted submission). Releasing twice is harmless."""
    form = selectors.form_get(request.workspace, form_id)
    submission = selectors.submission_get(
        request.workspace, form.pk, submission_id, actor=request.actor
    )
    held_as = submission.status
    try:
        submission = services.submission_release(
            workspace=request.workspace,
            form_id=form.pk,
            submission_pk=submission.pk,
            actor=request.actor,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except ValidationFailed as failure:
        labels = {f["name"]: f.get("label") or f["name"] for f in form.fields}
        reasons = " ".join(f"{labels.get(e.field, e.field)}: {e.message}" for e in failure.errors)
        messages.error(
            request, f"Not added as a lead: its answers fail the form's rules now. {reasons}"
        )
    else:
        if held_as != SubmissionStatus.ACCEPTED:
            messages.success(request, f"Added {submission.contact} as a lead.")
    if request.POST.get("next") == "list":
        return redirect(
            f"{reverse('form_submissions', args=[request.workspace.slug, form.pk])}"
            f"?status={held_as}"
        )
    return redirect("form_submission_detail", request.workspace.slug, form.pk, submission.pk)
