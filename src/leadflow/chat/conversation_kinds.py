"""The activity kinds a chat conversation writes on a contact's timeline, registered in
``ChatConfig.ready`` (docs/chat/flows.md).

- ``chat.started``: a conversation with a flow began (written when the visitor is known:
  at the start for a recognised visitor, else with the answer that identified them, dated
  when the conversation began);
- ``chat.answered``: the arrival activity of the lead-arrival service for a chat: the
  answer just given (``step``, ``question``, ``answer``, ``field``) and every answer so far
  (``values``, by question);
- ``chat.scored``: a score step gave (or took) ``points``;
- ``chat.handover_requested``: the bot handed the conversation to a person (``reason``:
  the flow's hand-over step, or a question the knowledge base could not answer);
- ``chat.left``: the visitor went quiet mid-flow (``step``: where), written once by the
  idle pass;
- ``chat.ended``: the flow reached an end step;
- ``chat.routed``: the hand-over routed the chat (``outcome``: assigned, waiting or
  offline; ``assignee_id``; ``reason``: why that person or the queue);
- ``chat.replied``: a person answered in the chat (by the member: a touch that stops the
  lead's first-touch clock, ``sales.models.TOUCH_KINDS``);
- ``chat.closed``: a person closed the chat (``transcript``: the link to the transcript);
- ``chat.rated``: the visitor rated the closed chat (``rating`` 1-5, ``comment``).

All carry ``conversation_id``, ``flow_id`` and ``flow``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

CHAT_STARTED = "chat.started"
CHAT_ANSWERED = "chat.answered"
CHAT_SCORED = "chat.scored"
CHAT_HANDOVER_REQUESTED = "chat.handover_requested"
CHAT_LEFT = "chat.left"
CHAT_ENDED = "chat.ended"
CHAT_ROUTED = "chat.routed"
CHAT_REPLIED = "chat.replied"
CHAT_CLOSED = "chat.closed"
CHAT_RATED = "chat.rated"

BASE_FIELDS = ("conversation_id", "flow_id", "flow")
ANSWERED_FIELDS = (*BASE_FIELDS, "step", "question", "answer", "field", "values")
SCORED_FIELDS = (*BASE_FIELDS, "step", "points")
HANDOVER_FIELDS = (*BASE_FIELDS, "step", "reason")
LEFT_FIELDS = (*BASE_FIELDS, "step", "question")
ENDED_FIELDS = (*BASE_FIELDS, "step")
ROUTED_FIELDS = (*BASE_FIELDS, "outcome", "assignee_id", "reason")
REPLIED_FIELDS = (*BASE_FIELDS, "seq")
CLOSED_FIELDS = (*BASE_FIELDS, "transcript")
RATED_FIELDS = (*BASE_FIELDS, "rating", "comment")


def chat_data(*, conversation_id: int, flow_id: int, flow: str, **extra: Any) -> dict[str, Any]:
    """The payload of a chat kind: the conversation and its flow, then the kind's own keys
    (``extra``, in the order the kind lists them)."""
    return {"conversation_id": conversation_id, "flow_id": flow_id, "flow": flow[:200], **extra}


def _flow_line(text: TimelineText, data: Mapping[str, Any]) -> None:
    if data.get("flow"):
        text.details.append(f"Flow: {data['flow']}")


def _started(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Started a chat"
    _flow_line(text, data)
    return BASE_FIELDS


def _answered(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Answered in a chat"
    if data.get("question"):
        text.body = f"{data['question']} — {data.get('answer', '')}"
    _flow_line(text, data)
    return ANSWERED_FIELDS


def _scored(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Chat score {data.get('points', 0):+}"
    _flow_line(text, data)
    return SCORED_FIELDS


def _handover(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Asked for a person in a chat"
    if data.get("reason") == "knowledge":
        text.details.append("The knowledge base had no answer")
    _flow_line(text, data)
    return HANDOVER_FIELDS


def _left(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Left the chat at step {data.get('step', '')}"
    if data.get("question"):
        text.body = str(data["question"])
    _flow_line(text, data)
    return LEFT_FIELDS


def _ended(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Finished a chat"
    _flow_line(text, data)
    return ENDED_FIELDS


def _routed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    outcome = data.get("outcome")
    text.label = {
        "assigned": "Chat handed to a person",
        "offline": "Chat handed over outside working hours",
    }.get(str(outcome), "Chat waiting for a person")
    if data.get("reason"):
        text.details.append(str(data["reason"]))
    _flow_line(text, data)
    return ROUTED_FIELDS


def _replied(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Answered in a chat by a person"
    _flow_line(text, data)
    return REPLIED_FIELDS


def _closed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = "Chat closed"
    if data.get("transcript"):
        text.details.append(f"Transcript: {data['transcript']}")
    _flow_line(text, data)
    return CLOSED_FIELDS


def _rated(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Rated the chat {data.get('rating', '')}/5"
    if data.get("comment"):
        text.body = str(data["comment"])
    _flow_line(text, data)
    return RATED_FIELDS


KINDS = (
    (CHAT_STARTED, "Started a chat", BASE_FIELDS, _started),
    (CHAT_ANSWERED, "Answered in a chat", ANSWERED_FIELDS, _answered),
    (CHAT_SCORED, "Chat score", SCORED_FIELDS, _scored),
    (CHAT_HANDOVER_REQUESTED, "Asked for a person in a chat", HANDOVER_FIELDS, _handover),
    (CHAT_LEFT, "Left a chat", LEFT_FIELDS, _left),
    (CHAT_ENDED, "Finished a chat", ENDED_FIELDS, _ended),
    (CHAT_ROUTED, "Chat handed over", ROUTED_FIELDS, _routed),
    (CHAT_REPLIED, "Answered in a chat by a person", REPLIED_FIELDS, _replied),
    (CHAT_CLOSED, "Chat closed", CLOSED_FIELDS, _closed),
    (CHAT_RATED, "Rated a chat", RATED_FIELDS, _rated),
)


def register() -> None:
    activity_kind_register(
        *(
            ActivityKindDefinition(key=key, label=label, payload_fields=fields, summary=summary)
            for key, label, fields, summary in KINDS
        )
    )
