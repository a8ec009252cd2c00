"""The idle pass: conversations the visitor left mid-flow are marked, once each, with a
``chat.left`` activity where the visitor is known ("left the chat at step N")."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadflow.chat import conversation_kinds as kinds
from leadflow.chat.graph import steps_by_id
from leadflow.chat.models import Conversation, ConversationStatus
from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.models import Activity


def conversations_mark_left(*, now: dt.datetime | None = None, batch: int = 1000) -> int:
    """Mark conversations with the bot, idle longer than ``LEADFLOW_CHAT_IDLE_MINUTES`` and
    not at their end, as left at their current step: one UPDATE per batch (a row is marked
    once: ``left_at`` set), one ``chat.left`` activity per known visitor, in one INSERT.
    Returns how many were marked."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.LEADFLOW_CHAT_IDLE_MINUTES)
    marked = 0
    while True:
        with transaction.atomic():
            rows = list(
                Conversation.objects.select_for_update(skip_locked=True)
                .filter(
                    status=ConversationStatus.BOT,
                    left_at__isnull=True,
                    last_activity_at__lt=cutoff,
                )
                .exclude(current_step="")
                .select_related("flow", "flow_version")
                .order_by("last_activity_at")[:batch]
            )
            if not rows:
                return marked
            Conversation.objects.filter(pk__in=[row.pk for row in rows]).update(
                left_at=now, left_at_step=F("current_step")
            )
            _left_activities(rows, now)
            marked += len(rows)
        if len(rows) < batch:
            return marked


def _left_activities(rows: list[Conversation], now: dt.datetime) -> None:
    made = Activity.objects.bulk_create(
        [
            Activity(
                workspace_id=row.workspace_id,
                contact_id=row.contact_id,
                kind=kinds.CHAT_LEFT,
                actor_label=f"chat: {row.flow.name}"[:200],
                data=kinds.chat_data(
                    conversation_id=row.pk,
                    flow_id=row.flow_id,
                    flow=row.flow.name,
                    step=row.current_step,
                    question=steps_by_id(row.flow_version.graph)
                    .get(row.current_step, {})
                    .get("text", "")[:200],
                ),
                occurred_at=now,
            )
            for row in rows
            if row.contact_id is not None
        ]
    )
    by_workspace: dict[int, tuple[set[int], int]] = {}
    for activity in made:
        contacts, highest = by_workspace.get(activity.workspace_id, (set(), 0))
        contacts.add(activity.contact_id)
        by_workspace[activity.workspace_id] = (contacts, max(highest, activity.pk))
    for workspace_id, (contacts, highest) in by_workspace.items():
        activities_announce(workspace_id=workspace_id, contact_ids=contacts, up_to_id=highest)
