"""The activity kinds of the salesperson's queue ("My leads"), their payloads and how the
timeline tells them; registered in ``SalesConfig.ready``.

- ``lead.snoozed``: a member set the lead aside in their queue until a time (``until``,
  UTC, ISO 8601; ``user_id``: whose queue).
- ``lead.unsnoozed``: the member brought it back before its time.
- ``lead.handed_back``: the owner gave the lead back, with a reason; it went back to
  routing (trigger ``handed_back``), whose own ``contact.assigned`` / ``contact.queued``
  follows.

A disqualification from the queue is contacts' own ``stage.changed`` with its reason.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

LEAD_SNOOZED = "lead.snoozed"
LEAD_UNSNOOZED = "lead.unsnoozed"
LEAD_HANDED_BACK = "lead.handed_back"
SNOOZE_FIELDS = ("user_id", "until")
HAND_BACK_FIELDS = ("owner_id", "reason")


def snooze_data(*, user_id: int, until: dt.datetime | None) -> dict[str, Any]:
    """The payload of ``lead.snoozed`` / ``lead.unsnoozed`` (no ``until`` for the latter)."""
    data: dict[str, Any] = {"user_id": user_id}
    if until is not None:
        data["until"] = until.astimezone(dt.UTC).isoformat()
    return data


def hand_back_data(*, owner_id: int, reason: str) -> dict[str, Any]:
    """The payload of ``lead.handed_back``: who gave it back and why."""
    return {"owner_id": owner_id, "reason": reason}


def _snoozed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    who = names.value("owner_id", data.get("user_id"))
    try:
        until = dt.datetime.fromisoformat(str(data.get("until")))
        text.label = f"Snoozed by {who} until {until:%b %-d, %Y %H:%M} UTC"
    except ValueError:
        text.label = f"Snoozed by {who}"
    return SNOOZE_FIELDS


def _unsnoozed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Back in {names.value('owner_id', data.get('user_id'))}'s queue"
    return SNOOZE_FIELDS


def _handed_back(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Handed back by {names.value('owner_id', data.get('owner_id'))}"
    text.body = str(data.get("reason") or "")
    return HAND_BACK_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=LEAD_SNOOZED, label="Snoozed", payload_fields=SNOOZE_FIELDS, summary=_snoozed
        ),
        ActivityKindDefinition(
            key=LEAD_UNSNOOZED,
            label="Snooze ended",
            payload_fields=SNOOZE_FIELDS,
            summary=_unsnoozed,
        ),
        ActivityKindDefinition(
            key=LEAD_HANDED_BACK,
            label="Handed back",
            payload_fields=HAND_BACK_FIELDS,
            summary=_handed_back,
        ),
    )
