"""Settings → Bounces: the bounce mailbox the worker reads (with a test button), the
webhook URL to paste into each provider (and a button that replaces them all), the
soft-bounce limit, and the recent bounces and complaints.

Reading needs ``read``; changing, testing and replacing the URLs need ``manage_settings``.
One page, one POST per form (``action``); a refused input is shown beside its field with
422 and nothing is saved."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import (
    MAILBOX_PASSWORD_ENV_PREFIX,
    MAILGUN_KEY_ENV_PREFIX,
    MailboxKind,
    TlsMode,
)
from leadflow.nurture.selectors.bounces import bounce_list
from leadflow.nurture.services.bounce_mailbox import mailbox_check
from leadflow.nurture.services.bounce_settings import (
    BOUNCE_FIELDS,
    PROVIDER_NAMES,
    bounce_secret_problems,
    bounce_settings_get,
    bounce_settings_save,
    webhook_token_rotate,
    webhook_urls,
)
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map
from leadflow.web.views.common import render_page

RECENT_SHOWN = 50
NUMBERS = ("port", "soft_bounce_limit")


def _posted(post) -> tuple[dict, dict]:
    """(what the service gets, what the form shows again): numbers parsed where they parse,
    else left as text so the service names the field."""
    shown = {name: post.get(name, "").strip() for name in BOUNCE_FIELDS}
    data = dict(shown)
    for name in NUMBERS:
        data[name] = int(shown[name]) if re.fullmatch(r"\d{1,6}", shown[name]) else shown[name]
    return data, shown


def _page(request: HttpRequest, *, values=None, errors=None, status: int = 200) -> HttpResponse:
    workspace = request.workspace
    found = bounce_settings_get(workspace)
    urls = webhook_urls(workspace, request.build_absolute_uri("/"))
    page = {
        "settings_section": "bounces",
        "found": found,
        "secret_problems": bounce_secret_problems(found).values(),
        "password_env_base": secret_name_base(workspace.pk, MAILBOX_PASSWORD_ENV_PREFIX),
        "mailgun_key_env_base": secret_name_base(workspace.pk, MAILGUN_KEY_ENV_PREFIX),
        "values": values or {name: getattr(found, name) for name in BOUNCE_FIELDS},
        "errors": errors or {},
        "mailbox_kinds": MailboxKind.choices,
        "tls_modes": TlsMode.choices,
        "webhooks": [(PROVIDER_NAMES[key], url) for key, url in urls.items()],
        "recent": list(bounce_list(workspace)[:RECENT_SHOWN]),
        "may_change": request.membership.can("manage_settings"),
    }
    return render_page(request, "web/nurture/bounces.html", page, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def bounce_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    if not request.membership.can("manage_settings"):
        raise HttpForbidden("Your role may not change the bounce settings.")
    workspace = request.workspace
    action = request.POST.get("action", "")
    try:
        if action == "settings":
            data, shown = _posted(request.POST)
            try:
                bounce_settings_save(workspace=workspace, data=data, actor=request.actor)
            except ValidationFailed as failure:
                return _page(request, values=shown, errors=error_map(failure), status=422)
            messages.success(request, "Bounce settings saved.")
        elif action == "test":
            waiting = mailbox_check(workspace=workspace)
            messages.success(request, f"The mailbox opened: {waiting} email(s) waiting to be read.")
        elif action == "rotate":
            webhook_token_rotate(workspace=workspace, actor=request.actor)
            messages.success(request, "New webhook URLs: give them to your providers.")
    except ValidationFailed as failure:
        return _page(request, errors=error_map(failure), status=422)
    return redirect("nurture_bounces", workspace.slug)
