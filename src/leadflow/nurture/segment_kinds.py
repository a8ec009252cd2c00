"""The activity kinds segments write, their payload (one typed writer) and how the timeline
tells them; registered in ``NurtureConfig.ready``.

- ``segment.entered``: the contact became a member of a segment (its conditions now match,
  or someone added them to a static list); sequences can start on it.
- ``segment.left``: the contact is no longer a member (conditions stopped matching, removed
  from a list).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

SEGMENT_ENTERED = "segment.entered"
SEGMENT_LEFT = "segment.left"
SEGMENT_FIELDS = ("segment_id", "segment", "source")


def segment_change_data(*, segment_id: int, segment: str, source: str) -> dict[str, Any]:
    """The payload of ``segment.entered`` and ``segment.left``: which segment (id and its
    name at the time) and how (``conditions``, ``manual``, ``api``, ``import``...)."""
    return {"segment_id": segment_id, "segment": segment, "source": source}


def _summary(verb: str):
    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        text.label = f"{verb} segment {data.get('segment') or data.get('segment_id')}"
        return SEGMENT_FIELDS

    return summary


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=SEGMENT_ENTERED,
            label="Entered a segment",
            payload_fields=SEGMENT_FIELDS,
            summary=_summary("Entered"),
        ),
        ActivityKindDefinition(
            key=SEGMENT_LEFT,
            label="Left a segment",
            payload_fields=SEGMENT_FIELDS,
            summary=_summary("Left"),
        ),
    )
