"""REST endpoints for messenger channels (/api/v1/chat/channels): list, create, get,
change, delete, and Telegram's "set webhook". The settings scopes grant them, as for the
other provider settings. No secret is ever answered: a channel names the environment
variables that hold its token and app secret, and says whether each is set."""

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from leadflow.chat.models import Channel, ChannelKind
from leadflow.chat.services.channel_delivery import channel_telegram_webhook_set
from leadflow.chat.services.channels import (
    channel_create,
    channel_delete,
    channel_get,
    channel_secret,
    channel_secret_problems,
    channel_update,
    channel_verify_token,
    channel_webhook_url,
)
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["chat"])
READ, WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE


class ChannelOut(Schema):
    id: int
    kind: str
    name: str
    flow: int | None = Field(description="The flow the channel runs (null: none, it is silent)")
    enabled: bool
    account_id: str = Field(description="WhatsApp's phone number id or Messenger's page id")
    token_env: str = Field(description="The variable holding the bot / access token")
    token_set: bool = Field(
        description="Whether that variable is set on the server (and is this workspace's to name)"
    )
    app_secret_env: str = Field(description="The variable holding Meta's app secret")
    app_secret_set: bool
    env_problems: dict[str, str] = Field(
        description="For each name above that is not this workspace's own (saved before names "
        "were scoped): it reads as not set; the message says what to rename the variable to"
    )
    webhook_url: str = Field(description="The address to give the platform")
    verify_token: str = Field(description="What to type as Meta's verify token ('' for Telegram)")
    created_at: dt.datetime
    updated_at: dt.datetime


class ChannelIn(StrictSchema):
    name: str | None = None
    flow: int | None = None
    enabled: bool | None = None
    account_id: str | None = None
    token_env: str | None = Field(
        None, description="LEADFLOW_MESSENGER_W<workspace id>[_…]: holds the token"
    )
    app_secret_env: str | None = Field(
        None, description="LEADFLOW_MESSENGER_W<workspace id>[_…]: the app secret"
    )
    regenerate_webhook: bool | None = Field(
        None, description="true: a new webhook address (and secret / verify token)"
    )


class ChannelCreateIn(ChannelIn):
    kind: Literal["telegram", "whatsapp", "messenger"]
    name: str


class ChannelWebhookOut(Schema):
    detail: str
    webhook_url: str


def channel_out(channel: Channel, base_url: str) -> dict:
    meta = channel.kind != ChannelKind.TELEGRAM
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "flow": channel.flow_id,
        "enabled": channel.enabled,
        "account_id": channel.account_id,
        "token_env": channel.token_env,
        "token_set": bool(channel_secret(channel, "token_env")),
        "app_secret_env": channel.app_secret_env,
        "app_secret_set": bool(channel_secret(channel, "app_secret_env")),
        "env_problems": channel_secret_problems(channel),
        "webhook_url": channel_webhook_url(channel, base_url),
        "verify_token": channel_verify_token(channel) if meta else "",
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


def _base(request) -> str:
    return request.build_absolute_uri("/")


def _data(payload: ChannelIn) -> dict:
    data = payload.dict(exclude_unset=True)
    data.pop("regenerate_webhook", None)
    return data


@router.get("/chat/channels", response=list[ChannelOut], summary="List messenger channels")
def channels_list(request):
    workspace, _ = require_scope(request, READ)
    channels = Channel.objects.filter(workspace=workspace).order_by("pk")
    return [channel_out(channel, _base(request)) for channel in channels]


@router.post("/chat/channels", response={201: ChannelOut}, summary="Add a messenger channel")
def channels_create(request, payload: ChannelCreateIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        channel = channel_create(workspace=workspace, data=_data(payload), actor=actor)
        out = ChannelOut(**channel_out(channel, _base(request)))
        return json_response(out.dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/chat/channels/{channel_id}", response=ChannelOut, summary="Get a channel")
def channels_get(request, channel_id: int):
    workspace, _ = require_scope(request, READ)
    return channel_out(channel_get(workspace, channel_id), _base(request))


@router.patch("/chat/channels/{channel_id}", response=ChannelOut, summary="Change a channel")
def channels_patch(request, channel_id: int, payload: ChannelIn):
    workspace, actor = require_scope(request, WRITE)
    channel = channel_update(
        workspace=workspace,
        channel_id=channel_id,
        data=_data(payload),
        actor=actor,
        regenerate_token=bool(payload.regenerate_webhook),
    )
    return channel_out(channel, _base(request))


@router.delete("/chat/channels/{channel_id}", response={204: None}, summary="Delete a channel")
def channels_delete(request, channel_id: int):
    workspace, actor = require_scope(request, WRITE)
    channel_delete(workspace=workspace, channel_id=channel_id, actor=actor)
    return Status(204, None)


@router.post(
    "/chat/channels/{channel_id}/webhook",
    response=ChannelWebhookOut,
    summary="Point a Telegram bot's webhook at LeadFlow (setWebhook)",
)
def channels_webhook(request, channel_id: int):
    workspace, _ = require_scope(request, WRITE)
    channel = channel_get(workspace, channel_id)
    url = channel_webhook_url(channel, _base(request))
    return {"detail": channel_telegram_webhook_set(channel=channel, url=url), "webhook_url": url}
