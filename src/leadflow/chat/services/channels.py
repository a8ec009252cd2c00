"""Messenger channels: their settings, their webhooks' proofs, and the people's messages
given to the bot (docs/chat/messengers.md).

Guarantees:

- no secret is stored: the channel names environment variables, its workspace's own
  (``LEADFLOW_MESSENGER_W<workspace id>_…``: core.secrets; another name reads as unset),
  for the bot / access token and the app secret; Telegram's secret token and Meta's verify
  token are derived from the installation's secret and the channel's webhook token, so a
  regenerated webhook token changes them too; secrets are never logged;
- a person's message runs through the conversation services the widget uses
  (``conversation_start``, ``conversation_message_post``): the same engine, answers applied
  through the lead-arrival service, the same ``seq`` and ``client_id`` rules;
- one open conversation per (channel, person), kept by a unique constraint: two first
  messages at once open one conversation; a closed conversation's next message opens a
  new one;
- the platform's message id is the message's ``client_id``: a retried webhook stores it
  once (checked over every conversation of that person on the channel).
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from leadflow.chat.channel_platforms import Inbound
from leadflow.chat.models import OPEN_STATUSES, Channel, ChannelKind, Conversation, Flow, Message
from leadflow.chat.models.channels import SECRET_ENV_PREFIX, new_webhook_token
from leadflow.chat.services.channel_media import channel_media_receive
from leadflow.chat.services.conversations import (
    ConversationClosed,
    conversation_message_post,
    conversation_start,
    conversation_token,
    flow_for_page,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.secrets import secret_name_error, secret_name_problems, secret_read
from leadflow.core.services import audit_record

logger = logging.getLogger(__name__)

SECRET_FIELDS = ("token_env", "app_secret_env")
CHANNEL_KEYS = {"kind", "name", "flow", "enabled", *SECRET_FIELDS, "account_id"}
TELEGRAM_SECRET_SALT = "leadflow.chat.telegram-secret"
VERIFY_TOKEN_SALT = "leadflow.chat.meta-verify"
WEBHOOK_NAMES = {
    ChannelKind.TELEGRAM: "chat_hook_telegram",
    ChannelKind.WHATSAPP: "chat_hook_whatsapp",
    ChannelKind.MESSENGER: "chat_hook_messenger",
}


# --- secrets, derived tokens, addresses -------------------------------------------------------


def channel_secret(channel: Channel, field: str) -> str:
    """The value of the environment variable the channel's ``field`` (``token_env``,
    ``app_secret_env``) names: "" when unset or not the channel's workspace's to name."""
    return secret_read(channel.workspace_id, SECRET_ENV_PREFIX, getattr(channel, field))


def channel_secret_problems(channel: Channel) -> dict[str, str]:
    """For each name saved that is not this workspace's: the line saying to rename it."""
    return secret_name_problems(channel, dict.fromkeys(SECRET_FIELDS, SECRET_ENV_PREFIX))


def channel_secret_masked(channel: Channel, field: str) -> str:
    """How the app shows a secret: "" when unset, else dots and its last four characters
    (only for secrets long enough that four give nothing away)."""
    value = channel_secret(channel, field)
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 16 else "••••"


def channel_telegram_secret(channel: Channel) -> str:
    """The ``secret_token`` given to Telegram's ``setWebhook``, which Telegram sends back
    in ``X-Telegram-Bot-Api-Secret-Token`` (letters and digits, as Telegram allows)."""
    return salted_hmac(TELEGRAM_SECRET_SALT, channel.webhook_token, algorithm="sha256").hexdigest()


def channel_verify_token(channel: Channel) -> str:
    """The verify token to type into Meta's webhook settings (echoed in its GET check)."""
    return salted_hmac(VERIFY_TOKEN_SALT, channel.webhook_token, algorithm="sha256").hexdigest()[
        :32
    ]


def channel_webhook_url(channel: Channel, base_url: str = "") -> str:
    """The address to give the platform: on LEADFLOW_BASE_URL when it is set, else on
    ``base_url`` (the site's root as the request reached it)."""
    root = (settings.LEADFLOW_BASE_URL or base_url).rstrip("/")
    path = reverse(
        WEBHOOK_NAMES[ChannelKind(channel.kind)], kwargs={"token": channel.webhook_token}
    )
    return root + path


def channel_by_webhook(kind: str, token: str) -> Channel | None:
    """The channel of ``kind`` whose webhook token is ``token``, or None."""
    if not token or len(token) > 64 or not token.isascii():
        return None
    return (
        Channel.objects.filter(kind=kind, webhook_token=token)
        .select_related("workspace", "flow")
        .first()
    )


# --- settings: create, change, delete ---------------------------------------------------------


def _env_name(workspace: Workspace, value: Any, field: str, errors: list[FieldError]) -> str:
    name = str(value or "").strip()
    problem = secret_name_error(workspace.pk, SECRET_ENV_PREFIX, name) if name else None
    if problem:
        errors.append(FieldError(field, problem))
    return name


def _clean(workspace: Workspace, data: Any, *, channel: Channel | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "An object.")])
    errors = [
        FieldError(str(key)[:80], "Unknown field.") for key in data if key not in CHANNEL_KEYS
    ]
    clean: dict[str, Any] = {}
    kind = channel.kind if channel else data.get("kind")
    if channel is None and kind not in ChannelKind.values:
        errors.append(FieldError("kind", f"One of: {', '.join(ChannelKind.values)}."))
    elif channel is not None and "kind" in data and data["kind"] != channel.kind:
        errors.append(FieldError("kind", "A channel's kind cannot change: add another channel."))
    else:
        clean["kind"] = kind
    if "name" in data or channel is None:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
            errors.append(FieldError("name", "A name of 1 to 200 characters."))
        else:
            clean["name"] = name.strip()
    if "flow" in data:
        flow_id = data["flow"]
        if flow_id is None:
            clean["flow"] = None
        elif isinstance(flow_id, bool) or not isinstance(flow_id, int):
            errors.append(FieldError("flow", "A flow's id, or null."))
        else:
            flow = Flow.objects.filter(workspace=workspace, pk=flow_id).first()
            if flow is None:
                errors.append(FieldError("flow", "No such flow in this workspace."))
            clean["flow"] = flow
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors.append(FieldError("enabled", "true or false."))
        clean["enabled"] = data["enabled"] is True
    for field in SECRET_FIELDS:
        if field in data:
            clean[field] = _env_name(workspace, data[field], field, errors)
    if "account_id" in data:
        account = str(data["account_id"] or "").strip()
        if account and (len(account) > 64 or not account.isascii() or not account.isdigit()):
            errors.append(FieldError("account_id", "The platform's numeric id (digits)."))
        clean["account_id"] = account
    needs_account = kind in (ChannelKind.WHATSAPP, ChannelKind.MESSENGER)
    account_after = clean.get("account_id", channel.account_id if channel else "")
    if needs_account and not account_after and not any(e.field == "account_id" for e in errors):
        label = "phone number id" if kind == ChannelKind.WHATSAPP else "page id"
        errors.append(FieldError("account_id", f"The {label} is required."))
    if errors:
        raise ValidationFailed(errors)
    return clean


def channel_create(*, workspace: Workspace, data: Any, actor: Actor) -> Channel:
    """A new channel (with a fresh webhook token), audited."""
    clean = _clean(workspace, data, channel=None)
    with transaction.atomic():
        channel = Channel.objects.create(workspace=workspace, **clean)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="chat.channel.created",
            obj=channel,
            changes={"kind": channel.kind, "name": channel.name},
        )
    return channel


def channel_get(workspace: Workspace, channel_id: int) -> Channel:
    channel = (
        Channel.objects.filter(workspace=workspace, pk=channel_id).select_related("flow").first()
    )
    if channel is None:
        raise NotFound("No such channel.")
    return channel


def channel_update(
    *,
    workspace: Workspace,
    channel_id: int,
    data: Any,
    actor: Actor,
    regenerate_token: bool = False,
) -> Channel:
    """Change the given settings (the kind never changes); ``regenerate_token`` gives the
    channel a new webhook address (the old one answers 404 from now on, and Telegram's
    secret and Meta's verify token change with it: set the webhook again)."""
    channel = channel_get(workspace, channel_id)
    clean = _clean(workspace, data, channel=channel)
    clean.pop("kind", None)
    with transaction.atomic():
        for key, value in clean.items():
            setattr(channel, key, value)
        if regenerate_token:
            channel.webhook_token = new_webhook_token()
        channel.updated_at = timezone.now()
        channel.save()
        changes = {key: getattr(value, "pk", value) for key, value in clean.items()}
        if regenerate_token:
            changes["webhook_token"] = "regenerated"
        audit_record(
            workspace=workspace,
            actor=actor,
            action="chat.channel.updated",
            obj=channel,
            changes=changes,
        )
    return channel


def channel_delete(*, workspace: Workspace, channel_id: int, actor: Actor) -> None:
    """Delete a channel; its conversations stay (without the channel: nothing more is sent
    and the webhook answers 404)."""
    channel = channel_get(workspace, channel_id)
    with transaction.atomic():
        audit_record(
            workspace=workspace,
            actor=actor,
            action="chat.channel.deleted",
            obj=channel,
            changes={"kind": channel.kind, "name": channel.name},
        )
        channel.delete()


# --- people's messages --------------------------------------------------------------------------


def channel_client_id(message_id: str) -> str:
    """The ``client_id`` for a platform's message id (8 to 64 characters: longer ids, as
    Messenger's ``mid``, are hashed)."""
    if 8 <= len(message_id) <= 64 and message_id.isascii():
        return message_id
    return "sha256-" + hashlib.sha256(message_id.encode()).hexdigest()[:48]


@dataclass(frozen=True)
class Received:
    """What became of one inbound message: ``started`` (a new conversation), ``stored``
    (given to the bot or the person), ``duplicate`` (a retried delivery), ``ignored``
    (the channel is off, the flow does not run, another account's message)."""

    outcome: str
    conversation_id: int | None = None


def channel_inbound_receive(*, channel: Channel, inbound: Inbound) -> Received:
    """Give a person's message to the conversation (see the module's guarantees), each
    step committed before it returns."""
    if not channel.enabled or channel.flow_id is None:
        return Received("ignored")
    if inbound.account_id and channel.account_id and inbound.account_id != channel.account_id:
        return Received("ignored")
    workspace = channel.workspace
    client_id = channel_client_id(inbound.message_id)
    person = Conversation.objects.filter(
        workspace=workspace, channel=channel, external_id=inbound.external_id[:100]
    )
    stored = Message.objects.filter(
        workspace=workspace, conversation__in=person, client_id=client_id
    ).first()
    if stored is not None:
        return Received("duplicate", stored.conversation_id)
    if inbound.kind == "media":  # a photo, a voice message...: never taken as an answer
        return Received(
            *channel_media_receive(channel=channel, inbound=inbound, client_id=client_id)
        )
    text = inbound.text if inbound.kind != "start" else "/start"
    for _ in range(3):
        found = person.filter(status__in=OPEN_STATUSES).order_by("-pk").first()
        if found is None:
            flow = flow_for_page(workspace, "", channel.flow_id)
            if flow is None:
                return Received("ignored")
            try:
                reply = conversation_start(
                    workspace=workspace,
                    flow_id=flow.pk,
                    channel_id=channel.pk,
                    external_id=inbound.external_id,
                    opening=(text, client_id),
                )
            except IntegrityError:
                continue  # the same person's other message opened it first: post to that one
            return Received("started", reply.conversation.pk)
        if inbound.kind == "start":
            return Received("ignored", found.pk)  # /start in a running conversation
        try:
            reply = conversation_message_post(
                workspace=workspace,
                token=conversation_token(found),
                text=text,
                client_id=client_id,
            )
        except ConversationClosed:
            continue  # closed meanwhile: the message opens a new one
        except ValidationFailed:
            return Received("ignored", found.pk)
        return Received("duplicate" if reply.replayed else "stored", found.pk)
    return Received("ignored")
