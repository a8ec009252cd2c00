"""The activity kinds bounces and complaints write on a contact's timeline, registered in
``NurtureConfig.ready``.

- ``email.bounced``: a marketing email to the contact came back (``bounce``: hard or soft,
  the mail server's status code and words, where the report came from, and whether the
  address was suppressed because of it).
- ``email.complained``: the contact marked a marketing email as spam (a feedback report or
  a provider's complaint event); the address is suppressed at once.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

EMAIL_BOUNCED = "email.bounced"
EMAIL_COMPLAINED = "email.complained"
BOUNCE_FIELDS = ("bounce", "status", "diagnostic", "source", "message_id", "suppressed")


def bounce_data(
    *,
    bounce: str,
    status: str,
    diagnostic: str,
    source: str,
    message_id: int | None,
    suppressed: bool,
) -> dict[str, Any]:
    return {
        "bounce": bounce,
        "status": status,
        "diagnostic": diagnostic,
        "source": source,
        "message_id": message_id,
        "suppressed": suppressed,
    }


def _details(text: TimelineText, data: Mapping[str, Any]) -> None:
    parts = [part for part in (data.get("status"), data.get("diagnostic")) if part]
    if parts:
        text.details.append(" · ".join(str(part) for part in parts))
    where = f"Reported by {data.get('source', '')}"
    if data.get("suppressed"):
        where += " · the address is now suppressed"
    text.details.append(where)


def _bounced(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Email bounced (hard)" if data.get("bounce") == "hard" else "Email bounced (soft)"
    _details(text, data)
    return BOUNCE_FIELDS


def _complained(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Marked an email as spam"
    _details(text, data)
    return BOUNCE_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=EMAIL_BOUNCED, label="Email bounced", payload_fields=BOUNCE_FIELDS,
            summary=_bounced,
        ),
        ActivityKindDefinition(
            key=EMAIL_COMPLAINED, label="Email complaint", payload_fields=BOUNCE_FIELDS,
            summary=_complained,
        ),
    )  # fmt: skip
