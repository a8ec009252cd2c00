"""The live inbox's own rows: canned replies (a workspace's saved answers, inserted into the
reply box by title or shortcut) and agent presence (who is online to take chats).

A member is online while the inbox page (or an API client) has said so in the last
``PRESENCE_ONLINE_SECONDS`` and they have not marked themselves away; routing hands chats
only to online members (``chat.services.handover``)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace

PRESENCE_ONLINE_SECONDS = 120


class CannedReply(models.Model):
    """A saved answer: ``shortcut`` (``/price``) finds it from the reply box."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=100)
    text = models.TextField()
    shortcut = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "shortcut"],
                name="chat_canned_shortcut",
                condition=~models.Q(shortcut=""),
            )
        ]

    def __str__(self) -> str:
        return self.title


class AgentPresence(models.Model):
    """When a member was last seen in the inbox (its heartbeat), and whether they marked
    themselves away. One row per member and workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_seen_at = models.DateTimeField(default=timezone.now)
    away = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="chat_presence_member")
        ]
