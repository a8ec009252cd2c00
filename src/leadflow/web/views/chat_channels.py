"""Settings → Chat channels: the workspace's Telegram bots, WhatsApp numbers and Messenger
pages that run a chat flow (docs/chat/messengers.md). A list with each channel's webhook
address (and Meta's verify token) to paste into the platform, a form to add or change one,
delete, and Telegram's "Set webhook". Secrets are never shown: a channel names the
environment variables that hold them; the page says whether each is set, masked. Seeing and
changing channels needs ``manage_forms`` (owners, admins, marketers), as the flows they run.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.chat.models import Channel, ChannelKind, Flow
from leadflow.chat.models.channels import SECRET_ENV_PREFIX
from leadflow.chat.services.channel_delivery import (
    ChannelNotReady,
    ChannelSendFailed,
    channel_telegram_webhook_set,
)
from leadflow.chat.services.channels import (
    channel_create,
    channel_delete,
    channel_get,
    channel_secret_masked,
    channel_secret_problems,
    channel_update,
    channel_verify_token,
    channel_webhook_url,
)
from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map
from leadflow.web.views.common import render_page

SECTION = {"section": "settings", "settings_section": "chat_channels"}
FIELDS = ("name", "token_env", "app_secret_env", "account_id")


def _row(channel: Channel, base_url: str) -> dict:
    return {
        "channel": channel,
        "webhook_url": channel_webhook_url(channel, base_url),
        "verify_token": channel_verify_token(channel)
        if channel.kind != ChannelKind.TELEGRAM
        else "",
        "token_masked": channel_secret_masked(channel, "token_env"),
        "app_secret_masked": channel_secret_masked(channel, "app_secret_env"),
        "secret_problems": channel_secret_problems(channel).values(),
    }


@workspace_view("manage_forms")
@require_safe
def channel_list(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/")
    channels = (
        Channel.objects.filter(workspace=request.workspace).select_related("flow").order_by("pk")
    )
    page = {**SECTION, "rows": [_row(channel, base) for channel in channels]}
    return render_page(request, "web/chat/channels.html", page)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, channel_id: int | None = None) -> HttpResponse:
    workspace = request.workspace
    channel = channel_get(workspace, channel_id) if channel_id else None
    values = {name: getattr(channel, name) for name in FIELDS} if channel else {}
    values["kind"] = channel.kind if channel else request.GET.get("kind", "telegram")
    values["flow"] = channel.flow_id if channel else None
    values["enabled"] = channel.enabled if channel else True
    errors, status = {}, 200
    if request.method == "POST":
        flow = request.POST.get("flow", "")
        data = {name: request.POST.get(name, "").strip() for name in FIELDS}
        data["flow"] = int(flow) if flow.isdigit() else None
        data["enabled"] = request.POST.get("enabled") == "on"
        if channel is None:
            data["kind"] = request.POST.get("kind", "")
        try:
            if channel is None:
                channel = channel_create(workspace=workspace, data=data, actor=request.actor)
            else:
                channel_update(
                    workspace=workspace,
                    channel_id=channel.pk,
                    data=data,
                    actor=request.actor,
                    regenerate_token=request.POST.get("regenerate") == "on",
                )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
            values = {**values, **data}
        else:
            messages.success(request, "Channel saved.")
            return redirect("chat_channel_list", workspace.slug)
    page = {
        **SECTION,
        "channel": channel,
        "values": values,
        "errors": errors,
        "form_errors": errors.get("__all__", []),
        "kinds": ChannelKind.choices,
        "flows": Flow.objects.filter(workspace=workspace).order_by("name"),
        "row": _row(channel, request.build_absolute_uri("/")) if channel else None,
        "env_base": secret_name_base(workspace.pk, SECRET_ENV_PREFIX),
    }
    return render_page(request, "web/chat/channel_edit.html", page, status=status)


@workspace_view("manage_forms")
@require_POST
def channel_remove(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel_delete(workspace=request.workspace, channel_id=channel_id, actor=request.actor)
    messages.success(request, "Channel deleted. Its conversations are kept.")
    return redirect("chat_channel_list", request.workspace.slug)


@workspace_view("manage_forms")
@require_POST
def channel_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = channel_get(request.workspace, channel_id)
    url = channel_webhook_url(channel, request.build_absolute_uri("/"))
    try:
        messages.success(request, channel_telegram_webhook_set(channel=channel, url=url))
    except (ChannelNotReady, ChannelSendFailed) as failure:
        messages.error(request, failure.detail)
    return redirect("chat_channel_list", request.workspace.slug)
