"""The live inbox's writes: what agents do with a chat, and what the visitor asks of a person
(docs/chat/inbox.md).

Guarantees:

- every action is one transaction under the conversation's row lock
  (``select_for_update``), and sees only what the actor may see (another member's chat,
  for a salesperson, or another workspace's id: NotFound);
- claiming a waiting chat is race-safe: of two agents at once, one takes it and the other
  gets ``ConversationTaken`` (409) naming who has it;
- an agent's reply goes through ``conversations.message_add`` (author ``agent``, payload
  ``{"agent": first name}``), is stored once per ``client_id``, claims a waiting chat, and
  the chat's first one sets ``first_agent_reply_at`` and writes ``chat.replied`` by the
  member: the touch that stops the lead's first-touch clock;
- a note is ``internal``: the inbox shows it, the visitor never receives it;
- the visitor's "Talk to a person" (``conversation_handover_request``) is idempotent by
  its ``client_id``, and a chat already with a person answers its hand-over again;
- closing asks the visitor's rating (``conversation_rate``: once closed, a new rating
  replaces the last) and puts ``chat.closed`` with the transcript's link on the timeline.
"""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from leadflow.chat import conversation_kinds as kinds
from leadflow.chat import engine, selectors
from leadflow.chat.graph import steps_by_id
from leadflow.chat.models import (
    AgentPresence,
    CannedReply,
    Conversation,
    ConversationStatus,
    Message,
    MessageAuthor,
)
from leadflow.chat.services.conversations import (
    ConversationCall,
    ConversationClosed,
    ConversationReply,
    activity_add,
    contact_apply,
    conversation_by_token,
    conversation_save,
    engine_outcome_apply,
    message_add,
    message_input_clean,
)
from leadflow.chat.services.handover import agent_first_name, handover_apply
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.notifications import email_send
from leadflow.core.tasks import task_schedule
from leadflow.core.validation import email_normalise

TRANSCRIPT_TASK = "leadflow.chat.tasks.conversation_transcript_email_task"
MAX_COMMENT = 1000


class ConversationTaken(Conflict):
    status = 409
    code = "conversation_taken"
    title = "Another person has this chat."


class ConversationNotClosed(Conflict):
    status = 409
    code = "conversation_open"
    title = "The chat is not closed yet."


def _locked(workspace: Workspace, conversation_id: int, actor: Actor | None) -> ConversationCall:
    """The conversation the actor may see, its row locked (NotFound otherwise)."""
    selectors.conversation_get(workspace, conversation_id, actor=actor)
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("flow", "flow_version", "workspace", "contact")
        .get(pk=conversation_id, workspace=workspace)
    )
    return ConversationCall(conversation, conversation.flow, conversation.flow_version.graph)


def _taken(conversation: Conversation, actor: Actor) -> None:
    holder = conversation.assignee
    if holder is not None and holder.pk != actor.user_id:
        raise ConversationTaken(f"{holder.display_name} has this chat.")


def _claim(call: ConversationCall, actor: Actor) -> None:
    conversation = call.conversation
    if conversation.status == ConversationStatus.CLOSED:
        raise ConversationClosed()
    _taken(conversation, actor)
    if conversation.assignee_id == actor.user_id:
        return
    conversation.assignee, conversation.assigned_at = actor.user, timezone.now()
    conversation.status = ConversationStatus.ASSIGNED
    conversation.handover_at = conversation.handover_at or conversation.assigned_at
    name = agent_first_name(actor.user)
    message_add(
        call,
        MessageAuthor.SYSTEM,
        f"{name} joined the chat.",
        payload={"handover": "assigned", "assignee": name, "reply_by": None, "ask_email": False},
    )


def conversation_claim(*, workspace: Workspace, conversation_id: int, actor: Actor) -> Conversation:
    """Take a chat (waiting, or still with the bot) for the actor; ConversationTaken (409)
    when another person has it (whoever claimed first under the lock), ConversationClosed
    for a closed one. Taking one's own chat again changes nothing."""
    with transaction.atomic():
        call = _locked(workspace, conversation_id, actor)
        _claim(call, actor)
        conversation_save(call)
    return call.conversation


def agent_reply(
    *, workspace: Workspace, conversation_id: int, actor: Actor, text: Any, client_id: Any,
    internal: bool = False,
) -> Message:  # fmt: skip
    """The agent's reply (``internal``: a note only the inbox shows), stored once per
    ``client_id`` (a retry answers the stored message, marked ``replayed``). A reply
    claims a chat nobody holds; a note may be written on any chat the actor sees."""
    text, client_id = message_input_clean(text, client_id)
    with transaction.atomic():
        call = _locked(workspace, conversation_id, actor)
        conversation = call.conversation
        stored = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if stored is not None:
            stored.replayed = True  # the API answers a retry 200
            return stored
        if internal:
            message = message_add(
                call, MessageAuthor.AGENT, text, client_id=client_id, author_user=actor.user,
                internal=True,
            )  # fmt: skip
            conversation_save(call)
            return message
        _claim(call, actor)
        message = message_add(
            call, MessageAuthor.AGENT, text, client_id=client_id, author_user=actor.user,
            payload={"agent": agent_first_name(actor.user)},
        )  # fmt: skip
        if conversation.first_agent_reply_at is None:
            conversation.first_agent_reply_at = message.created_at
            activity_add(call, kinds.CHAT_REPLIED, {"seq": message.seq}, actor=actor)
        conversation_save(call)
    return message


def conversation_return_to_bot(
    *, workspace: Workspace, conversation_id: int, actor: Actor, step: str = ""
) -> Conversation:
    """Give the chat back to the bot at ``step`` of its flow version (with the answers
    given so far); no step: the bot ends the conversation."""
    with transaction.atomic():
        call = _locked(workspace, conversation_id, actor)
        conversation = call.conversation
        if conversation.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        _taken(conversation, actor)
        if step and step not in steps_by_id(call.graph):
            raise ValidationFailed([FieldError("step", "Not a step of this conversation's flow.")])
        conversation.assignee, conversation.assigned_at = None, None
        conversation.status = ConversationStatus.BOT
        if not step:
            message_add(call, MessageAuthor.SYSTEM, "", payload={"bot": "end"})
            conversation.status, conversation.closed_at = ConversationStatus.CLOSED, timezone.now()
            activity_add(call, kinds.CHAT_ENDED, {"step": conversation.current_step})
        else:
            message_add(call, MessageAuthor.SYSTEM, "", payload={"bot": "resumed"})
            state = engine.State.from_json(conversation.state.get("engine") or {})
            outcome = engine.engine_resume_at(
                call.graph, state, step, country=workspace.default_country
            )
            engine_outcome_apply(call, outcome)
        conversation_save(call)
    return conversation


def conversation_close(*, workspace: Workspace, conversation_id: int, actor: Actor) -> Conversation:
    """Close the chat: the visitor is asked for a rating, the contact's timeline gets
    ``chat.closed`` with the transcript's link. Closing a closed chat changes nothing."""
    with transaction.atomic():
        call = _locked(workspace, conversation_id, actor)
        conversation = call.conversation
        if conversation.status == ConversationStatus.CLOSED:
            return conversation
        _taken(conversation, actor)
        conversation.status, conversation.closed_at = ConversationStatus.CLOSED, timezone.now()
        message_add(
            call,
            MessageAuthor.SYSTEM,
            "This chat is closed. How did we do?",
            payload={"closed": True, "ask_rating": True},
        )
        link = reverse(
            "chat_inbox_detail",
            kwargs={"workspace_slug": workspace.slug, "conversation_id": conversation.pk},
        )
        activity_add(call, kinds.CHAT_CLOSED, {"transcript": link}, actor=actor)
        conversation_save(call)
    return conversation


# --- the visitor's side ---------------------------------------------------------------------------


def conversation_handover_request(
    *, workspace: Workspace, token: str, client_id: Any
) -> ConversationReply:
    """The visitor's "Talk to a person": hand over now (the bot stops). A retry with the
    same ``client_id``, or a chat already handed over, answers its hand-over message
    (``replayed``); ConversationClosed for a closed chat."""
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise ValidationFailed(
            [FieldError("client_id", "An id of 8 to 64 characters made by the client.")]
        )
    found = conversation_by_token(workspace, token)
    with transaction.atomic():
        call = _locked(workspace, found.pk, None)
        conversation = call.conversation
        stored = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if stored is None and conversation.status in (
            ConversationStatus.WAITING,
            ConversationStatus.ASSIGNED,
        ):
            stored = (
                Message.objects.filter(conversation=conversation, payload__has_key="handover")
                .order_by("-seq")
                .first()
            )
        if stored is not None:
            return ConversationReply(conversation, [stored], token, replayed=True)
        if conversation.status == ConversationStatus.CLOSED:
            raise ConversationClosed()
        handover_apply(call, step=conversation.current_step, reason="visitor", client_id=client_id)
        conversation_save(call)
    return ConversationReply(conversation, call.messages, token)


def conversation_email_leave(*, workspace: Workspace, token: str, email: Any) -> ConversationReply:
    """The visitor's email, left when nobody could answer: stored on the lead through the
    lead-arrival service (as a chat answer), acknowledged by a system message."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationFailed([FieldError("email", "Your email address.")])
    address = email_normalise(email)
    found = conversation_by_token(workspace, token)
    with transaction.atomic():
        call = _locked(workspace, found.pk, None)
        conversation = call.conversation
        conversation.state.setdefault("values", {})["email"] = address
        call.values_changed = True
        contact_apply(call)
        if conversation.state.get("not_applied"):
            raise ValidationFailed(
                [FieldError("email", "This email could not be stored; check it.")]
            )
        message_add(
            call,
            MessageAuthor.SYSTEM,
            f"Thanks! We'll reply to {address}.",
            payload={"email_saved": True},
        )
        conversation_save(call)
    return ConversationReply(conversation, call.messages, token)


def rating_clean(rating: Any, comment: Any) -> tuple[int, str]:
    errors = []
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors.append(FieldError("rating", "A whole number from 1 to 5."))
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        errors.append(FieldError("comment", f"Text of at most {MAX_COMMENT} characters."))
    if errors:
        raise ValidationFailed(errors)
    return rating, comment.strip()


def conversation_rate(
    *, workspace: Workspace, token: str, rating: Any, comment: Any = ""
) -> Conversation:
    """The visitor's rating of a closed chat (1-5, a comment); a new one replaces the last;
    ConversationNotClosed (409) while it is open."""
    rating, comment = rating_clean(rating, comment)
    found = conversation_by_token(workspace, token)
    with transaction.atomic():
        call = _locked(workspace, found.pk, None)
        conversation = call.conversation
        if conversation.status != ConversationStatus.CLOSED:
            raise ConversationNotClosed()
        conversation.rating, conversation.rating_comment = rating, comment
        conversation.save(update_fields=["rating", "rating_comment"])
        activity_add(call, kinds.CHAT_RATED, {"rating": rating, "comment": comment[:300]})
    return conversation


def transcript_email_request(
    *, workspace: Workspace, conversation: Conversation, email: Any = None
) -> str:
    """Email the transcript (without notes) to ``email``, else to the contact's address,
    after the commit; returns the address. ValidationFailed when there is none."""
    if email:
        if not isinstance(email, str):
            raise ValidationFailed([FieldError("email", "An email address.")])
        address = email_normalise(email)
    else:
        contact = conversation.contact
        address = contact.email if contact is not None and contact.email else ""
        if not address:
            raise ValidationFailed([FieldError("email", "Which address should it go to?")])
    task_schedule(TRANSCRIPT_TASK, conversation.pk, address)
    return address


def conversation_transcript_email(*, conversation_id: int, address: str) -> bool:
    """Send the transcript (the worker's half of ``transcript_email_request``)."""
    conversation = (
        Conversation.objects.select_related("workspace").filter(pk=conversation_id).first()
    )
    if conversation is None:
        return False
    workspace = conversation.workspace
    lines = []
    for message in selectors.conversation_transcript(workspace, conversation, notes=False):
        if not message.text:
            continue
        who = (
            {
                MessageAuthor.VISITOR: "You",
                MessageAuthor.BOT: "Bot",
                MessageAuthor.SYSTEM: workspace.name,
            }.get(message.author)
            or message.payload.get("agent")
            or "Agent"
        )
        lines.append({"who": who, "text": message.text, "created_at": message.created_at})
    return email_send(
        to=address,
        subject=f"Your chat with {workspace.name}",
        template="chat/email/transcript",
        context={"workspace": workspace, "conversation": conversation, "messages": lines},
    )


# --- presence and canned replies ----------------------------------------------------------------


def presence_heartbeat(
    *, workspace: Workspace, actor: Actor, away: bool | None = None, now: dt.datetime | None = None
) -> AgentPresence:
    """The member is in the inbox now (``away``: they marked themselves away, or back)."""
    now = now or timezone.now()
    defaults: dict[str, Any] = {"last_seen_at": now}
    if away is not None:
        defaults["away"] = away
    try:
        with transaction.atomic():
            presence, _ = AgentPresence.objects.update_or_create(
                workspace=workspace, user=actor.user, defaults=defaults
            )
    except IntegrityError:  # two first heartbeats at once: the other made the row
        AgentPresence.objects.filter(workspace=workspace, user=actor.user).update(**defaults)
        presence = AgentPresence.objects.get(workspace=workspace, user=actor.user)
    return presence


def canned_reply_clean(data: dict[str, Any]) -> dict[str, str]:
    errors, clean = [], {}
    fields = (("title", 100, True), ("text", 2000, True), ("shortcut", 30, False))
    for key, limit, required in fields:
        value = data.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value.strip()) > limit:
            errors.append(FieldError(key, f"Text of at most {limit} characters."))
        elif required and not value.strip():
            errors.append(FieldError(key, "Required."))
        else:
            clean[key] = value.strip()
    if clean.get("shortcut") and not clean["shortcut"].startswith("/"):
        clean["shortcut"] = "/" + clean["shortcut"]
    if errors:
        raise ValidationFailed(errors)
    return clean


def canned_reply_save(
    *, workspace: Workspace, data: dict[str, Any], reply_id: int | None = None
) -> CannedReply:
    """Create (no ``reply_id``) or change a canned reply; a shortcut is the workspace's once."""
    clean = canned_reply_clean(data)
    reply = (
        selectors.canned_reply_get(workspace, reply_id)
        if reply_id is not None
        else CannedReply(workspace=workspace)
    )
    taken = CannedReply.objects.filter(workspace=workspace, shortcut=clean["shortcut"])
    if clean["shortcut"] and taken.exclude(pk=reply.pk).exists():
        raise ValidationFailed([FieldError("shortcut", "Another canned reply has it.")])
    for key, value in clean.items():
        setattr(reply, key, value)
    reply.updated_at = timezone.now()
    reply.save()
    return reply


def canned_reply_delete(*, workspace: Workspace, reply_id: int) -> None:
    deleted, _ = CannedReply.objects.filter(workspace=workspace, pk=reply_id).delete()
    if not deleted:
        raise NotFound("No such canned reply.")
