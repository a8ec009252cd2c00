"""Transcript retention, run by ``leadflow maintain`` (docs/chat/retention.md).

Each workspace keeps a conversation ``ChatSettings.retention_days`` after its last activity
(``anonymous_retention_days`` when its visitor was never identified: no contact), then its
messages and the conversation itself are deleted, set-based, in bounded batches: one
transaction per batch of conversations, so a large first purge never holds a long lock.
A conversation is deleted only while nobody talks in it: the rows are taken with
``SKIP LOCKED`` (one being written is left for the next run) and the age is checked again
under the lock, so a message that just arrived keeps its conversation. The contact's
activities from the conversation stay on the timeline; the conversation's page then says
the transcript was deleted by the retention policy (``selectors.conversation_get``).
Safe to run twice: a second run finds nothing more.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.chat.models import ChatSettings, Conversation, Message
from leadflow.chat.services.idle import conversations_mark_left
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

BATCH = 200  # conversations per transaction


@dataclass
class RetentionReport:
    """What a run deleted: conversations, their messages, and in how many workspaces."""

    conversations: int = 0
    messages: int = 0
    workspaces: int = 0


def retention_days(workspace_id: int) -> tuple[int, int]:
    """(identified, anonymous) days the workspace keeps transcripts (the defaults until its
    chat settings are saved)."""
    row = (
        ChatSettings.objects.filter(workspace_id=workspace_id)
        .values_list("retention_days", "anonymous_retention_days")
        .first()
    )
    return row or _defaults()


def _defaults() -> tuple[int, int]:
    fields = ChatSettings._meta
    return (
        fields.get_field("retention_days").default,
        fields.get_field("anonymous_retention_days").default,
    )


def _expired(now: dt.datetime, days: int, anonymous_days: int) -> Q:
    """Conversations past retention: the last activity strictly more than the days ago (a
    conversation exactly N days old is kept that day)."""
    return Q(contact__isnull=False, last_activity_at__lt=now - dt.timedelta(days=days)) | Q(
        contact__isnull=True, last_activity_at__lt=now - dt.timedelta(days=anonymous_days)
    )


def transcripts_prune(*, now: dt.datetime | None = None, batch: int = BATCH) -> RetentionReport:
    """Delete every workspace's transcripts past its retention (Message rows, then their
    Conversation rows, ``batch`` conversations per transaction). Conversations left
    mid-flow are marked first (``conversations_mark_left``), so their "left the chat"
    activity is written before the transcript goes. Returns the counts."""
    now = now or timezone.now()
    conversations_mark_left(now=now)
    report = RetentionReport()
    saved = {
        workspace_id: (days, anonymous)
        for workspace_id, days, anonymous in ChatSettings.objects.values_list(
            "workspace_id", "retention_days", "anonymous_retention_days"
        )
    }
    defaults = _defaults()
    for workspace in Workspace.objects.order_by("pk").only("pk"):
        days, anonymous = saved.get(workspace.pk, defaults)
        conversations, messages = _workspace_prune(workspace, _expired(now, days, anonymous), batch)
        if conversations:
            report.conversations += conversations
            report.messages += messages
            report.workspaces += 1
            with transaction.atomic():
                audit_record(
                    workspace=workspace,
                    actor=Actor.system("leadflow maintain"),
                    action="chat.transcripts_deleted",
                    changes={
                        "conversations": conversations,
                        "messages": messages,
                        "retention_days": days,
                        "anonymous_retention_days": anonymous,
                    },
                )
    return report


def _workspace_prune(workspace: Workspace, expired: Q, batch: int) -> tuple[int, int]:
    conversations = messages = 0
    while True:
        with transaction.atomic():
            ids = list(
                Conversation.objects.select_for_update(skip_locked=True)
                .filter(expired, workspace=workspace)
                .order_by("last_activity_at", "pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            # Set-based: one DELETE of the messages, one of the conversations (checked
            # again: the rows are locked, nothing touched them since).
            messages += Message.objects.filter(
                workspace=workspace, conversation_id__in=ids
            ).delete()[0]
            gone = Conversation.objects.filter(expired, workspace=workspace, pk__in=ids).delete()[1]
            conversations += gone.get(Conversation._meta.label, 0)
        if len(ids) < batch:
            break
    return conversations, messages
