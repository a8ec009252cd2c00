"""The activity kinds marketing email writes on a contact's timeline (typed writers here,
registered in ``NurtureConfig.ready``; docs/nurture/tracking.md). Not ``email.sent``:
that is sales' personal email, a first touch of speed to lead, which a newsletter must
never count as.

- ``email.marketing_sent``: a marketing email was handed to the mail server and recorded
  as sent (written set-based for a batch, ``nurture.services.tracking.sent_record``);
- ``email.opened``: its open pixel was fetched (at most once per email). Unreliable:
  mail clients and privacy proxies (Apple Mail Privacy Protection) fetch images by
  themselves, and many readers block them;
- ``email.clicked``: a tracked link in it was followed (``url``: where it led);
- ``email.break_started`` / ``email.break_ended``: the person ignored
  the workspace's ``pause_after_ignored`` marketing emails in a row and gets a break from
  them (``until``), or engaged again (an open or a click) and the break ended ("take a
  break").
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

EMAIL_SENT = "email.marketing_sent"
EMAIL_OPENED = "email.opened"
EMAIL_CLICKED = "email.clicked"
BREAK_STARTED = "email.break_started"
BREAK_ENDED = "email.break_ended"
BREAK_FIELDS = ("ignored", "until")
EMAIL_FIELDS = ("message_id", "message", "delivery_id")
CLICK_FIELDS = (*EMAIL_FIELDS, "url")
OPENS_UNRELIABLE = "Opens are unreliable: mail apps may load images by themselves."


def email_data(*, message_id: int, message: str, delivery_id: int, url: str = "") -> dict:
    data: dict[str, Any] = {
        "message_id": message_id,
        "message": message,
        "delivery_id": delivery_id,
    }
    if url:
        data["url"] = url[:2000]
    return data


def break_data(*, ignored: int, until) -> dict:
    return {"ignored": ignored, "until": until.isoformat()}


def _sent(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Marketing email sent: {data.get('message', '')}"
    return EMAIL_FIELDS


def _opened(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Opened the email {data.get('message', '')} (unreliable)"
    text.details.append(OPENS_UNRELIABLE)
    return EMAIL_FIELDS


def _clicked(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Clicked a link in the email {data.get('message', '')}"
    if data.get("url"):
        text.details.append(str(data["url"]))
    return CLICK_FIELDS


def _break_started(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    until = str(data.get("until", ""))[:10]
    text.label = f"Taking a break from marketing email until {until}"
    text.details.append(f"Ignored the last {data.get('ignored', '')} marketing emails")
    return BREAK_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=EMAIL_SENT, label="Marketing email sent", payload_fields=EMAIL_FIELDS, summary=_sent
        ),
        ActivityKindDefinition(
            key=EMAIL_OPENED,
            label="Email opened (unreliable)",
            payload_fields=EMAIL_FIELDS,
            summary=_opened,
        ),
        ActivityKindDefinition(
            key=EMAIL_CLICKED,
            label="Email link clicked",
            payload_fields=CLICK_FIELDS,
            summary=_clicked,
        ),
        ActivityKindDefinition(
            key=BREAK_STARTED,
            label="Break from marketing email",
            payload_fields=BREAK_FIELDS,
            summary=_break_started,
        ),
        ActivityKindDefinition(key=BREAK_ENDED, label="Break from marketing email ended"),
    )
