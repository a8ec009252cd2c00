"""The activity kinds of follow-ups, calls and meetings, their payloads (typed writers) and
how the timeline tells them; registered in ``SalesConfig.ready``.

- ``followup.scheduled`` / ``followup.changed`` / ``followup.completed`` /
  ``followup.reopened`` / ``followup.deleted``: a follow-up's life on the contact.
- ``call.logged`` / ``meeting.logged``: a person called or met the lead, with the outcome.
  These two names are a contract: speed-to-lead's first-touch timer stops on them.
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
from leadflow.sales.hours import time_zone_get

FOLLOWUP_SCHEDULED = "followup.scheduled"
FOLLOWUP_CHANGED = "followup.changed"
FOLLOWUP_COMPLETED = "followup.completed"
FOLLOWUP_REOPENED = "followup.reopened"
FOLLOWUP_DELETED = "followup.deleted"
CALL_LOGGED = "call.logged"
MEETING_LOGGED = "meeting.logged"

FOLLOWUP_FIELDS = ("followup_id", "kind", "title", "due_at", "time_zone", "assignee_id")
LOG_FIELDS = ("outcome", "notes", "duration_minutes", "by", "followup_id")

CALL_OUTCOMES = {
    "connected": "Connected",
    "no_answer": "No answer",
    "left_voicemail": "Left voicemail",
    "wrong_number": "Wrong number",
}
MEETING_OUTCOMES = {"held": "Held", "no_show": "No show", "rescheduled": "Rescheduled"}
FOLLOWUP_KIND_LABELS = {"call": "Call", "email": "Email", "meeting": "Meeting", "to_do": "To-do"}


def followup_data(followup, zone_name: str) -> dict[str, Any]:
    """The payload of the ``followup.*`` kinds: which follow-up, what, when (UTC, ISO 8601)
    and in which zone the assignee reads it, for whom."""
    return {
        "followup_id": followup.pk,
        "kind": followup.kind,
        "title": followup.title,
        "due_at": followup.due_at.isoformat(),
        "time_zone": zone_name,
        "assignee_id": followup.assignee_id,
    }


def log_data(
    *,
    outcome: str,
    notes: str,
    by: int | None,
    duration_minutes: int | None = None,
    followup_id: int | None = None,
) -> dict[str, Any]:
    """The payload of ``call.logged`` and ``meeting.logged``: the outcome, the notes, how
    long (minutes, when given), who (user id) and the follow-up scheduled with it."""
    data: dict[str, Any] = {"outcome": outcome, "notes": notes, "by": by}
    if duration_minutes is not None:
        data["duration_minutes"] = duration_minutes
    if followup_id is not None:
        data["followup_id"] = followup_id
    return data


def due_text(data: Mapping[str, Any]) -> str:
    """ "Jan 15, 2026 10:00 (Europe/Berlin)": the due time as the assignee reads it."""
    try:
        due = dt.datetime.fromisoformat(str(data.get("due_at")))
    except ValueError:
        return str(data.get("due_at", ""))
    zone_name = str(data.get("time_zone") or "UTC")
    zone = time_zone_get(zone_name) or dt.UTC
    return f"{due.astimezone(zone):%b %-d, %Y %H:%M} ({zone_name})"


def _followup(verb: str):
    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        kind = FOLLOWUP_KIND_LABELS.get(str(data.get("kind")), "Follow-up")
        text.label = f"Follow-up {verb}: {kind} — {data.get('title', '')}"
        if data.get("due_at"):
            text.details.append(f"Due {due_text(data)}")
        if data.get("assignee_id") is not None:
            text.details.append(f"For {names.value('owner_id', data['assignee_id'])}")
        return FOLLOWUP_FIELDS

    return summary


def _logged(what: str, outcomes: Mapping[str, str]):
    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        outcome = outcomes.get(str(data.get("outcome")), str(data.get("outcome", "")))
        text.label = f"{what}: {outcome}"
        text.body = str(data.get("notes") or "")
        if data.get("duration_minutes"):
            text.details.append(f"{data['duration_minutes']} minutes")
        if data.get("by") is not None:
            text.details.append(f"By {names.value('owner_id', data['by'])}")
        if data.get("followup_id"):
            text.details.append("Next follow-up scheduled")
        return LOG_FIELDS

    return summary


def register() -> None:
    definitions = [
        (FOLLOWUP_SCHEDULED, "Follow-up scheduled", "scheduled"),
        (FOLLOWUP_CHANGED, "Follow-up changed", "changed"),
        (FOLLOWUP_COMPLETED, "Follow-up completed", "completed"),
        (FOLLOWUP_REOPENED, "Follow-up reopened", "reopened"),
        (FOLLOWUP_DELETED, "Follow-up deleted", "deleted"),
    ]
    activity_kind_register(
        *(
            ActivityKindDefinition(
                key=key, label=label, payload_fields=FOLLOWUP_FIELDS, summary=_followup(verb)
            )
            for key, label, verb in definitions
        ),
        ActivityKindDefinition(
            key=CALL_LOGGED,
            label="Call logged",
            payload_fields=LOG_FIELDS,
            summary=_logged("Call", CALL_OUTCOMES),
        ),
        ActivityKindDefinition(
            key=MEETING_LOGGED,
            label="Meeting logged",
            payload_fields=LOG_FIELDS,
            summary=_logged("Meeting", MEETING_OUTCOMES),
        ),
    )
