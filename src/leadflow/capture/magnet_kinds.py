"""The activity kinds lead magnets write, registered in ``CaptureConfig.ready`` (so scoring
rules and sequence triggers can name them).

- ``magnet.downloaded``: the lead used their signed link to a magnet (a file downloaded,
  the external page opened, their code or seat looked at); data ``magnet_id``, ``name``.
- ``magnet.seated``: a seat freed up (the capacity grew, or a member released one) and the
  lead, first on the waiting list, got it; data ``magnet_id``, ``name``.
- ``magnet.seat_released``: a member released the lead's seat; data ``magnet_id``, ``name``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

MAGNET_DOWNLOADED = "magnet.downloaded"
MAGNET_SEATED = "magnet.seated"
MAGNET_SEAT_RELEASED = "magnet.seat_released"
MAGNET_FIELDS = ("magnet_id", "name")


def magnet_data(*, magnet_id: int, name: str) -> dict[str, Any]:
    """The typed payload of the magnets' activities."""
    return {"magnet_id": magnet_id, "name": name}


def _labelled(template: str):
    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        text.label = template.format(data.get("name") or "a lead magnet")
        return MAGNET_FIELDS

    return summary


def register() -> None:
    for key, label, template in (
        (MAGNET_DOWNLOADED, "Lead magnet downloaded", "Downloaded {}"),
        (MAGNET_SEATED, "Seat from the waiting list", "Got a seat at {} from the waiting list"),
        (MAGNET_SEAT_RELEASED, "Seat released", "Seat at {} released"),
    ):
        activity_kind_register(
            ActivityKindDefinition(
                key=key, label=label, payload_fields=MAGNET_FIELDS, summary=_labelled(template)
            )
        )
