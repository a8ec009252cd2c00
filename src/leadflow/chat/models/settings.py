"""A workspace's chat settings: how the widget looks and asks for consent, how many chats a
person holds at once, how long transcripts are kept, and the knowledge base's thresholds
when the workspace overrides the model's calibrated ones. One row per workspace, made on
first save; ``chat.selectors.chat_settings_get`` answers the defaults until then."""

from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace

DEFAULT_CONSENT_TEXT = (
    "We keep this conversation and the details you give us to answer you, "
    "as our privacy policy explains."
)
DEFAULT_OFFLINE_MESSAGE = "We're away right now. Leave your email and we'll reply when we're back."


class LauncherPosition(models.TextChoices):
    RIGHT = "right", "Bottom right"
    LEFT = "left", "Bottom left"


class ChatSettings(models.Model):
    """``enabled`` shows the launcher on pages an active flow runs on. ``consent_required``
    shows ``consent_text`` (and ``privacy_url``) before the visitor's first message, which
    the visitor accepts. ``agent_capacity`` is how many open chats a person holds before
    routing passes them over. Transcripts are deleted by ``leadflow maintain`` after
    ``retention_days`` (``anonymous_retention_days`` for visitors never identified). The
    ``kb_*`` thresholds, when set, replace the model's calibrated ones
    (``chat.knowledge.THRESHOLDS``)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    launcher_label = models.CharField(max_length=60, default="Chat with us")
    colour = models.CharField(max_length=7, default="#1f6feb")
    position = models.CharField(
        max_length=10, choices=LauncherPosition.choices, default=LauncherPosition.RIGHT
    )
    greeting = models.CharField(max_length=300, blank=True)
    consent_required = models.BooleanField(default=False)
    consent_text = models.TextField(default=DEFAULT_CONSENT_TEXT)
    privacy_url = models.URLField(max_length=2000, blank=True)
    offline_message = models.TextField(default=DEFAULT_OFFLINE_MESSAGE)
    agent_capacity = models.PositiveSmallIntegerField(default=5)
    retention_days = models.PositiveIntegerField(default=365)
    anonymous_retention_days = models.PositiveIntegerField(default=30)
    kb_answer_floor = models.FloatField(null=True, blank=True)
    kb_margin = models.FloatField(null=True, blank=True)
    kb_suggest_floor = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "chat settings"
