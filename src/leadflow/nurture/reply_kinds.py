"""The activity kinds replies to marketing email write on a contact's timeline, registered
in ``NurtureConfig.ready`` (docs/nurture/replies.md).

- ``email.replied``: the contact answered a marketing email (a person's reply).
- ``email.auto_replied``: an auto-reply came back to one (out of office, an autoresponder).
  A kind of its own, so that "did ``email.replied``" in a condition (an exit, a goal, a
  branch, a segment) and the "Exit when the contact replies" setting never count an
  out-of-office message.

Both carry ``message_id`` (the message answered), ``delivery_id``, ``subject`` (the reply's,
at most 200 characters) and ``auto``.

``REPLY_KINDS`` are the kinds that count as "the contact replied" for a sequence's
``exit_on_reply``: this one and ``sms.replied`` (an inbound text, written by nurture's SMS
part), named by its key so that either part works without the other.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

EMAIL_REPLIED = "email.replied"
EMAIL_AUTO_REPLIED = "email.auto_replied"
SMS_REPLIED = "sms.replied"
REPLY_KINDS = (EMAIL_REPLIED, SMS_REPLIED)
REPLY_FIELDS = ("message_id", "delivery_id", "subject", "auto")
SUBJECT_LENGTH = 200


def reply_data(
    *, message_id: int | None, delivery_id: int | None, subject: str, auto: bool
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "delivery_id": delivery_id,
        "subject": " ".join(subject.split())[:SUBJECT_LENGTH],
        "auto": auto,
    }


def _details(text: TimelineText, data: Mapping[str, Any]) -> None:
    if data.get("subject"):
        text.details.append(f"“{data['subject']}”")


def _replied(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Replied to an email"
    _details(text, data)
    return REPLY_FIELDS


def _auto_replied(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Auto-reply to an email (not counted as a reply)"
    _details(text, data)
    return REPLY_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=EMAIL_REPLIED, label="Replied to an email", payload_fields=REPLY_FIELDS,
            summary=_replied,
        ),
        ActivityKindDefinition(
            key=EMAIL_AUTO_REPLIED, label="Auto-reply to an email", payload_fields=REPLY_FIELDS,
            summary=_auto_replied,
        ),
    )  # fmt: skip
