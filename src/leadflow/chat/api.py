"""REST endpoints for chat: flows (/api/v1/chat/flows: CRUD and publish; the forms scopes
cover them, as for forms and pop-ups) and conversations (/api/v1/chat/conversations: list
and transcript; the contacts:read scope, as a transcript holds what a lead said)."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadflow.chat import selectors, services
from leadflow.chat.models import Conversation, Flow
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["chat"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE
TRANSCRIPTS = ApiScope.CONTACTS_READ


class ChatPageRules(StrictSchema):
    include: list[str] = Field(
        [], description="Page patterns (* is any text; /path... or a whole address); empty: all"
    )
    exclude: list[str] = Field([], description="Page patterns where the flow never runs")


class ChatProactive(StrictSchema):
    enabled: bool = False
    message: str = Field("", description="What the chat says when it opens by itself")
    delay_seconds: int | None = Field(None, description="Seconds on the page (0 to 3600)")
    scroll_percent: int | None = Field(None, description="How far down the page (1 to 100)")
    exit_intent: bool = Field(False, description="The pointer leaves through the top")
    once_per_days: int = Field(1, description="At most once per visitor per N days (0: always)")


class ChatFlowIn(StrictSchema):
    name: str | None = None
    status: Literal["draft", "active", "paused"] | None = None
    priority: int | None = Field(None, description="Where several flows match, the highest runs")
    page_rules: ChatPageRules | None = None
    graph: dict[str, Any] | None = Field(
        None,
        description="The draft: {start, steps: [...]} (docs/chat/flows.md); refused naming the "
        "step for an unknown next step, an unreachable step or a cycle without a question",
    )
    proactive: ChatProactive | None = Field(
        None, description="When the launcher opens the chat by itself (docs/chat/widget.md)"
    )


class ChatFlowOut(Schema):
    id: int
    name: str
    status: str
    priority: int
    page_rules: dict[str, Any]
    proactive: dict[str, Any]
    graph: dict[str, Any] = Field(alias="draft")
    current_version: int | None = Field(description="The number of the published version")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_current_version(flow: Flow) -> int | None:
        return flow.current_version.number if flow.current_version else None


class ChatFlowPage(Schema):
    items: list[ChatFlowOut]
    next_cursor: str | None


class ChatVersionOut(Schema):
    number: int
    graph: dict[str, Any]
    published_at: dt.datetime
    published_by: str


class ChatMessageOut(Schema):
    seq: int
    author: str
    text: str
    payload: dict[str, Any]
    step: str
    created_at: dt.datetime


class ChatConversationOut(Schema):
    id: int
    flow_id: int
    flow: str
    flow_version: int
    status: str
    visitor_id: str
    contact_id: int | None
    current_step: str
    answers: dict[str, Any]
    page_url: str
    started_at: dt.datetime
    last_activity_at: dt.datetime
    left_at_step: str
    left_at: dt.datetime | None
    last_seq: int

    @staticmethod
    def resolve_flow(conversation: Conversation) -> str:
        return conversation.flow.name

    @staticmethod
    def resolve_flow_version(conversation: Conversation) -> int:
        return conversation.flow_version.number

    @staticmethod
    def resolve_answers(conversation: Conversation) -> dict[str, Any]:
        return (conversation.state.get("engine") or {}).get("answers") or {}


class ChatConversationDetail(ChatConversationOut):
    messages: list[ChatMessageOut]


class ChatConversationPage(Schema):
    items: list[ChatConversationOut]
    next_cursor: str | None


def _body(payload: ChatFlowIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    return {key: value for key, value in data.items() if value is not None}


@router.post("/chat/flows", response={201: ChatFlowOut}, summary="Create a chat flow")
def flow_create(request, payload: ChatFlowIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        flow = services.flow_create(workspace=workspace, data=_body(payload), actor=actor)
        return json_response(ChatFlowOut.from_orm(flow).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/chat/flows", response=ChatFlowPage, summary="List chat flows")
def flow_list(request, cursor: str | None = None, limit: int = Query(50, ge=1, le=200)):
    workspace, _ = require_scope(request, READ)
    page = cursor_paginate(
        selectors.flow_list(workspace), sort="-created_at", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/chat/flows/{flow_id}", response=ChatFlowOut, summary="Get a chat flow and its draft")
def flow_get(request, flow_id: int) -> Flow:
    workspace, _ = require_scope(request, READ)
    return selectors.flow_get(workspace, flow_id)


@router.patch("/chat/flows/{flow_id}", response=ChatFlowOut, summary="Change a chat flow")
def flow_patch(request, flow_id: int, payload: ChatFlowIn):
    """Given settings change; a given ``graph`` replaces the draft (published versions and
    the conversations on them stay as they are)."""
    workspace, actor = require_scope(request, WRITE)
    services.flow_update(workspace=workspace, flow_id=flow_id, data=_body(payload), actor=actor)
    return selectors.flow_get(workspace, flow_id)


@router.post(
    "/chat/flows/{flow_id}/publish",
    response={201: ChatVersionOut},
    summary="Publish the draft as the flow's next version",
)
def flow_publish(request, flow_id: int):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        version = services.flow_publish(workspace=workspace, flow_id=flow_id, actor=actor)
        return json_response(ChatVersionOut.from_orm(version).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.delete("/chat/flows/{flow_id}", response={204: None}, summary="Delete a chat flow")
def flow_delete(request, flow_id: int):
    """Only a flow without conversations (409 otherwise: pause it)."""
    workspace, actor = require_scope(request, WRITE)
    services.flow_delete(workspace=workspace, flow_id=flow_id, actor=actor)
    return Status(204, None)


@router.get("/chat/conversations", response=ChatConversationPage, summary="List conversations")
def conversation_list(
    request,
    status: Literal["bot", "waiting", "assigned", "closed"] | None = None,
    flow_id: int | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    workspace, actor = require_scope(request, TRANSCRIPTS)
    conversations = selectors.conversation_list(
        workspace, actor=actor, status=status or "", flow_id=flow_id
    )
    page = cursor_paginate(conversations, sort="-last_activity_at", cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/chat/conversations/{conversation_id}",
    response=ChatConversationDetail,
    summary="Get a conversation with its transcript",
)
def conversation_get(request, conversation_id: int):
    workspace, actor = require_scope(request, TRANSCRIPTS)
    conversation = selectors.conversation_get(workspace, conversation_id, actor=actor)
    conversation.messages = selectors.conversation_transcript(workspace, conversation)
    return conversation


# --- the chat settings (the widget's look and consent) --------------------------------------


class ChatSettingsIn(StrictSchema):
    enabled: bool | None = Field(None, description="Show the launcher on pages a flow runs on")
    launcher_label: str | None = Field(None, description="What the launcher says (1 to 60)")
    colour: str | None = Field(None, description="The launcher's colour, #rrggbb")
    position: Literal["right", "left"] | None = None
    greeting: str | None = Field(None, description="Shown above the conversation (at most 300)")
    consent_required: bool | None = Field(
        None, description="The visitor accepts consent_text before the first message"
    )
    consent_text: str | None = None
    privacy_url: str | None = Field(None, description="Linked from the consent notice")
    offline_message: str | None = Field(None, description="Said when nobody is in")


class ChatSettingsOut(Schema):
    enabled: bool
    launcher_label: str
    colour: str
    position: str
    greeting: str
    consent_required: bool
    consent_text: str
    privacy_url: str
    offline_message: str


@router.get("/chat/settings", response=ChatSettingsOut, summary="Get the chat widget's settings")
def chat_settings_get(request):
    workspace, _ = require_scope(request, READ)
    return selectors.chat_settings_get(workspace)


@router.put("/chat/settings", response=ChatSettingsOut, summary="Change the chat widget's settings")
def chat_settings_put(request, payload: ChatSettingsIn):
    """The given fields change (each checked, 422 naming the bad ones); the others stay."""
    workspace, actor = require_scope(request, WRITE)
    changes = {key: value for key, value in payload.dict(exclude_unset=True).items()}
    return services.chat_settings_update(workspace=workspace, actor=actor, changes=changes)
