"""The bot engine: a pure interpreter of one flow version.

``engine_start(graph)`` and ``engine_advance(graph, state, event)`` return an ``Outcome``:
the bot's messages to send, the new state, and the effects for the service to apply (an
answer to store and put on the contact, a field, a tag, points, a knowledge-base question,
a hand-over, the end). No database, no clock, no randomness: the same input gives the same
outcome, which is what the property tests run over random flows.

The engine stops at a step that waits: a question (for the visitor's answer; a bad answer is
asked again), a knowledge step (for a question, then for the knowledge base's result), a
condition that tests the contact (for the facts the service looks up: ``Outcome.needs``
lists the leaves, answered with ``Facts``), a product or meeting step (docs/chat/flows.md:
the service shows the product or the free times and answers ``Offer`` with the choices it
offered; the visitor picks one; a Buy asks the service for the order (``OrderResult``),
then the flow waits for the payment (``Paid``); a time asks for the booking (``Booked``;
a time taken meanwhile is offered again)), or a final step. Between two stops it runs at
most as many steps as the graph has; a graph that passed ``graph_clean`` never needs more
(no cycle without a waiting step), and any other graph ends rather than loops.
"""

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from leadflow.chat.graph import (
    ANSWER_PREFIX,
    OFFER_KINDS,
    condition_leaves,
    contact_leaves,
    steps_by_id,
)
from leadflow.contacts.conditions import Condition, Group, Node, tree_from_json
from leadflow.core.errors import ValidationFailed
from leadflow.core.validation import email_normalise, phone_normalise

MAX_ANSWER = 1000
DEFAULT_RETRY = {
    "text": "Please type an answer.",
    "email": "That does not look like an email address. Please try again.",
    "phone": "That does not look like a phone number. Please try again.",
    "number": "Please answer with a number.",
    "choice": "Please pick one of the options.",
    "date": "Please give a date like 2026-03-31.",
}

# What the state waits for.
WAIT_INPUT = "input"
WAIT_FACTS = "facts"
WAIT_KNOWLEDGE = "knowledge"
WAIT_OFFER = "offer"  # the service shows a product or free times (``Offer``)
WAIT_ORDER = "order"  # the service places the order and opens its checkout (``OrderResult``)
WAIT_PAYMENT = "payment"  # the signed payment webhook (``Paid``)
WAIT_BOOKING = "booking"  # the service books the chosen time (``Booked``)
DONE = "done"
BUY, DECLINE = "buy", "no"
DEFAULT_PAID_TEXT = "Payment received"


@dataclass
class State:
    """Where a conversation is: the step, what it waits for, the answers given (by question
    id, as stored), bad answers in a row at the current question, how it ended ("",
    "end", "handover"), and the choices the service offered at a product or meeting step."""

    step: str = ""
    waiting: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    outcome: str = ""
    offer: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "State":
        return cls(
            step=data.get("step", ""),
            waiting=data.get("waiting", ""),
            answers=dict(data.get("answers") or {}),
            attempts=int(data.get("attempts") or 0),
            outcome=data.get("outcome", ""),
            offer=[dict(choice) for choice in data.get("offer") or []],
        )


@dataclass(frozen=True)
class BotMessage:
    step: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    """Something the service does: ``kind`` is answer, set_field, tag, score, knowledge,
    handover, end, product, meeting (show the product or free times: the step's keys, and
    ``again`` when a chosen time was taken), order (``product``) or book (``slot``, the
    chosen value, and ``label``); ``step`` the step that asked for it; ``data`` its values
    (an answer: field, value, input, question; a knowledge question: question)."""

    kind: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


# Events the engine takes.
@dataclass(frozen=True)
class Input:
    text: str


@dataclass(frozen=True)
class Facts:
    """The truth of the contact leaves ``Outcome.needs`` listed (a missing key is false)."""

    values: dict[str, bool]


@dataclass(frozen=True)
class KnowledgeResult:
    """Whether the knowledge base answered the question (the service sent the answer)."""

    answered: bool


@dataclass(frozen=True)
class Offer:
    """The choices the service showed at a product or meeting step (``value``, ``label``);
    none: the product cannot be sold or no time is free, and the flow goes on at ``next``."""

    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OrderResult:
    """Whether the order was placed and its checkout opened (the service said so)."""

    placed: bool


@dataclass(frozen=True)
class Paid:
    """The order of the product step was paid (the signed webhook)."""


@dataclass(frozen=True)
class Booked:
    """Whether the chosen time was booked (False: somebody took it meanwhile)."""

    booked: bool


Event = Input | Facts | KnowledgeResult | Offer | OrderResult | Paid | Booked


@dataclass
class Outcome:
    messages: list[BotMessage]
    state: State
    effects: list[Effect]
    needs: list[tuple[str, Condition]] = field(default_factory=list)
    accepted: bool = True  # False: the input was not for the bot (it is done) or was refused


def engine_start(graph: dict[str, Any], *, country: str = "US") -> Outcome:
    """The opening of a conversation: run from the start step to the first stop."""
    outcome = Outcome([], State(step=graph.get("start", "")), [])
    _run(graph, outcome, country=country)
    return outcome


def engine_resume_at(
    graph: dict[str, Any], state: State, step: str, *, country: str = "US"
) -> Outcome:
    """Run from ``step`` with the answers given so far (a person returned the conversation
    to the bot there)."""
    resumed = State.from_json(state.as_json())
    resumed.step, resumed.outcome = step, ""
    outcome = Outcome([], resumed, [])
    _run(graph, outcome, country=country)
    return outcome


def engine_advance(
    graph: dict[str, Any], state: State, event: Event, *, country: str = "US"
) -> Outcome:
    """Take one event (see the module docstring) and run to the next stop. An event the
    state does not wait for changes nothing (``accepted`` False)."""
    state = State.from_json(state.as_json())  # never change the caller's
    outcome = Outcome([], state, [])
    step = steps_by_id(graph).get(state.step)
    if step is None:
        state.waiting, state.outcome = DONE, state.outcome or "end"
        outcome.accepted = False
        return outcome
    if isinstance(event, Input) and state.waiting == WAIT_INPUT:
        if step["kind"] == "knowledge":
            question = _clip(event.text)
            if not question:
                outcome.messages.append(BotMessage(step["id"], DEFAULT_RETRY["text"]))
                return outcome
            state.waiting = WAIT_KNOWLEDGE
            outcome.effects.append(Effect("knowledge", step["id"], {"question": question}))
            return outcome
        if step["kind"] in OFFER_KINDS:
            _pick(step, state, event.text, outcome)
            if state.waiting:  # asked again, or waits for the order or the booking
                return outcome
        else:
            _answer(step, state, event.text, outcome, country)
            if state.waiting == WAIT_INPUT:  # asked again
                return outcome
    elif isinstance(event, Offer) and state.waiting == WAIT_OFFER:
        if event.choices:
            state.offer = [{"value": value, "label": label} for value, label in event.choices]
            state.waiting = WAIT_INPUT
            return outcome
        state.offer = []
        state.step = step["next"]
    elif isinstance(event, OrderResult) and state.waiting == WAIT_ORDER:
        if event.placed:
            state.waiting = WAIT_PAYMENT
            return outcome
        state.step = step["next"]
    elif isinstance(event, Paid) and state.waiting == WAIT_PAYMENT:
        outcome.messages.append(BotMessage(step["id"], step.get("paid_text") or DEFAULT_PAID_TEXT))
        if not step.get("paid"):
            state.waiting, state.outcome = DONE, "end"
            outcome.effects.append(Effect("end", step["id"], {"reason": "paid"}))
            return outcome
        state.step = step["paid"]
    elif isinstance(event, Booked) and state.waiting == WAIT_BOOKING:
        if not event.booked:  # taken meanwhile: offer the times still free
            state.waiting, state.offer = WAIT_OFFER, []
            outcome.effects.append(
                Effect("meeting", step["id"], {**_offer_data(step), "again": True})
            )
            return outcome
        state.step = step["next"]
    elif isinstance(event, Facts) and state.waiting == WAIT_FACTS:
        state.step = _branch_target(step, state, event.values)
    elif isinstance(event, KnowledgeResult) and state.waiting == WAIT_KNOWLEDGE:
        if not event.answered:
            state.waiting, state.outcome = DONE, "handover"
            outcome.effects.append(Effect("handover", step["id"], {"reason": "knowledge"}))
            return outcome
        state.step = step["next"]
    else:
        outcome.accepted = False
        return outcome
    _run(graph, outcome, country=country)
    return outcome


def _run(graph: dict[str, Any], outcome: Outcome, *, country: str) -> None:
    """Run steps from ``state.step`` until one waits or the flow ends."""
    by_id = steps_by_id(graph)
    state = outcome.state
    state.waiting, state.attempts, state.offer = "", 0, []
    for _ in range(len(by_id) + 1):
        step = by_id.get(state.step)
        if step is None:  # only a graph that never passed graph_clean gets here
            state.waiting, state.outcome = DONE, "end"
            outcome.effects.append(Effect("end", state.step, {"reason": "unknown step"}))
            return
        kind, step_id = step["kind"], step["id"]
        if kind == "message":
            outcome.messages.append(BotMessage(step_id, step["text"]))
        elif kind == "question":
            outcome.messages.append(BotMessage(step_id, step["text"], _question_payload(step)))
            state.waiting = WAIT_INPUT
            return
        elif kind == "knowledge":
            if step.get("text"):
                outcome.messages.append(BotMessage(step_id, step["text"], {"input": "text"}))
            state.waiting = WAIT_INPUT
            return
        elif kind == "condition":
            needs = contact_leaves(step)
            if needs:
                state.waiting = WAIT_FACTS
                outcome.needs = needs
                return
            state.step = _branch_target(step, state, {})
            continue
        elif kind in OFFER_KINDS:
            state.waiting, state.offer = WAIT_OFFER, []
            outcome.effects.append(Effect(kind, step_id, _offer_data(step)))
            return
        elif kind in ("set_field", "tag", "score"):
            data = {key: step[key] for key in ("field", "value", "tag", "points") if key in step}
            outcome.effects.append(Effect(kind, step_id, data))
        else:  # handover, end
            if step.get("text"):
                outcome.messages.append(BotMessage(step_id, step["text"]))
            state.waiting, state.outcome = DONE, kind
            outcome.effects.append(Effect(kind, step_id))
            return
        state.step = step["next"]
    state.waiting, state.outcome = DONE, "end"  # a cycle without input: end, never loop
    outcome.effects.append(Effect("end", state.step, {"reason": "cycle"}))


def _offer_data(step: dict[str, Any]) -> dict[str, Any]:
    """What the service needs to show a product or free times."""
    if step["kind"] == "product":
        return {
            "text": step.get("text", ""),
            "product": step["product"],
            "choices": [
                {"value": BUY, "label": step.get("buy_label") or "Buy"},
                {"value": DECLINE, "label": step.get("decline_label") or "No thanks"},
            ],
        }
    return {
        "text": step.get("text", ""),
        "member": step.get("member") or None,
        "duration": step["duration"],
        "days": step["days"],
    }


def _pick(step: dict[str, Any], state: State, text: str, outcome: Outcome) -> None:
    """The visitor's pick among the offered choices (value, label or number), or ask
    again. A Buy waits for the order, a time for the booking, "No thanks" moves on."""
    raw = _clip(text).lower()
    picked = None
    for index, choice in enumerate(state.offer, start=1):
        if raw and raw in (choice["value"].lower(), choice["label"].lower(), str(index)):
            picked = choice
            break
    if picked is None:
        state.attempts += 1
        payload: dict[str, Any] = {"input": "choice", "choices": list(state.offer)}
        if step["kind"] == "meeting":
            payload["slots"] = list(state.offer)
        outcome.messages.append(BotMessage(step["id"], DEFAULT_RETRY["choice"], payload))
        outcome.accepted = False
        state.waiting = WAIT_INPUT
        return
    state.answers[step["id"]] = picked["value"]
    state.attempts = 0
    if step["kind"] == "product":
        if picked["value"] != BUY:
            state.waiting, state.step = "", step["next"]
            return
        state.waiting = WAIT_ORDER
        outcome.effects.append(Effect("order", step["id"], {"product": step["product"]}))
        return
    state.waiting = WAIT_BOOKING
    outcome.effects.append(
        Effect(
            "book",
            step["id"],
            {**_offer_data(step), "slot": picked["value"], "label": picked["label"]},
        )
    )


def _question_payload(step: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"input": step["input"]}
    if step["input"] == "choice":
        payload["choices"] = [
            {"value": c["value"], "label": c.get("label") or c["value"]} for c in step["choices"]
        ]
    return payload


def _answer(step: dict[str, Any], state: State, text: str, outcome: Outcome, country: str) -> None:
    """Store a good answer and move on, or ask again."""
    value, choice_next = answer_parse(step, text, country=country)
    if value is None:
        state.attempts += 1
        retry = step.get("retry_text") or DEFAULT_RETRY[step["input"]]
        outcome.messages.append(BotMessage(step["id"], retry, _question_payload(step)))
        outcome.accepted = False
        return
    state.answers[step["id"]] = value
    state.waiting, state.attempts = "", 0
    outcome.effects.append(
        Effect(
            "answer",
            step["id"],
            {
                "field": step.get("field", ""),
                "value": value,
                "input": step["input"],
                "question": step["text"][:200],
            },
        )
    )
    state.step = choice_next or step["next"]


_DATE_DMY = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})")


def answer_parse(step: dict[str, Any], text: str, *, country: str = "US") -> tuple[Any, str]:
    """The answer as stored (None when it does not fit the input) and, for a choice with
    its own next step, that step."""
    raw = _clip(text)
    if not raw:
        return None, ""
    kind = step["input"]
    if kind == "text":
        return raw, ""
    if kind == "email":
        return _normalised(email_normalise, raw), ""
    if kind == "phone":
        return _normalised(lambda v: phone_normalise(v, default_country=country), raw), ""
    if kind == "number":
        try:
            number = float(raw.replace(",", ".") if raw.count(",") == 1 else raw)
        except ValueError:
            return None, ""
        if not math.isfinite(number) or abs(number) > 1e15:
            return None, ""
        return (int(number) if number.is_integer() else number), ""
    if kind == "choice":
        choices = step["choices"]
        for index, choice in enumerate(choices, start=1):
            label = choice.get("label") or choice["value"]
            if raw.lower() in (choice["value"].lower(), label.lower(), str(index)):
                return choice["value"], choice.get("next", "")
        return None, ""
    return _date(raw), ""


def _normalised(normalise, raw: str) -> str | None:
    try:
        return normalise(raw)
    except ValidationFailed:
        return None


def _date(raw: str) -> str | None:
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    match = _DATE_DMY.fullmatch(raw)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return None
    return None


def _clip(text: Any) -> str:
    return text.strip()[:MAX_ANSWER] if isinstance(text, str) else ""


def _branch_target(step: dict[str, Any], state: State, facts: dict[str, bool]) -> str:
    for index, branch in enumerate(step["branches"]):
        tree = tree_from_json(branch["when"])
        if _holds(tree, state.answers, facts, f"{step['id']}/{index}/", ""):
            return branch["next"]
    return step["otherwise"]


def _holds(node: Node, answers: dict, facts: dict[str, bool], prefix: str, path: str) -> bool:
    if isinstance(node, Group):
        results = (
            _holds(child, answers, facts, prefix, f"{path}.{i}" if path else str(i))
            for i, child in enumerate(node.children)
        )
        return all(results) if node.match == "all" else any(results)
    if node.field.startswith(ANSWER_PREFIX):
        return answer_test(answers.get(node.field.removeprefix(ANSWER_PREFIX)), node)
    return bool(facts.get(prefix + path, False))


def answer_test(answer: Any, leaf: Condition) -> bool:
    """One answer leaf: text compares without case, numbers as numbers."""
    operator, value = leaf.operator, leaf.value
    empty = answer is None or answer == ""
    if operator == "is_empty":
        return empty
    if operator == "is_not_empty":
        return not empty
    if empty:
        return operator == "neq"
    if operator in ("gt", "lt"):
        try:
            left, right = float(answer), float(value)
        except (TypeError, ValueError):
            return False
        return left > right if operator == "gt" else left < right
    text = str(answer).lower()
    if operator == "contains":
        return str(value).lower() in text
    if operator == "in":
        return text in {str(item).lower() for item in value or []}
    same = text == str(value).lower()
    return same if operator == "eq" else not same


__all__ = [
    "DONE",
    "WAIT_BOOKING",
    "WAIT_FACTS",
    "WAIT_INPUT",
    "WAIT_KNOWLEDGE",
    "WAIT_OFFER",
    "WAIT_ORDER",
    "WAIT_PAYMENT",
    "Booked",
    "BotMessage",
    "Effect",
    "Facts",
    "Input",
    "KnowledgeResult",
    "Offer",
    "OrderResult",
    "Outcome",
    "Paid",
    "State",
    "condition_leaves",
    "engine_advance",
    "engine_start",
]
