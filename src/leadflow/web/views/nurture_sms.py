"""Settings → Text messages: the workspace's SMS provider (a Twilio-compatible HTTP API),
the webhook addresses to give it, the latest texts sequences sent and the latest texts
people sent back. Every member may read it; a sales member who sees only own leads sees
only the texts to and from them. Changing it needs ``manage_settings``. A refused input is
shown beside its field with 422."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from leadflow.contacts.selectors import own_leads_condition
from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import SmsDelivery, SmsInbound
from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
from leadflow.nurture.services.sms import (
    sms_settings_get,
    sms_settings_save,
    sms_settings_secret_problems,
    sms_settings_token_set,
)
from leadflow.nurture.services.sms_inbound import sms_webhook_urls
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map
from leadflow.web.views.common import render_page

FIELDS = ("api_base", "account_sid", "from_number", "token_env")


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def sms_settings(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    may_change = request.membership.can("manage_settings")
    config = sms_settings_get(workspace.pk)
    values = {name: getattr(config, name) for name in FIELDS}
    values["require_sms_consent"] = config.require_sms_consent
    errors, status = {}, 200
    if request.method == "POST":
        if not may_change:
            raise HttpForbidden("Your role may not change the SMS provider.")
        values = {name: request.POST.get(name, "").strip() for name in FIELDS}
        values["require_sms_consent"] = request.POST.get("require_sms_consent") == "on"
        try:
            sms_settings_save(
                workspace=workspace, data=values, base_url=request.build_absolute_uri("/")
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "SMS provider saved.")
            return redirect("nurture_sms", workspace.slug)
    sent = SmsDelivery.objects.filter(workspace=workspace)
    received = SmsInbound.objects.filter(workspace=workspace)
    if request.actor.sees_only_own_leads:
        sent = sent.filter(own_leads_condition(workspace, request.actor, "contact"))
        received = received.filter(own_leads_condition(workspace, request.actor, "contact"))
    page = {
        "section": "settings",
        "settings_section": "sms",
        "values": values,
        "errors": errors,
        "may_change": may_change,
        "token_set": sms_settings_token_set(config),
        "secret_problems": sms_settings_secret_problems(config).values(),
        "env_base": secret_name_base(workspace.pk, TOKEN_ENV_PREFIX),
        "recent": sent.select_related("contact").order_by("-pk")[:20],
        "webhooks": sms_webhook_urls(workspace.pk, request.build_absolute_uri("/")),
        "inbound": received.select_related("contact").order_by("-pk")[:20],
    }
    return render_page(request, "web/nurture/sms.html", page, status=status)
