"""The registry of activity kinds: what each kind is called, which payload fields it writes
and how a contact's timeline tells it.

Every app registers the kinds it writes in its ``AppConfig.ready`` (contacts its own, tracking
``visitor.linked`` and its visits), so no app lists another's kinds and the timeline renderer
asks the registry instead of growing a chain of ``if kind == ...``. A kind nobody registered
still shows, under its raw key with its payload as generic "field: value" lines.

Everything a summary produces is plain text: the template escapes it like any other text.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Names(Protocol):
    """Readable names for what activity data holds (field labels, member and company names);
    the timeline passes its own, so a summary never loads rows."""

    def field(self, name: str) -> str: ...

    def value(self, name: str, value: Any) -> str: ...


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class TimelineText:
    """What one timeline entry says: its headline, changes (old → new), a body and detail lines."""

    label: str
    changes: list[Change] = field(default_factory=list)
    body: str = ""
    details: list[str] = field(default_factory=list)


# Fills ``text`` from the activity's data and returns the payload keys it has told, so the
# timeline shows the remaining keys generically and nothing is silently dropped.
Summary = Callable[[TimelineText, Mapping[str, Any], Names], Iterable[str]]


@dataclass(frozen=True)
class ActivityKindDefinition:
    """One activity kind: its key as stored in ``Activity.kind``, its label, the payload fields
    it writes, and optionally how the timeline summarises it (otherwise label + generic lines)."""

    key: str
    label: str
    payload_fields: tuple[str, ...] = ()
    summary: Summary | None = None


ACTIVITY_KINDS: dict[str, ActivityKindDefinition] = {}


def activity_kind_register(*definitions: ActivityKindDefinition) -> None:
    """Register kinds (safe to call twice with the same definition, as ``ready`` may run
    twice in tests); a second, different definition of a key is an error, so two apps
    cannot claim one kind."""
    for definition in definitions:
        known = ACTIVITY_KINDS.get(definition.key)
        if known is not None and known != definition:
            raise ValueError(f"Activity kind {definition.key!r} is already registered.")
        ACTIVITY_KINDS[definition.key] = definition


def activity_kind_get(key: str) -> ActivityKindDefinition | None:
    return ACTIVITY_KINDS.get(key)


def activity_kind_label(key: str) -> str:
    """The kind's label, or its raw key when no app registered it."""
    definition = ACTIVITY_KINDS.get(key)
    return definition.label if definition else key


def activity_kind_summarise(
    key: str, data: Mapping[str, Any], names: Names
) -> tuple[TimelineText, set[str]]:
    """The registered summary of one activity, and the payload keys it told."""
    text = TimelineText(label=activity_kind_label(key))
    definition = ACTIVITY_KINDS.get(key)
    if definition is None or definition.summary is None:
        return text, set()
    return text, set(definition.summary(text, data, names))
