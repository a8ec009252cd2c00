"""Settings → Marketing email: the workspace's sending identities, its SMTP and DKIM
settings (secrets are named, never typed in: docs/nurture/sending.md) with the test-send
button, the review list of unknown deliveries (re-queue or drop, by hand), and the newest
messages' opens and clicks (docs/nurture/tracking.md).

Reading needs ``read``; changing identities and settings and sending a test need
``manage_settings``; the review needs ``write``. One page, one POST per form (``action``).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import DKIM_KEY_ENV_PREFIX, PASSWORD_ENV_PREFIX, TlsMode
from leadflow.nurture.selectors import email as selectors
from leadflow.nurture.selectors.tracking import messages_engagement
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services.transport import smtp_secret_problems
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map

IDENTITY_INPUTS = ("from_name", "from_address", "reply_to")
REVIEW_SHOWN = 200
MESSAGES_SHOWN = 20


def _page(request: HttpRequest, *, values=None, errors=None, status: int = 200) -> HttpResponse:
    workspace = request.workspace
    smtp = selectors.smtp_settings_get(workspace)
    unknown = selectors.deliveries_unknown(workspace)
    context = {
        "settings_section": "marketing_email",
        "identities": list(selectors.identity_list(workspace)),
        "smtp": smtp,
        "secret_problems": smtp_secret_problems(smtp).values(),
        "password_env_base": secret_name_base(workspace.pk, PASSWORD_ENV_PREFIX),
        "dkim_key_env_base": secret_name_base(workspace.pk, DKIM_KEY_ENV_PREFIX),
        "tls_modes": TlsMode.choices,
        "unknown": list(unknown[:REVIEW_SHOWN]),
        "unknown_total": unknown.count(),
        "engagement": _engagement(workspace),
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "web/nurture_email/settings.html", context, status=status)


def _engagement(workspace) -> list:
    """The newest messages with their sent / opened / clicked / filtered counts."""
    shown = list(selectors.message_list(workspace)[:MESSAGES_SHOWN])
    counts = messages_engagement(workspace, [message.pk for message in shown])
    return [(message, counts[message.pk]) for message in shown]


def _need(request: HttpRequest, permission: str) -> None:
    if not request.membership.can(permission):
        raise HttpForbidden("Your role does not allow this.")


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def marketing_email(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    action = request.POST.get("action", "")
    workspace = request.workspace
    posted = {name: request.POST.get(name, "").strip() for name in request.POST}
    try:
        if action == "identity":
            _need(request, "manage_settings")
            email_settings.identity_create(
                workspace=workspace, data={k: posted.get(k, "") for k in IDENTITY_INPUTS}
            )
            messages.success(request, "Sending identity added.")
        elif action == "smtp":
            _need(request, "manage_settings")
            data = {k: posted.get(k, "") for k in email_settings.SMTP_FIELDS}
            port = data.get("port") or "587"
            data["port"] = int(port) if port.isdigit() and len(port) < 6 else 0
            email_settings.smtp_settings_save(workspace=workspace, data=data)
            messages.success(request, "Mail settings saved.")
        elif action == "test":
            _need(request, "manage_settings")
            identity = posted.get("identity_id", "")
            email_settings.smtp_test_send(
                workspace=workspace,
                identity_id=int(identity) if identity.isdigit() and len(identity) < 19 else 0,
                to=posted.get("to", ""),
            )
            messages.success(request, f"Test email sent to {posted.get('to', '')}.")
        elif action in ("requeue", "drop"):
            _need(request, "write")
            ids = [
                int(v) for v in request.POST.getlist("delivery_id") if v.isdigit() and len(v) < 19
            ]
            changed = sending.delivery_review(
                workspace=workspace, delivery_ids=ids, decision=action, user=request.user
            )
            verb = "queued again" if action == "requeue" else "dropped"
            messages.success(request, f"{changed} delivery(ies) {verb}.")
        else:
            return _page(request, status=400)
    except ValidationFailed as failure:
        return _page(request, values=posted, errors=error_map(failure), status=422)
    return redirect("settings_marketing_email", workspace.slug)
