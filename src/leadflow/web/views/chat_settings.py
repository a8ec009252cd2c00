"""Settings → Chat widget: how the launcher and the chat look on the customer's site, the
greeting, the consent notice the visitor accepts before the first message, what the widget
says when nobody is in, and the line that embeds the chat without the tracker. Marketing's
(``manage_forms``, as chat flows). A refused input is shown beside its field with 422 and
nothing is saved (``chat.services.chat_settings_update``)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from leadflow.chat import selectors, services
from leadflow.chat.models import LauncherPosition
from leadflow.core.errors import ValidationFailed
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import as_text, render_page, widget_script_url

FLAGS = ("enabled", "consent_required")
TEXTS = ("launcher_label", "colour", "position", "greeting", "consent_text", "privacy_url")
TEXTS += ("offline_message",)
SHOWN = FLAGS + TEXTS


def chat_snippet(request: HttpRequest) -> str:
    """The line that puts the chat on a site without the tracker (plain text: the page
    escapes it)."""
    address = widget_script_url(request, "chat-launcher.js")
    return as_text(
        format_html('<script src="{}?k={}" async></script>', address, request.workspace.public_key)
    )


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def chat_widget_settings(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    found = selectors.chat_settings_get(workspace)
    values = {name: getattr(found, name) for name in SHOWN}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        values = {name: post.get(name) == "on" for name in FLAGS}
        values |= {name: post.get(name, "") for name in TEXTS}
        try:
            services.chat_settings_update(workspace=workspace, actor=request.actor, changes=values)
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the chat widget's settings.")
            return redirect("settings_chat_widget", workspace.slug)
    page = {
        "settings_section": "chat_widget",
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, SHOWN),
        "positions": LauncherPosition.choices,
        "snippet": chat_snippet(request),
    }
    return render_page(request, "web/settings/chat_widget.html", page, status=status)
