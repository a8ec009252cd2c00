"""Marketing email templates: the list, and the editor a marketer writes them in (blocks,
MJML or HTML), with a live preview as a chosen contact and a test send.

Every member may read them; changing them, previewing drafts and test sends need
``manage_forms`` (marketers, admins, owners), as for offers. The preview is HTML the
template's author wrote: the page shows it in an iframe sandboxed without scripts and
without the app's origin (docs/nurture/templates.md). Ids are looked up in the member's
workspace: another's template or contact answers 404.
"""

import json
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.nurture.models import TemplateSourceKind
from leadflow.nurture.selectors import email as selectors
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services import template_preview as previews
from leadflow.nurture.services.template_blocks import FIELDS
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

SECTION = {"section": "marketing_templates"}
MANAGE = "manage_forms"
FORM_FIELDS = ("name", "subject", "source_kind", "blocks", "mjml_source", "html_body", "text_body")
GREETING = 'Hi {{ contact.first_name|default:"there" }},'

STARTERS = {
    TemplateSourceKind.BLOCKS: {
        "blocks": [
            {"type": "header", "text": "News from us"},
            {
                "type": "text",
                "text": f"{GREETING}\n\nHere is what is new this month.",
            },
            {"type": "button", "label": "Read more", "href": "https://www.example.com/"},
            {"type": "footer", "text": "You get this because you signed up on our site."},
        ]
    },
    TemplateSourceKind.MJML: {
        "mjml_source": (
            "<mjml>\n  <mj-body>\n    <mj-section>\n      <mj-column>\n"
            f"        <mj-text>{GREETING}</mj-text>\n"
            '        <mj-button href="https://www.example.com/">Read more</mj-button>\n'
            '        <mj-text font-size="12px"><a href="{{ unsubscribe_url }}">Unsubscribe'
            "</a></mj-text>\n      </mj-column>\n    </mj-section>\n  </mj-body>\n</mjml>\n"
        )
    },
    TemplateSourceKind.HTML: {
        "html_body": (
            f"<p>{GREETING}</p>\n<p>Here is what is new this month.</p>\n"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n'
        )
    },
}
TYPE_LABELS = {
    "header": "Header",
    "text": "Text",
    "image": "Image",
    "button": "Button",
    "columns": "Two columns",
    "divider": "Divider",
    "spacer": "Spacer",
    "footer": "Footer",
}
FIELD_LABELS = {
    "text": "Text",
    "logo_src": "Logo address (URL)",
    "logo_alt": "Logo description",
    "align": "Alignment",
    "background": "Background colour",
    "color": "Text colour",
    "src": "Image address (URL)",
    "alt": "Description (alt text)",
    "href": "Link (URL)",
    "width": "Width in pixels",
    "label": "Label",
    "height": "Height in pixels",
    "unsubscribe_label": "Unsubscribe link text",
}


def _editor_config() -> dict:
    """What the editor script needs to draw each block type's fields."""
    return {
        "types": {
            kind: {
                "label": TYPE_LABELS[kind],
                "fields": [
                    {"name": name, "label": FIELD_LABELS[name], "kind": spec[0], "default": spec[2]}
                    for name, spec in fields.items()
                ],
            }
            for kind, fields in FIELDS.items()
        },
    }


def _need(request: HttpRequest, permission: str) -> None:
    if not request.membership.can(permission):
        raise HttpForbidden("Your role does not allow this.")


def _json_blocks(post) -> dict:
    """The editor's fields as the service takes them (blocks parsed from their JSON)."""
    data = {name: post.get(name, "") for name in FORM_FIELDS if name in post}
    if "blocks" in data:
        try:
            data["blocks"] = json.loads(data["blocks"] or "[]")
        except ValueError:
            raise ValidationFailed([FieldError("blocks", "Not valid JSON.")]) from None
    return data


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def template_list(request: HttpRequest) -> HttpResponse:
    """The workspace's marketing templates; POST (``manage_forms``) starts a new one."""
    values: dict = {"source_kind": TemplateSourceKind.BLOCKS}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        _need(request, MANAGE)
        kind = request.POST.get("source_kind", "")
        values = {"name": request.POST.get("name", "").strip(), "source_kind": kind}
        try:
            starter = STARTERS.get(kind, {})
            template = email_settings.template_create(
                workspace=request.workspace,
                data={"name": values["name"], "subject": "News from us", "source_kind": kind}
                | starter,
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        except DomainError as failure:  # the name is taken
            errors, status = {"name": [failure.detail]}, 409
        else:
            messages.success(request, f"Made the template “{template.name}”.")
            return redirect("marketing_template_edit", request.workspace.slug, template.pk)
    context = {
        **SECTION,
        "templates": list(selectors.template_list(request.workspace)),
        "may_change": request.membership.can(MANAGE),
        "kinds": TemplateSourceKind.choices,
        "values": values,
        "errors": errors,
    }
    return render_page(request, "web/nurture/templates.html", context, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    """The editor: GET shows the saved template; POST (``manage_forms``) saves it, compiled
    once; a refused save shows the page again with the edits and each error in place."""
    workspace = request.workspace
    template = selectors.template_get(workspace, template_id)
    values = {name: getattr(template, name) for name in FORM_FIELDS}
    if template.text_generated:
        values["text_body"] = ""
    errors: dict = {}
    status = 200
    if request.method == "POST":
        _need(request, MANAGE)
        posted = {name: request.POST.get(name, "") for name in FORM_FIELDS}
        values.update(posted)
        try:
            data = _json_blocks(request.POST)
            data["source_kind"] = template.source_kind  # a template keeps its kind
            template = email_settings.template_update(
                workspace=workspace, template_id=template.pk, data=data
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
            try:
                values["blocks"] = json.loads(posted.get("blocks") or "[]")
            except ValueError:
                values["blocks"] = []
        except DomainError as failure:
            errors, status = {"name": [str(failure.detail)]}, 409
        else:
            messages.success(request, "Template saved.")
            return redirect("marketing_template_edit", workspace.slug, template.pk)
    me = request.user.email
    context = {
        **SECTION,
        "template": template,
        "values": values,
        "blocks_json": json.dumps(values["blocks"]),
        "errors": errors,
        "other_errors": [_readable(text) for text in non_field_errors(errors, FORM_FIELDS)],
        "may_change": request.membership.can(MANAGE),
        "editor_config": {**_editor_config(), "errors": errors},
        "identities": list(selectors.identity_list(workspace)),
        "contacts": previews.preview_contacts(workspace, ""),
        "my_address": me,
        "preview": previews.template_render_as(
            workspace=workspace, template=template, contact_id=None
        ),
    }
    return render_page(request, "web/nurture/template_edit.html", context, status=status)


BLOCK_PATH = re.compile(r"^blocks\[(\d+)\](?:\.columns\[(\d)\]\[(\d+)\])?\.(\w+)")


def _readable(message: str) -> str:
    """``blocks[2].columns[1][0].src: …`` as a marketer reads it: ``Block 3, right column,
    block 1, Image address (URL): …``."""

    def name(match: re.Match) -> str:
        block, column, inner, field = match.groups()
        place = f"Block {int(block) + 1}"
        if column is not None:
            side = "left" if column == "0" else "right"
            place += f", {side} column, block {int(inner) + 1}"
        return f"{place}, {FIELD_LABELS.get(field, field)}"

    return BLOCK_PATH.sub(name, message)


def _contact_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < len(value) < 19 else None


@workspace_view("read")
@require_POST
def template_draft_preview(request: HttpRequest, template_id: int) -> JsonResponse:
    """The editor's unsaved fields compiled and rendered as the chosen contact (JSON:
    subject, html, text; 422 with the errors by field). Nothing is saved, so every member
    may look."""
    workspace = request.workspace
    template = selectors.template_get(workspace, template_id)
    try:
        data = _json_blocks(request.POST)
        data["source_kind"] = template.source_kind
        rendered, _ = previews.draft_render_as(
            workspace=workspace,
            data=data,
            contact_id=_contact_id(request.POST.get("contact_id", "")),
        )
    except ValidationFailed as failure:
        return JsonResponse({"errors": error_map(failure)}, status=422)
    return JsonResponse({"subject": rendered.subject, "html": rendered.html, "text": rendered.text})


@workspace_view("read")
@require_safe
def template_contacts(request: HttpRequest) -> JsonResponse:
    """Contacts of the workspace to preview as, matching ``q`` (JSON)."""
    found = previews.preview_contacts(request.workspace, request.GET.get("q", ""))
    return JsonResponse({"contacts": found})


@workspace_view(MANAGE)
@require_POST
def template_test_send(request: HttpRequest, template_id: int) -> JsonResponse:
    """Send the saved template as a test (JSON: message or errors)."""
    to = request.POST.get("to", "").strip() or request.user.email
    identity = request.POST.get("identity_id", "")
    try:
        previews.template_test_send(
            workspace=request.workspace,
            template_id=template_id,
            identity_id=_contact_id(identity) or 0,
            to=to,
            contact_id=_contact_id(request.POST.get("contact_id", "")),
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return JsonResponse({"errors": error_map(failure)}, status=422)
    except previews.TooManyTestSends as failure:
        return JsonResponse({"errors": {"to": [failure.detail]}}, status=429)
    return JsonResponse({"message": f"Test email sent to {to}."})
