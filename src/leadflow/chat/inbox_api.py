"""REST endpoints of the live inbox (docs/chat/inbox.md): the inbox list, claim, reply or
note, return to the bot, close, the transcript by email, presence, canned replies.

Reads need ``contacts:read`` (a chat holds what a lead said), actions ``contacts:write``.
An agent's action is a person's: the API key acts as the member who created it (while
still a member, with that member's role and visibility; 403 otherwise). Another
workspace's id, or a chat the member may not see, answers 404.
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadflow.chat import selectors, services
from leadflow.chat.models import Conversation
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.actors import Actor
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import PermissionDenied
from leadflow.core.models import ApiScope, Membership

router = Router(tags=["chat inbox"])
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE


def _agent(request, scope: str) -> tuple[Any, Actor]:
    """The workspace and the member the key acts for (its creator)."""
    workspace, actor = require_scope(request, scope)
    key = actor.api_key
    membership = (
        Membership.objects.filter(workspace=workspace, user_id=key.created_by_id)
        .select_related("user", "workspace")
        .first()
        if key is not None and key.created_by_id
        else None
    )
    if membership is None or not membership.can("write"):
        raise PermissionDenied(
            "Inbox actions need an API key made by a member who may work leads.",
            code="no_agent",
        )
    return workspace, Actor(
        user=membership.user, api_key=key, membership=membership, label=f"API key {key.name}"
    )


class InboxConversationOut(Schema):
    id: int
    status: str
    flow_id: int
    contact_id: int | None
    assignee_id: int | None
    assigned_at: dt.datetime | None
    handover_at: dt.datetime | None
    first_agent_reply_at: dt.datetime | None
    closed_at: dt.datetime | None
    rating: int | None
    rating_comment: str
    last_seq: int
    last_activity_at: dt.datetime


class InboxPage(Schema):
    items: list[InboxConversationOut]
    next_cursor: str | None


class InboxMessageOut(Schema):
    seq: int
    author: str
    text: str
    payload: dict[str, Any]
    internal: bool
    author_user_id: int | None
    client_id: str
    created_at: dt.datetime


class AgentMessageIn(StrictSchema):
    text: str = Field(description="At most 2,000 characters")
    client_id: str = Field(description="8-64 characters made by the client: a retry stores once")
    internal: bool = Field(False, description="A note only the inbox shows, never the visitor")


class ReturnIn(StrictSchema):
    step: str = Field("", description="The flow step the bot continues at; empty: the bot ends")


class TranscriptIn(StrictSchema):
    email: str | None = Field(None, description="Default: the contact's email")


class PresenceIn(StrictSchema):
    away: bool | None = None


class PresenceOut(Schema):
    user_id: int
    last_seen_at: dt.datetime
    away: bool


class CannedIn(StrictSchema):
    title: str | None = None
    text: str | None = None
    shortcut: str | None = None


class CannedOut(Schema):
    id: int
    title: str
    text: str
    shortcut: str


@router.get("/chat/inbox", response=InboxPage, summary="The live inbox's chats")
def inbox_list(
    request,
    view: Literal["mine", "unassigned", "team"] | None = None,
    status: Literal["bot", "waiting", "assigned", "closed"] | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """``mine``: held by the key's member; ``unassigned``: waiting for a person; ``team``
    (or none): every open chat the member sees."""
    workspace, actor = _agent(request, READ)
    conversations = selectors.inbox_list(
        workspace, actor=actor, view=view or "", status=status or ""
    )
    page = cursor_paginate(conversations, sort="-last_activity_at", cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/chat/conversations/{conversation_id}/messages",
    response=list[InboxMessageOut],
    summary="A chat's messages after a seq, notes included",
)
def inbox_messages(request, conversation_id: int, after: int = Query(0, ge=0)):
    workspace, actor = _agent(request, READ)
    conversation = selectors.conversation_get(workspace, conversation_id, actor=actor)
    return selectors.conversation_transcript(workspace, conversation, after=after)


def _conversation(conversation: Conversation) -> HttpResponse:
    return json_response(InboxConversationOut.from_orm(conversation).dict())


@router.post(
    "/chat/conversations/{conversation_id}/claim",
    response=InboxConversationOut,
    summary="Take a waiting chat (409 when another person has it)",
)
def inbox_claim(request, conversation_id: int):
    workspace, actor = _agent(request, WRITE)
    return _conversation(
        services.conversation_claim(
            workspace=workspace, conversation_id=conversation_id, actor=actor
        )
    )


@router.post(
    "/chat/conversations/{conversation_id}/messages",
    response={200: InboxMessageOut, 201: InboxMessageOut},
    summary="Reply to the visitor, or write a note (a retry with the same client_id: 200)",
)
def inbox_reply(request, conversation_id: int, payload: AgentMessageIn):
    workspace, actor = _agent(request, WRITE)
    message = services.agent_reply(
        workspace=workspace,
        conversation_id=conversation_id,
        actor=actor,
        text=payload.text,
        client_id=payload.client_id,
        internal=payload.internal,
    )
    status = 200 if getattr(message, "replayed", False) else 201
    return json_response(InboxMessageOut.from_orm(message).dict(), status=status)


@router.post(
    "/chat/conversations/{conversation_id}/return",
    response=InboxConversationOut,
    summary="Give the chat back to the bot",
)
def inbox_return(request, conversation_id: int, payload: ReturnIn):
    workspace, actor = _agent(request, WRITE)
    return _conversation(
        services.conversation_return_to_bot(
            workspace=workspace, conversation_id=conversation_id, actor=actor, step=payload.step
        )
    )


@router.post(
    "/chat/conversations/{conversation_id}/close",
    response=InboxConversationOut,
    summary="Close the chat (the visitor is asked for a rating)",
)
def inbox_close(request, conversation_id: int):
    workspace, actor = _agent(request, WRITE)
    return _conversation(
        services.conversation_close(
            workspace=workspace, conversation_id=conversation_id, actor=actor
        )
    )


@router.post(
    "/chat/conversations/{conversation_id}/transcript",
    response={202: dict[str, Any]},
    summary="Email the transcript (without notes)",
)
def inbox_transcript(request, conversation_id: int, payload: TranscriptIn):
    workspace, actor = _agent(request, WRITE)
    conversation = selectors.conversation_get(workspace, conversation_id, actor=actor)
    address = services.transcript_email_request(
        workspace=workspace, conversation=conversation, email=payload.email
    )
    return json_response({"conversation": conversation.pk, "email": address}, status=202)


@router.post("/chat/presence", response=PresenceOut, summary="I am in the inbox (a heartbeat)")
def inbox_presence(request, payload: PresenceIn):
    workspace, actor = _agent(request, WRITE)
    return services.presence_heartbeat(workspace=workspace, actor=actor, away=payload.away)


@router.get("/chat/canned-replies", response=list[CannedOut], summary="List canned replies")
def canned_list(request):
    workspace, _ = require_scope(request, READ)
    return list(selectors.canned_reply_list(workspace))


@router.post("/chat/canned-replies", response={201: CannedOut}, summary="Add a canned reply")
def canned_create(request, payload: CannedIn):
    workspace, _ = require_scope(request, WRITE)
    reply = services.canned_reply_save(workspace=workspace, data=payload.dict())
    return json_response(CannedOut.from_orm(reply).dict(), status=201)


@router.patch(
    "/chat/canned-replies/{reply_id}", response=CannedOut, summary="Change a canned reply"
)
def canned_update(request, reply_id: int, payload: CannedIn):
    workspace, _ = require_scope(request, WRITE)
    current = selectors.canned_reply_get(workspace, reply_id)
    data = {"title": current.title, "text": current.text, "shortcut": current.shortcut}
    data.update(payload.dict(exclude_unset=True))
    return services.canned_reply_save(workspace=workspace, data=data, reply_id=reply_id)


@router.delete(
    "/chat/canned-replies/{reply_id}", response={204: None}, summary="Delete a canned reply"
)
def canned_delete(request, reply_id: int):
    workspace, _ = require_scope(request, WRITE)
    services.canned_reply_delete(workspace=workspace, reply_id=reply_id)
    return Status(204, None)
