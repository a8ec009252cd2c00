"""Conversations: a visitor starts one, posts messages, leaves; the bot answers.

Guarantees:

- every call is one transaction, under the conversation's row lock, so messages get
  ``seq`` 1, 2, 3... without gaps or repeats whoever posts at the same time;
- a visitor's message is stored with its ``client_id``: a retry (the same id) stores
  nothing and answers the first answer again (``replayed``);
- each answer is stored the moment it is given (the message, and the answers in the
  state), and applied to the contact through the lead-arrival service
  (``contacts.services.lead_receive``, whose arrival activity is ``chat.answered``) as soon
  as an answer identifies the visitor (an email or phone), then with every later answer:
  a visitor who leaves after the email question is a lead with the answers so far;
- the bot engine (``chat.engine``) decides; this module looks up what it asks for (the
  contact leaves of a condition, the knowledge base's answer) and applies its effects;
- the idle pass (``chat.services.idle``) marks conversations idle mid-flow as left;
- the visitor's reads (the resume, a retry's replay, the poll) never include the agents'
  internal notes; hand-over, agents' replies and notes live in ``chat.services.handover``
  and ``chat.services.inbox``, and add their messages through ``_message_add``;
- every new message and status change wakes the conversation's live streams after the
  commit (``chat.live.live_notify``).

Longer than the house's ~600 lines: the call's state (``_Call``) and the helpers every
writer of a conversation shares (``_message_add``, ``_record``, ``_save``) belong together,
with one lock and one transaction rule; the product and meeting steps' effects live in
``commerce`` and ``meetings`` and come in through ``STEP_EFFECTS`` (the seam at the end).
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from leadflow.chat import conversation_kinds as kinds
from leadflow.chat import engine
from leadflow.chat.graph import IDENTITY_FIELDS, steps_by_id
from leadflow.chat.knowledge_seam import knowledge_answer
from leadflow.chat.live import live_notify, visitor_stream_url
from leadflow.chat.models import (
    OPEN_STATUSES,
    Conversation,
    ConversationStatus,
    Flow,
    FlowStatus,
    Message,
    MessageAuthor,
)
from leadflow.chat.services.handover import agent_name, handover_apply
from leadflow.contacts.conditions import ConditionContext, conditions_compile
from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.contacts.services import Arrival, activity_record, lead_receive
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.patterns import glob_match
from leadflow.core.tasks import task_schedule
from leadflow.tracking.models import Visitor
from leadflow.tracking.services import visitor_link_by_key

logger = logging.getLogger(__name__)

TOKEN_SALT = "leadflow.chat.resume"
MAX_TEXT = 2000
MAX_CLIENT_ID = 64
# Rounds of "the engine asks, the service looks up" in one call: a condition and a
# knowledge step each take one; a checked graph needs at most one per step.
MAX_ROUNDS = 250
KNOWLEDGE_TASK = "leadflow.chat.tasks.conversation_knowledge_reply_task"
CHANNEL_DELIVERY_TASK = "leadflow.chat.tasks.channel_deliver_task"


class ConversationClosed(Conflict):
    status = 409
    code = "conversation_closed"
    title = "This conversation is closed."


@dataclass
class ConversationReply:
    """What a public endpoint answers: the conversation, the messages of this call (all of
    them when resumed), its resume token, and whether it replays an earlier answer."""

    conversation: Conversation
    messages: list[Message]
    token: str
    replayed: bool = False
    resumed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation.pk,
            "token": self.token,
            "status": self.conversation.status,
            "waiting_for": _waiting_for(self.conversation),
            "last_seq": self.conversation.last_seq,
            "replayed": self.replayed,
            "resumed": self.resumed,
            "messages": [message_json(m) for m in self.messages if not m.internal],
            "assignee": assignee_json(self.conversation),
            "stream_url": visitor_stream_url(),
        }


def assignee_json(conversation: Conversation) -> dict[str, str] | None:
    """Who holds the chat, as the visitor sees them: ``{"name": "Sam R."}``, or None."""
    if conversation.assignee_id is None:
        return None
    return {"name": agent_name(conversation.assignee)}


def message_json(message: Message) -> dict[str, Any]:
    return {
        "seq": message.seq,
        "author": message.author,
        "text": message.text,
        "payload": message.payload,
        "client_id": message.client_id or None,
        "created_at": message.created_at.isoformat(),
    }


def _waiting_for(conversation: Conversation) -> str:
    if conversation.status != ConversationStatus.BOT:
        return ""
    return "input" if conversation.state.get("engine", {}).get("waiting") == "input" else ""


# --- the resume token ---------------------------------------------------------------------


def conversation_token(conversation: Conversation) -> str:
    """The signed token a widget keeps to resume this conversation (after a reload, on
    another page): it names the conversation and its workspace, nothing else."""
    return signing.dumps(
        {"c": conversation.pk, "w": conversation.workspace_id}, salt=TOKEN_SALT, compress=False
    )


def conversation_by_token(workspace: Workspace, token: Any) -> Conversation:
    """The conversation a token names in ``workspace``; NotFound for anything else (an
    altered token, an old one past the retention, another workspace's)."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise NotFound("No such conversation.", code="unknown_conversation")
    try:
        data = signing.loads(
            token, salt=TOKEN_SALT, max_age=dt.timedelta(days=settings.LEADFLOW_CHAT_TOKEN_DAYS)
        )
    except signing.BadSignature:
        raise NotFound("No such conversation.", code="unknown_conversation") from None
    if not isinstance(data, dict) or data.get("w") != workspace.pk:
        raise NotFound("No such conversation.", code="unknown_conversation")
    conversation = (
        Conversation.objects.select_related("flow", "flow_version", "workspace", "assignee")
        .filter(workspace=workspace, pk=data.get("c"))
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.", code="unknown_conversation")
    return conversation


# --- choosing the flow ----------------------------------------------------------------------


def _page_matches(rules: dict[str, list[str]], page_url: str) -> bool:
    """Include (none: every page) minus exclude, each glob tried on the address and on its
    path (``/pricing*`` and ``*example.com/pricing*`` both work)."""
    try:
        path = urlsplit(page_url).path or "/"
    except ValueError:
        path = ""

    def hit(patterns: list[str]) -> bool:
        return any(glob_match(p, page_url) or glob_match(p, path) for p in patterns)

    include, exclude = rules.get("include") or [], rules.get("exclude") or []
    return (not include or hit(include)) and not hit(exclude)


def flow_for_page(workspace: Workspace, page_url: str, flow_id: int | None = None) -> Flow | None:
    """The active, published flow that runs on ``page_url`` (the highest priority, then the
    oldest), or the one asked for by id when it is active and published."""
    flows = Flow.objects.filter(
        workspace=workspace, status=FlowStatus.ACTIVE, current_version__isnull=False
    ).select_related("current_version")
    if flow_id is not None:
        return flows.filter(pk=flow_id).first()
    for flow in flows.order_by("-priority", "pk"):
        if _page_matches(flow.page_rules or {}, page_url):
            return flow
    return None


# --- start, post ----------------------------------------------------------------------------


@dataclass
class _Call:
    """What one call wrote, gathered while the engine runs."""

    conversation: Conversation
    flow: Flow
    graph: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    answered: list[engine.Effect] = field(default_factory=list)
    values_changed: bool = False
    # The knowledge base answers in the worker (its model loads there, never in a web
    # process): a web call schedules the answer, the worker's call gives it.
    knowledge_now: bool = False
    # The live status event goes out when _save sees the status or the assignee change.
    status_before: tuple[str, int | None] = ("", None)

    def __post_init__(self) -> None:
        self.status_before = (self.conversation.status, self.conversation.assignee_id)


def conversation_start(
    *,
    workspace: Workspace,
    page_url: str = "",
    visitor_id: str = "",
    flow_id: int | None = None,
    token: str = "",
    consent: dict | None = None,
    channel_id: int | None = None,
    external_id: str = "",
    opening: tuple[str, str] | None = None,
) -> ConversationReply:
    """Start a conversation with the flow for this page (or ``flow_id``), or resume one:
    by ``token``, or the visitor's open conversation. A resumed one answers every message
    (``resumed``); a new one keeps ``consent``. NotFound when no flow runs on the page.

    Messengers (``chat.services.channels``) start one on ``channel_id`` for the person
    ``external_id``, with the message that opened it (``opening``: text and client id),
    stored before the bot's greeting and not given to the bot."""
    if token:
        conversation = conversation_by_token(workspace, token)
        messages = list(
            Message.objects.filter(
                conversation=conversation, workspace=workspace, internal=False
            ).order_by("seq")
        )
        return ConversationReply(conversation, messages, token, resumed=True)
    flow = flow_for_page(workspace, page_url, flow_id)
    if flow is None:
        raise NotFound("No chat flow runs on this page.", code="no_flow")
    if visitor_id:
        open_one = (
            Conversation.objects.filter(
                workspace=workspace, visitor_id=visitor_id, flow=flow, status__in=OPEN_STATUSES
            )
            .order_by("-pk")
            .first()
        )
        if open_one is not None:
            return conversation_start(workspace=workspace, token=conversation_token(open_one))
    version = flow.current_version
    with transaction.atomic():
        now = timezone.now()
        conversation = Conversation.objects.create(
            workspace=workspace,
            flow=flow,
            flow_version=version,
            visitor_id=visitor_id[:100],
            page_url=page_url[:2000],
            channel_id=channel_id,
            external_id=external_id[:100],
            started_at=now,
            last_activity_at=now,
            state={"engine": {}, "values": {}, "tags": [], "points": 0, "consent": consent},
        )
        known = _visitor_contact(workspace, visitor_id)
        call = _Call(conversation, flow, version.graph)
        if opening is not None:
            _message_add(call, MessageAuthor.VISITOR, opening[0], client_id=opening[1])
        if known is not None:
            conversation.contact = known
            _record(call, kinds.CHAT_STARTED, {}, when=now)
        outcome = engine.engine_start(version.graph, country=workspace.default_country)
        _run(call, outcome)
        _save(call)
    return ConversationReply(conversation, call.messages, conversation_token(conversation))


def _visitor_contact(workspace: Workspace, visitor_id: str) -> Contact | None:
    """The contact a known visitor already is (the tracker linked them), or None."""
    if not visitor_id:
        return None
    visitor = (
        Visitor.objects.filter(workspace=workspace, visitor_key=visitor_id, contact__isnull=False)
        .select_related("contact")
        .first()
    )
    return visitor.contact if visitor else None


def message_input_clean(text: Any, client_id: Any) -> tuple[str, str]:
    """The text and client id of a visitor's message, or ValidationFailed naming each."""
    errors = []
    if not isinstance(text, str) or not text.strip():
        errors.append(FieldError("text", "Type a message."))
    elif len(text) > MAX_TEXT:
        errors.append(FieldError("text", f"At most {MAX_TEXT} characters."))
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= MAX_CLIENT_ID:
        errors.append(FieldError("client_id", "An id of 8 to 64 characters made by the client."))
    if errors:
        raise ValidationFailed(errors)
    return text.strip(), client_id


def conversation_message_post(
    *, workspace: Workspace, token: str, text: Any, client_id: Any
) -> ConversationReply:
    """The visitor says something: stored once per ``client_id``, given to the bot while it
    runs the conversation (to the person once handed over). Answers the visitor's message
    and the bot's replies (a retry: the same, ``replayed``); ConversationClosed (409) for a
    closed conversation."""
    text, client_id = message_input_clean(text, client_id)
    found = conversation_by_token(workspace, token)
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().select_related("flow", "flow_version")
        conversation = locked.filter(pk=found.pk).first()
        if conversation is None:  # deleted meanwhile by the retention pass
            raise NotFound("No such conversation.", code="unknown_conversation")
        stored = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if stored is not None:
            return ConversationReply(
                conversation, _reply_of(conversation, stored), token, replayed=True
            )
        if conversation.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        call = _Call(conversation, conversation.flow, conversation.flow_version.graph)
        _message_add(call, MessageAuthor.VISITOR, text, client_id=client_id)
        if conversation.status == ConversationStatus.BOT:
            state = engine.State.from_json(conversation.state.get("engine") or {})
            outcome = engine.engine_advance(
                call.graph, state, engine.Input(text), country=workspace.default_country
            )
            _run(call, outcome)
        _save(call)
    return ConversationReply(conversation, call.messages, token)


def _reply_of(conversation: Conversation, visitor_message: Message) -> list[Message]:
    """A visitor's message and what followed it up to the visitor's next message."""
    after = Message.objects.filter(
        conversation=conversation, seq__gt=visitor_message.seq, internal=False
    ).order_by("seq")
    replies = [visitor_message]
    for message in after:
        if message.author == MessageAuthor.VISITOR:
            break
        replies.append(message)
    return replies


def conversation_messages(
    *, workspace: Workspace, token: str, after: int = 0, limit: int = 200
) -> tuple[Conversation, list[Message]]:
    """The messages after seq ``after`` (the poll, and the replay after any reconnect),
    read from the database."""
    conversation = conversation_by_token(workspace, token)
    messages = list(
        Message.objects.filter(
            workspace=workspace, conversation=conversation, seq__gt=after, internal=False
        ).order_by("seq")[:limit]
    )
    return conversation, messages


# --- running the engine's outcome -------------------------------------------------------------


def _message_add(
    call: _Call, author: str, text: str, *, step: str = "", payload: dict | None = None,
    client_id: str = "", author_user=None, internal: bool = False,
) -> Message:  # fmt: skip
    """The next message of the conversation (its row is locked or new: seq cannot race);
    an agent's names its ``author_user``, a note is ``internal``."""
    conversation = call.conversation
    conversation.last_seq += 1
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        seq=conversation.last_seq,
        author=author,
        text=text,
        payload=payload or {},
        step=step,
        client_id=client_id,
        author_user=author_user,
        internal=internal,
    )
    call.messages.append(message)
    # Messengers: what a channel conversation's bot and people say is sent by a task after
    # the commit (chat.services.channel_delivery; safe to run twice, in seq order).
    if conversation.channel_id is not None and author != MessageAuthor.VISITOR and not internal:
        task_schedule(CHANNEL_DELIVERY_TASK, conversation.pk)
    live_notify(conversation.pk, "message")  # wakes the streams after the commit
    return message


def _run(call: _Call, outcome: engine.Outcome) -> None:
    """Write the bot's messages, apply the effects, answer what the engine asks, until it
    waits for the visitor or stops."""
    conversation = call.conversation
    workspace = conversation.workspace
    for _ in range(MAX_ROUNDS):
        for message in outcome.messages:
            _message_add(
                call, MessageAuthor.BOT, message.text, step=message.step, payload=message.payload
            )
        conversation.state["engine"] = outcome.state.as_json()
        conversation.current_step = outcome.state.step
        follow: engine.Event | None = None
        for effect in outcome.effects:
            follow = _effect_apply(call, effect) or follow
        if outcome.needs:
            _contact_apply(call)  # conditions see the answers given so far
            follow = engine.Facts(_facts(call, outcome.needs))
        if follow is None:
            break
        outcome = engine.engine_advance(
            call.graph, outcome.state, follow, country=workspace.default_country
        )
    _contact_apply(call)


def _effect_apply(call: _Call, effect: engine.Effect) -> engine.Event | None:
    state = call.conversation.state
    if effect.kind in STEP_EFFECTS:
        return STEP_EFFECTS[effect.kind](call, effect)
    if effect.kind == "answer":
        call.answered.append(effect)
        call.values_changed = True
    elif effect.kind == "set_field":
        state.setdefault("values", {})[effect.data["field"]] = effect.data["value"]
        call.values_changed = True
    elif effect.kind == "tag":
        tags = state.setdefault("tags", [])
        if effect.data["tag"] not in tags:
            tags.append(effect.data["tag"])
            call.values_changed = True
    elif effect.kind == "score":
        state["points"] = int(state.get("points") or 0) + effect.data["points"]
        _record(call, kinds.CHAT_SCORED, {"step": effect.step, "points": effect.data["points"]})
    elif effect.kind == "knowledge":
        return _knowledge(call, effect)
    elif effect.kind == "handover":
        _contact_apply(call)  # routing sees the owner of a visitor the answers identified
        handover_apply(call, step=effect.step, reason=effect.data.get("reason") or "flow")
    elif effect.kind == "end":
        call.conversation.status = ConversationStatus.CLOSED
        _record(call, kinds.CHAT_ENDED, {"step": effect.step})
    return None


def _knowledge(call: _Call, effect: engine.Effect) -> engine.Event | None:
    """Ask the knowledge base (through its seam); say its answer with the citation. In a
    web request the question goes to the worker (``conversation_knowledge_reply``, after
    the commit) and the bot waits; the visitor's poll brings the answer."""
    if not call.knowledge_now:
        task_schedule(KNOWLEDGE_TASK, call.conversation.pk, effect.step, effect.data["question"])
        return None
    found = knowledge_answer(
        workspace=call.conversation.workspace, question=effect.data["question"]
    )
    if found is None:
        return engine.KnowledgeResult(answered=False)
    payload: dict[str, Any] = {"citation": found.citation}
    if found.suggestions:
        payload["suggestions"] = found.suggestions
    _message_add(call, MessageAuthor.BOT, found.text, step=effect.step, payload=payload)
    return engine.KnowledgeResult(answered=True)


def conversation_knowledge_reply(*, conversation_id: int, step: str, question: str) -> bool:
    """The worker's half of a knowledge step: answer ``question`` (or hand over) and run the
    bot on, if the conversation still waits for the knowledge base at ``step`` (a retried
    or late task changes nothing). True when it answered."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("workspace", "flow", "flow_version")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or conversation.status != ConversationStatus.BOT:
            return False
        state = engine.State.from_json(conversation.state.get("engine") or {})
        if state.waiting != engine.WAIT_KNOWLEDGE or state.step != step:
            return False
        call = _Call(
            conversation, conversation.flow, conversation.flow_version.graph, knowledge_now=True
        )
        event = _knowledge(call, engine.Effect("knowledge", step, {"question": question}))
        outcome = engine.engine_advance(
            call.graph, state, event, country=conversation.workspace.default_country
        )
        _run(call, outcome)
        _save(call)
    return True


def _facts(call: _Call, needs: list) -> dict[str, bool]:
    """The truth of each contact leaf for this conversation's contact (all false while the
    visitor is anonymous): one query per leaf, a handful per condition step."""
    contact_id = call.conversation.contact_id
    if contact_id is None:
        return {}
    workspace = call.conversation.workspace
    context = ConditionContext(workspace=workspace)
    scoped = Contact.objects.filter(workspace=workspace, pk=contact_id)
    return {key: scoped.filter(conditions_compile(leaf, context)).exists() for key, leaf in needs}


def _answers_contact_data(call: _Call) -> dict[str, Any]:
    """The contact values the answers so far and the set-field and tag steps give."""
    state = call.conversation.state
    by_id = steps_by_id(call.graph)
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    answers = (state.get("engine") or {}).get("answers") or {}
    values = [
        (by_id.get(step_id, {}).get("field", ""), value) for step_id, value in answers.items()
    ]
    values += list((state.get("values") or {}).items())
    for target, value in values:
        if not target or value in (None, ""):
            continue
        if target.startswith("custom_fields."):
            custom[target.removeprefix("custom_fields.")] = value
        else:
            data[target] = value
    if custom:
        data["custom_fields"] = custom
    if state.get("tags"):
        data["tags"] = list(state["tags"])
    return data


def _contact_apply(call: _Call) -> None:
    """Put what changed on the contact through the lead-arrival service, once the visitor
    is identified (an email or phone answer, or a contact already known). A value the
    contact refuses (a required custom field still missing, say) leaves the answer in the
    transcript and the lead as it was: the next answer tries again."""
    if not call.values_changed:
        return
    conversation = call.conversation
    data = _answers_contact_data(call)
    if not any(data.get(key) for key in IDENTITY_FIELDS):
        if conversation.contact_id is None:
            return
        known = conversation.contact
        data.update({key: getattr(known, key) for key in IDENTITY_FIELDS if getattr(known, key)})
    flow = call.flow
    last = call.answered[-1] if call.answered else None
    answers = (conversation.state.get("engine") or {}).get("answers") or {}
    arrival = Arrival(
        actor=Actor.system(f"chat: {flow.name}"[:200]),
        submitted=kinds.chat_data(
            conversation_id=conversation.pk,
            flow_id=flow.pk,
            flow=flow.name,
            step=last.step if last else conversation.current_step,
            question=last.data["question"] if last else "",
            answer=last.data["value"] if last else "",
            field=last.data["field"] if last else "",
            values=dict(answers),
        ),
        stage=LifecycleStage.LEAD,
        stage_reason=f"chat {flow.name}"[:200],
        kind=kinds.CHAT_ANSWERED,
    )
    data.setdefault("source", "chat")
    data.setdefault("medium", "chat")
    try:
        with transaction.atomic():
            received = lead_receive(workspace=conversation.workspace, contact=data, arrival=arrival)
    except ValidationFailed as failure:
        conversation.state["not_applied"] = [error.as_dict() for error in failure.errors][:10]
        logger.info("chat %s: answers not applied: %s", conversation.pk, failure.detail)
        return
    conversation.state.pop("not_applied", None)
    call.values_changed = False
    call.answered.clear()
    if conversation.contact_id != received.contact_id:
        first = conversation.contact_id is None
        conversation.contact = received.contact
        if first:
            _identified(call)


def _identified(call: _Call) -> None:
    """The visitor became a known contact mid-conversation: the start of the chat and the
    points given so far go on the timeline, the browser joins the contact's history."""
    conversation = call.conversation
    _record(call, kinds.CHAT_STARTED, {}, when=conversation.started_at)
    points = int(conversation.state.get("points") or 0)
    if points:
        _record(call, kinds.CHAT_SCORED, {"step": "", "points": points})
    if conversation.visitor_id:
        visitor_link_by_key(
            workspace=conversation.workspace,
            visitor_key=conversation.visitor_id,
            contact_id=conversation.contact_id,
            reason="chat",
        )


def _record(
    call: _Call, kind: str, extra: dict[str, Any], *, when=None, actor: Actor | None = None
) -> None:
    """An activity of this conversation, when its contact is known (an anonymous
    visitor's start, points and hand-over are written when they become known)."""
    conversation = call.conversation
    if conversation.contact_id is None:
        return
    activity_record(
        workspace=conversation.workspace,
        contact=conversation.contact,
        kind=kind,
        actor=actor or Actor.system(f"chat: {call.flow.name}"[:200]),
        data=kinds.chat_data(
            conversation_id=conversation.pk, flow_id=call.flow.pk, flow=call.flow.name, **extra
        ),
        occurred_at=when,
    )


def _save(call: _Call) -> None:
    conversation = call.conversation
    conversation.last_activity_at = timezone.now()
    conversation.save(
        update_fields=[
            "contact",
            "status",
            "current_step",
            "state",
            "last_seq",
            "last_activity_at",
            "assignee",
            "assigned_at",
            "handover_at",
            "first_agent_reply_at",
            "closed_at",
        ]
    )
    if (conversation.status, conversation.assignee_id) != call.status_before:
        live_notify(conversation.pk, "status")


# --- the seam of the product and meeting steps (chat.services.commerce, .meetings) -----------
# Their effects, by kind (they build on this module, so they register themselves), and the
# parts of a call they use.
STEP_EFFECTS: dict[str, Callable[[_Call, engine.Effect], engine.Event | None]] = {}
StepCall = _Call
step_message_add = _message_add
step_contact_apply = _contact_apply
step_record = _record
step_run = _run
step_save = _save


# --- shared with the other writers of a conversation ----------------------------------------
# The hand-over (chat.services.handover) and the inbox (chat.services.inbox) write the same
# locked conversation as the bot does: they use these names (the functions above, not copies).
ConversationCall = _Call
message_add = _message_add
activity_add = _record
engine_outcome_apply = _run
contact_apply = _contact_apply
conversation_save = _save
