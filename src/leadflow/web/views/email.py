"""One-to-one email in the app: compose an email to a contact (a template to start from, the
subject and body with merge fields, a live preview of the merged text), and Settings →
Email templates.

The compose form is one include, ``web/sales/_compose.html``, fed by ``compose_context``
for any contact: the contact page opens it today, the salesperson's queue will open the
same. Sending needs ``write`` and a contact the member may see (a salesperson who sees only
own leads: only theirs); templates are read by every member and changed by the roles with
``write``. A ``client_id`` rendered into each compose form makes a double click, or a
resubmitted form, store one email.
"""

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import contact_get
from leadflow.core.errors import ValidationFailed
from leadflow.sales import selectors, services
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map

COMPOSE_INPUTS = ("subject", "body", "template_id", "client_id")
TEMPLATE_INPUTS = ("name", "subject", "body")


def compose_context(
    request: HttpRequest,
    contact: Contact,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Everything ``web/sales/_compose.html`` needs for ``contact``: the templates, the merge
    fields, the form's values (a fresh client id when new), its errors, why the contact
    cannot be emailed (when it cannot) and the preview of the current text."""
    workspace = request.workspace
    values = dict(values or {})
    values.setdefault("client_id", uuid.uuid4().hex)
    problems = selectors.recipient_errors(workspace, contact)
    context = {
        "contact": contact,
        "compose_templates": list(selectors.email_template_list(workspace)),
        "merge_fields": selectors.merge_field_choices(workspace),
        "compose_values": values,
        "compose_errors": errors or {},
        "compose_problem": problems[0].message if problems else "",
    }
    context.update(_preview_context(request, contact, values))
    return context


def _preview_context(request: HttpRequest, contact: Contact, values: dict) -> dict[str, Any]:
    subject, body = values.get("subject", ""), values.get("body", "")
    if not subject and not body:
        return {"preview": None, "preview_errors": []}
    preview = selectors.email_merge(
        request.workspace, contact, subject=subject, body=body, sender=request.user
    )
    failures = selectors.merge_field_errors(request.workspace, {"subject": subject, "body": body})
    return {"preview": preview, "preview_errors": [e.message for e in failures]}


def _posted(request: HttpRequest, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in names}


def _template_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def contact_email(request: HttpRequest, contact_id: int) -> HttpResponse:
    """GET: the compose form (``?template_id=<id>`` starts from a template). POST: send it,
    through ``personal_email_send``; the timeline shows it queued at once."""
    workspace, actor = request.workspace, request.actor
    contact = contact_get(workspace, actor, contact_id)
    partial = "web/sales/_compose.html" if request.htmx else "web/sales/compose.html"
    if request.method == "GET":
        values = {}
        template_id = _template_id(request.GET.get("template_id", ""))
        if template_id is not None:
            template = selectors.email_template_list(workspace).filter(pk=template_id).first()
            if template is not None:
                values = {
                    "template_id": str(template.pk),
                    "subject": template.subject,
                    "body": template.body,
                }
        if request.GET.get("client_id"):  # the same form, another template: the same email
            values["client_id"] = request.GET["client_id"][:100]
        return render(request, partial, compose_context(request, contact, values=values))
    values = _posted(request, COMPOSE_INPUTS)
    raw_template = values.get("template_id", "")
    try:
        result = services.personal_email_send(
            workspace=workspace,
            contact_id=contact.pk,
            subject=values["subject"],
            body=values["body"],
            template_id=_template_id(raw_template) if raw_template else None,
            client_id=values["client_id"] or None,
            actor=actor,
        )
    except ValidationFailed as failure:
        context = compose_context(request, contact, values=values, errors=error_map(failure))
        return render(request, partial, context, status=422)
    if request.htmx:
        response = render(
            request, "web/sales/_compose_sent.html", {"contact": contact, "email": result.email}
        )
        response["HX-Trigger"] = "timeline-changed"
        return response
    messages.success(request, f"Email to {result.email.to_address} queued.")
    return redirect("contact_detail", workspace.slug, contact.pk)


@workspace_view("write")
@require_POST
def contact_email_preview(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The merged subject and body of the compose form as it stands (nothing is stored)."""
    contact = contact_get(request.workspace, request.actor, contact_id)
    values = _posted(request, COMPOSE_INPUTS)
    return render(
        request,
        "web/sales/_compose_preview.html",
        {"contact": contact, **_preview_context(request, contact, values)},
    )


# --- settings: templates ------------------------------------------------------------------


def _templates_page(
    request: HttpRequest, values: dict | None = None, errors: dict | None = None, status=200
) -> HttpResponse:
    context = {
        "settings_section": "email_templates",
        "templates": selectors.email_template_list(request.workspace),
        "merge_fields": selectors.merge_field_choices(request.workspace),
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "web/settings/email_templates.html", context, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def email_templates(request: HttpRequest) -> HttpResponse:
    """The workspace's templates; POST (``write``) adds one."""
    if request.method == "GET":
        return _templates_page(request)
    if not request.membership.can("write"):
        raise HttpForbidden("Your role does not allow this.")
    values = _posted(request, TEMPLATE_INPUTS)
    try:
        services.email_template_create(
            workspace=request.workspace, data=values, actor=request.actor
        )
    except ValidationFailed as failure:
        return _templates_page(request, values, error_map(failure), status=422)
    messages.success(request, f"Template “{values['name'].strip()}” added.")
    return redirect("settings_email_templates", request.workspace.slug)


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.email_template_get(request.workspace, template_id)
    values = {name: getattr(template, name) for name in TEMPLATE_INPUTS}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = _posted(request, TEMPLATE_INPUTS)
        try:
            services.email_template_update(
                workspace=request.workspace,
                template_id=template.pk,
                data=values,
                actor=request.actor,
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Template saved.")
            return redirect("settings_email_templates", request.workspace.slug)
    context = {
        "settings_section": "email_templates",
        "template": template,
        "merge_fields": selectors.merge_field_choices(request.workspace),
        "values": values,
        "errors": errors,
    }
    return render(request, "web/settings/email_template_edit.html", context, status=status)


@workspace_view("write")
@require_POST
def email_template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    services.email_template_delete(
        workspace=request.workspace, template_id=template_id, actor=request.actor
    )
    messages.success(request, "Template deleted.")
    return redirect("settings_email_templates", request.workspace.slug)
