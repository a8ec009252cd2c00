"""Messenger channels: the workspace's Telegram bots, WhatsApp Cloud API numbers and
Facebook Messenger pages that run a chat flow (docs/chat/messengers.md).

No secret is stored (as the SMS token and the Stripe keys, decisions 0034 and 0039):
``token_env`` and ``app_secret_env`` name environment variables, the workspace's own
(``LEADFLOW_MESSENGER_W<workspace id>_…``: core.secrets), that hold the bot token / access
token and the Meta app secret. The webhook's address
carries ``webhook_token`` (random, unique: it only routes a post to its channel); what
authenticates a post is the platform's own proof, Telegram's secret-token header or Meta's
``X-Hub-Signature-256``. Telegram's secret token and Meta's verify token are derived from
the installation's secret and the webhook token (``chat.services.channels``), so they are
not stored either and change when the webhook token is regenerated.
"""

import secrets

from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace

SECRET_ENV_PREFIX = "LEADFLOW_MESSENGER_"


class ChannelKind(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Facebook Messenger"


def new_webhook_token() -> str:
    return secrets.token_hex(16)


class Channel(models.Model):
    """One messenger account that runs ``flow`` for the people who write to it.

    ``account_id`` is WhatsApp's phone number id or Messenger's page id (Telegram needs
    none: the bot token names the bot). A disabled channel, or one whose flow is gone or
    not active, answers the platform 200 and stores nothing."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=200)
    flow = models.ForeignKey(
        "chat.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    token_env = models.CharField(max_length=100, blank=True, default="")
    app_secret_env = models.CharField(max_length=100, blank=True, default="")
    account_id = models.CharField(max_length=64, blank=True, default="")
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind"], name="chat_channel_ws_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
