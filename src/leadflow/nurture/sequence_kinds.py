"""The activity kinds sequences write on a contact's timeline (one typed writer),
registered in ``NurtureConfig.ready``.

- ``sequence.entered``: the contact was enrolled (``source``: the trigger's kind,
  ``manual``, ``api`` or ``sequence`` for another sequence's step).
- ``sequence.finished``: the contact left it (``outcome``: completed, converted — met the
  goal —, exited on an exit condition, removed by hand; ``reason`` says which).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

SEQUENCE_ENTERED = "sequence.entered"
SEQUENCE_FINISHED = "sequence.finished"
SEQUENCE_FIELDS = ("sequence_id", "sequence", "source", "outcome", "reason")
OUTCOME_WORDS = {
    "completed": "Finished",
    "converted": "Met the goal of",
    "exited": "Left",
    "removed": "Taken out of",
}


def sequence_data(sequence: Any, *, source: str = "", outcome: str = "", reason: str = "") -> dict:
    data: dict[str, Any] = {"sequence_id": sequence.pk, "sequence": sequence.name}
    if source:
        data["source"] = source
    if outcome:
        data["outcome"] = outcome
    if reason:
        data["reason"] = reason
    return data


def _entered(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Entered sequence {data.get('sequence') or data.get('sequence_id')}"
    if data.get("source"):
        text.details.append(f"By {data['source']}")
    return SEQUENCE_FIELDS


def _finished(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    verb = OUTCOME_WORDS.get(str(data.get("outcome")), "Left")
    text.label = f"{verb} sequence {data.get('sequence') or data.get('sequence_id')}"
    if data.get("reason"):
        text.details.append(str(data["reason"]))
    return SEQUENCE_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=SEQUENCE_ENTERED,
            label="Entered a sequence",
            payload_fields=SEQUENCE_FIELDS,
            summary=_entered,
        ),
        ActivityKindDefinition(
            key=SEQUENCE_FINISHED,
            label="Left a sequence",
            payload_fields=SEQUENCE_FIELDS,
            summary=_finished,
        ),
    )
