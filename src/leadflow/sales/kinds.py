"""The activity kinds routing writes, their payload (one typed writer) and how the timeline
tells them; registered in ``SalesConfig.ready``.

- ``contact.assigned``: routing or a person gave the contact an owner. Written beside the
  ``owner.changed`` that contacts' ``contact_update`` records, to say why: the rule, the
  strategy, the team and the trigger.
- ``contact.queued``: nobody was available, so the contact stays unowned in a team's queue.
- ``first_touch.overdue``: the lead's first-touch deadline passed untouched; the owner (or
  the team, for a queued lead) was reminded.
- ``first_touch.escalated``: still untouched after that: the team's leads were told, or the
  lead was given to someone else (``action``).
- ``email.queued``: a member wrote a personal email to the contact; the worker will send it.
- ``email.sent``: the worker handed that email to the mail server (and only then: the
  first-touch timer stops on this kind, so it means "actually sent").
- ``email.failed``: the mail server refused that email for good (or the address became
  suppressed before it went); the error says why.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

CONTACT_ASSIGNED = "contact.assigned"
CONTACT_QUEUED = "contact.queued"
FIRST_TOUCH_OVERDUE = "first_touch.overdue"
FIRST_TOUCH_ESCALATED = "first_touch.escalated"
FIRST_TOUCH_FIELDS = ("first_touch_id", "owner_id", "due_at", "action")
EMAIL_QUEUED = "email.queued"
EMAIL_SENT = "email.sent"
EMAIL_FAILED = "email.failed"
EMAIL_FIELDS = (
    "email_id",
    "subject",
    "to",
    "sender_id",
    "sender",
    "body",
    "message_id",
    "error",
)
# The timeline shows this much of an email's body; the whole text stays on PersonalEmail.
EMAIL_BODY_EXCERPT = 2000
ASSIGNMENT_FIELDS = (
    "owner_id",
    "team_id",
    "team",
    "rule_id",
    "rule",
    "strategy",
    "trigger",
    "reason",
    "assignment_id",
)


def assignment_data(
    *,
    assignment_id: int,
    owner_id: int | None,
    team_id: int | None,
    team: str,
    rule_id: int | None,
    rule: str,
    strategy: str,
    trigger: str,
    reason: str,
) -> dict[str, Any]:
    """The payload of ``contact.assigned`` and ``contact.queued`` (owner None: queued)."""
    return {
        "owner_id": owner_id,
        "team_id": team_id,
        "team": team,
        "rule_id": rule_id,
        "rule": rule,
        "strategy": strategy,
        "trigger": trigger,
        "reason": reason,
        "assignment_id": assignment_id,
    }


def email_data(
    *,
    email_id: int,
    subject: str,
    to: str,
    sender_id: int | None,
    sender: str,
    body: str = "",
    message_id: str = "",
    error: str = "",
) -> dict[str, Any]:
    """The payload of ``email.queued`` (with the body's start), ``email.sent`` (with the
    Message-ID) and ``email.failed`` (with the error)."""
    data: dict[str, Any] = {
        "email_id": email_id,
        "subject": subject,
        "to": to,
        "sender_id": sender_id,
        "sender": sender,
    }
    if body:
        data["body"] = body[:EMAIL_BODY_EXCERPT]
    if message_id:
        data["message_id"] = message_id
    if error:
        data["error"] = error
    return data


def _email(verb: str) -> Any:
    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        text.label = f"Email {verb}: {data.get('subject', '')}"
        if data.get("to"):
            text.details.append(f"To: {data['to']}")
        if data.get("sender"):
            text.details.append(f"From: {data['sender']}")
        if data.get("error"):
            text.details.append(f"Error: {data['error']}")
        text.body = str(data.get("body", ""))
        return EMAIL_FIELDS

    return summary


def _assignment(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("owner_id") is not None:
        text.label = f"Assigned to {names.value('owner_id', data['owner_id'])}"
    elif data.get("team"):
        text.label = f"Queued for {data['team']}"
    if data.get("rule"):
        text.details.append(f"Rule: {data['rule']}")
    if data.get("reason"):
        text.details.append(str(data["reason"]))
    return ASSIGNMENT_FIELDS


def _overdue(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("owner_id") is not None:
        text.label = f"First touch overdue: {names.value('owner_id', data['owner_id'])} reminded"
    else:
        text.label = "First touch overdue: the team reminded"
    return FIRST_TOUCH_FIELDS


def _escalated(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    if data.get("action") == "reassign" and data.get("owner_id") is not None:
        text.label = (
            f"First touch still missing: given to {names.value('owner_id', data['owner_id'])}"
        )
    else:
        text.label = "First touch still missing: the team's leads were told"
    return FIRST_TOUCH_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=CONTACT_ASSIGNED,
            label="Assigned",
            payload_fields=ASSIGNMENT_FIELDS,
            summary=_assignment,
        ),
        ActivityKindDefinition(
            key=CONTACT_QUEUED,
            label="Left in a team's queue",
            payload_fields=ASSIGNMENT_FIELDS,
            summary=_assignment,
        ),
        ActivityKindDefinition(
            key=FIRST_TOUCH_OVERDUE,
            label="First touch overdue",
            payload_fields=FIRST_TOUCH_FIELDS,
            summary=_overdue,
        ),
        ActivityKindDefinition(
            key=FIRST_TOUCH_ESCALATED,
            label="First touch escalated",
            payload_fields=FIRST_TOUCH_FIELDS,
            summary=_escalated,
        ),
        ActivityKindDefinition(
            key=EMAIL_QUEUED,
            label="Email queued",
            payload_fields=EMAIL_FIELDS,
            summary=_email("queued"),
        ),
        ActivityKindDefinition(
            key=EMAIL_SENT, label="Email sent", payload_fields=EMAIL_FIELDS, summary=_email("sent")
        ),
        ActivityKindDefinition(
            key=EMAIL_FAILED,
            label="Email failed",
            payload_fields=EMAIL_FIELDS,
            summary=_email("failed"),
        ),
    )
