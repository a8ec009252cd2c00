"""Flows (the bot's scripts, versioned) and conversations (their transcripts).

A flow's ``draft`` is what the editor changes; publishing copies it into a new immutable
``FlowVersion``. A conversation stays on the version it started with, so editing or
publishing never changes a running conversation. Every message has a per-conversation
sequence number (``seq``) without gaps, assigned under the conversation's row lock
(``Conversation.last_seq``): a client that saw seq N asks for what came after N.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class FlowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


def empty_graph() -> dict:
    return {"start": "", "steps": []}


def empty_page_rules() -> dict:
    return {"include": [], "exclude": []}


def no_proactive_start() -> dict:
    return {"enabled": False}


class Flow(models.Model):
    """A chat flow: a name, a status (only active flows start conversations), the pages it
    runs on (``page_rules``: ``include``/``exclude`` globs of page addresses, a flow per site
    section), and the draft graph the editor changes (checked by ``chat.graph.graph_clean``
    on every save). ``current_version`` is the newest published version, None until the
    first publish. ``proactive`` is when the launcher opens the chat by itself with a
    message (``chat.proactive.proactive_clean``: a delay, a scroll depth, an exit intent, at
    most once per visitor per ``once_per_days``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=FlowStatus.choices, default=FlowStatus.DRAFT)
    page_rules = models.JSONField(default=empty_page_rules, blank=True)
    priority = models.IntegerField(
        default=0, help_text="Where several flows match a page, the highest runs."
    )
    draft = models.JSONField(default=empty_graph)
    proactive = models.JSONField(default=no_proactive_start, blank=True)
    current_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"], name="chat_flow_ws_status")]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """One published graph of a flow, never changed after it is written: ``number`` counts
    from 1 per flow."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="chat_flowversion_number")
        ]


class ConversationStatus(models.TextChoices):
    BOT = "bot", "With the bot"
    WAITING = "waiting", "Waiting for a person"
    ASSIGNED = "assigned", "With a person"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.WAITING, ConversationStatus.ASSIGNED)


class Conversation(models.Model):
    """One visitor's conversation with one flow version.

    ``state`` is the bot engine's state (``chat.engine.State`` as JSON: the step, the
    answers given, what it waits for); ``current_step`` mirrors its step for lists and
    filters. ``contact`` is set once an answer identified the visitor (an email or phone
    through the lead-arrival service). ``left_at_step`` is written once, by the idle pass,
    when the visitor left mid-flow."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="conversations")
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="+")
    visitor_id = models.CharField(max_length=100, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ConversationStatus.choices, default=ConversationStatus.BOT
    )
    current_step = models.CharField(max_length=64, blank=True)
    state = models.JSONField(default=dict)
    last_seq = models.PositiveIntegerField(default=0)
    page_url = models.CharField(max_length=2000, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    left_at_step = models.CharField(max_length=64, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # The live inbox (chat.services.handover, chat.services.inbox): who holds the chat, when
    # the bot handed it over, when a person first answered (the chat's speed to lead), the
    # close and the visitor's rating of it.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    handover_at = models.DateTimeField(null=True, blank=True)
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    # Messengers: the channel the conversation runs on (None: the site widget) and the
    # person's id there (Telegram's chat id, WhatsApp's wa_id, Messenger's PSID).
    channel = models.ForeignKey(
        "chat.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        constraints = [
            # One open conversation per person and channel.
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                name="chat_conv_channel_open",
                condition=Q(channel__isnull=False, status__in=["bot", "waiting", "assigned"]),
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_activity_at"], name="chat_conv_ws_activity"),
            models.Index(fields=["workspace", "assignee", "status"], name="chat_conv_ws_assignee"),
            # The idle pass: open bot conversations not yet marked as left, oldest first.
            models.Index(
                fields=["last_activity_at"],
                name="chat_conv_idle",
                condition=Q(status="bot", left_at__isnull=True),
            ),
            models.Index(fields=["workspace", "visitor_id"], name="chat_conv_ws_visitor"),
        ]


class MessageAuthor(models.TextChoices):
    BOT = "bot", "Bot"
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Message(models.Model):
    """One message of a conversation, in ``seq`` order (1, 2, 3... without gaps). A
    visitor's message carries the ``client_id`` its browser made, so a retry stores it once
    (an agent's too, and the visitor's "Talk to a person"). Notes take a ``seq`` like any
    message, so a visitor's reads can skip numbers where an agent wrote a note.
    ``payload`` holds what a client draws besides the text (a question's choices and input
    type, a knowledge-base answer's citation)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    author = models.CharField(max_length=10, choices=MessageAuthor.choices)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    step = models.CharField(max_length=64, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    # An agent's message names its author; ``internal`` marks an agent's note, which only
    # the inbox shows (never the visitor: chat.services.conversations excludes them).
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                name="chat_message_client_id",
                condition=~Q(client_id=""),
            ),
        ]
