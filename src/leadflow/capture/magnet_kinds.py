"""The activity kind lead magnets write, registered in ``CaptureConfig.ready`` (so scoring
rules and sequence triggers can name it).

- ``magnet.downloaded``: the lead used their signed link to a magnet (a file downloaded,
  the external page opened, their code or seat looked at); data ``magnet_id``, ``name``.
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
MAGNET_DOWNLOADED_FIELDS = ("magnet_id", "name")


def _downloaded(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Downloaded {data.get('name') or 'a lead magnet'}"
    return MAGNET_DOWNLOADED_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=MAGNET_DOWNLOADED,
            label="Lead magnet downloaded",
            payload_fields=MAGNET_DOWNLOADED_FIELDS,
            summary=_downloaded,
        )
    )
