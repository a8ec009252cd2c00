"""The activity kind a meeting step writes on a contact's timeline, registered in
``ChatConfig.ready`` (docs/chat/flows.md): ``chat.meeting_booked`` (``step``,
``starts_at``, ``ends_at`` in UTC, ``member_id``, ``followup_id``, and the conversation
and flow every chat kind carries). Orders write deals' own ``order.placed`` and
``order.paid``."""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.chat.conversation_kinds import BASE_FIELDS
from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

CHAT_MEETING_BOOKED = "chat.meeting_booked"
MEETING_FIELDS = (*BASE_FIELDS, "step", "starts_at", "ends_at", "member_id", "followup_id")


def _booked(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Booked a meeting in a chat"
    if data.get("starts_at"):
        text.details.append(f"Starts {data['starts_at']}")
    if data.get("flow"):
        text.details.append(f"Flow: {data['flow']}")
    return MEETING_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=CHAT_MEETING_BOOKED,
            label="Booked a meeting in a chat",
            payload_fields=MEETING_FIELDS,
            summary=_booked,
        )
    )
