"""The activity kinds routing writes, their payload (one typed writer) and how the timeline
tells them; registered in ``SalesConfig.ready``.

- ``contact.assigned``: routing or a person gave the contact an owner. Written beside the
  ``owner.changed`` that contacts' ``contact_update`` records, to say why: the rule, the
  strategy, the team and the trigger.
- ``contact.queued``: nobody was available, so the contact stays unowned in a team's queue.
- ``first_touch.overdue``: the lead's first-touch deadline passed untouched; the owner (or
  the team, for a queued lead) was reminded.
- ``first_touch.escalated``: still untouched after that: the team's leads were told, or the
  lead was given to someone else (``action``).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

CONTACT_ASSIGNED = "contact.assigned"
CONTACT_QUEUED = "contact.queued"
FIRST_TOUCH_OVERDUE = "first_touch.overdue"
FIRST_TOUCH_ESCALATED = "first_touch.escalated"
FIRST_TOUCH_FIELDS = ("first_touch_id", "owner_id", "due_at", "action")
ASSIGNMENT_FIELDS = (
    "owner_id",
    "team_id",
    "team",
    "rule_id",
    "rule",
    "strategy",
    "trigger",
    "reason",
    "assignment_id",
)


def assignment_data(
    *,
    assignment_id: int,
    owner_id: int | None,
    team_id: int | None,
    team: str,
    rule_id: int | None,
    rule: str,
    strategy: str,
    trigger: str,
    reason: str,
) -> dict[str, Any]:
    """The payload of ``contact.assigned`` and ``contact.queued`` (owner None: queued)."""
    return {
        "owner_id": owner_id,
        "team_id": team_id,
        "team": team,
        "rule_id": rule_id,
        "rule": rule,
        "strategy": strategy,
        "trigger": trigger,
        "reason": reason,
        "assignment_id": assignment_id,
    }


def _assignment(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("owner_id") is not None:
        text.label = f"Assigned to {names.value('owner_id', data['owner_id'])}"
    elif data.get("team"):
        text.label = f"Queued for {data['team']}"
    if data.get("rule"):
        text.details.append(f"Rule: {data['rule']}")
    if data.get("reason"):
        text.details.append(str(data["reason"]))
    return ASSIGNMENT_FIELDS


def _overdue(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("owner_id") is not None:
        text.label = f"First touch overdue: {names.value('owner_id', data['owner_id'])} reminded"
    else:
        text.label = "First touch overdue: the team reminded"
    return FIRST_TOUCH_FIELDS


def _escalated(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("action") == "reassign" and data.get("owner_id") is not None:
        text.label = (
            f"First touch still missing: given to {names.value('owner_id', data['owner_id'])}"
        )
    else:
        text.label = "First touch still missing: the team's leads were told"
    return FIRST_TOUCH_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=CONTACT_ASSIGNED,
            label="Assigned",
            payload_fields=ASSIGNMENT_FIELDS,
            summary=_assignment,
        ),
        ActivityKindDefinition(
            key=CONTACT_QUEUED,
            label="Left in a team's queue",
            payload_fields=ASSIGNMENT_FIELDS,
            summary=_assignment,
        ),
        ActivityKindDefinition(
            key=FIRST_TOUCH_OVERDUE,
            label="First touch overdue",
            payload_fields=FIRST_TOUCH_FIELDS,
            summary=_overdue,
        ),
        ActivityKindDefinition(
            key=FIRST_TOUCH_ESCALATED,
            label="First touch escalated",
            payload_fields=FIRST_TOUCH_FIELDS,
            summary=_escalated,
        ),
    )
