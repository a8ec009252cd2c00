"""The activity kinds text messages write on a contact's timeline, registered in
``NurtureConfig.ready``.

- ``sms.replied``: the contact texted back something that is not a keyword (``body``, the
  number it came from, the inbound row's id). Other parts read it ("exit a sequence when
  the contact replied" reads ``email.replied`` and ``sms.replied``).
- ``sms.keyword``: the contact texted a carrier keyword (``keyword``; ``action``: stop,
  start or help). A STOP or START also changes the ``sms`` consent purpose, which writes
  its own ``consent.changed``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

SMS_REPLIED = "sms.replied"
SMS_KEYWORD = "sms.keyword"
SMS_FIELDS = ("inbound_id", "message_sid", "from_number", "body", "keyword", "action")
KEYWORD_WORDS = {
    "stop": "Opted out of text messages",
    "start": "Opted in to text messages again",
    "help": "Asked for help by text message",
}


def sms_inbound_data(inbound: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "inbound_id": inbound.pk,
        "message_sid": inbound.message_sid,
        "from_number": inbound.from_number,
    }
    if inbound.action == "reply":
        data["body"] = inbound.body
    else:
        data["keyword"] = inbound.body.strip().upper()[:20]
        data["action"] = inbound.action
    return data


def _replied(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Replied by text message"
    text.body = str(data.get("body") or "")
    if data.get("from_number"):
        text.details.append(f"From {data['from_number']}")
    return SMS_FIELDS


def _keyword(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = KEYWORD_WORDS.get(str(data.get("action")), "Texted a keyword")
    text.details.append(f"Texted {data.get('keyword', '')} from {data.get('from_number', '')}")
    return SMS_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=SMS_REPLIED,
            label="Replied by text message",
            payload_fields=SMS_FIELDS,
            summary=_replied,
        ),
        ActivityKindDefinition(
            key=SMS_KEYWORD,
            label="Texted a keyword (STOP, START, HELP)",
            payload_fields=SMS_FIELDS,
            summary=_keyword,
        ),
    )
