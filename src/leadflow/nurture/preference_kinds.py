"""What the preference centre puts on a contact's timeline, registered in
``NurtureConfig.ready``: ``preferences.changed`` (how often, a pause, the topics opted out
of), written by ``services.preferences_save`` when a choice changed."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.dateparse import parse_datetime

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)
from leadflow.nurture.models import Frequency

PREFERENCES_CHANGED = "preferences.changed"


def preferences_changed_data(
    *, frequency: str, paused_until: str | None, topics_opted_out: list[str]
) -> dict[str, Any]:
    """The payload of ``preferences.changed``: the choices as they now stand (the pause's
    end in ISO 8601, the topics by name)."""
    return {
        "frequency": frequency,
        "paused_until": paused_until,
        "topics_opted_out": topics_opted_out,
    }


def _preferences_changed(
    text: TimelineText, data: Mapping[str, Any], names: Names
) -> Iterable[str]:
    frequency = data.get("frequency")
    if frequency in Frequency.values:
        text.details.append(f"How often: {Frequency(frequency).label}")
    paused = parse_datetime(data["paused_until"]) if data.get("paused_until") else None
    text.details.append(f"Paused until {paused:%-d %b %Y}" if paused else "Not paused")
    topics = data.get("topics_opted_out")
    if isinstance(topics, list) and topics:
        text.details.append("Opted out of: " + ", ".join(map(str, topics)))
    return ("frequency", "paused_until", "topics_opted_out")


def preference_kinds_register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=PREFERENCES_CHANGED,
            label="Email preferences changed",
            payload_fields=("frequency", "paused_until", "topics_opted_out"),
            summary=_preferences_changed,
        )
    )
