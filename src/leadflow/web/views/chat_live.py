"""The inbox's live side: a member's stream of one conversation and their typing signal.

GET  /w/<slug>/chat/conversations/<id>/stream/?after=SEQ (or Last-Event-ID): the
     conversation's server-sent events for a member (chat.stream: replay from the database,
     then each new message, status and the visitor's typing); served by the stream tier only.
     Only a conversation the member may open (chat.selectors: a salesperson who sees only
     own leads gets own and unassigned ones); any other id answers 404.
POST /w/<slug>/chat/conversations/<id>/typing/: the member is typing (204, CSRF; nothing
     is stored; rate limited per member and conversation).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST, require_safe

from leadflow.chat import selectors
from leadflow.chat.live import live_notify
from leadflow.chat.services import message_json
from leadflow.chat.stream import (
    EventStream,
    Snapshot,
    event_stream_response,
    last_seq_asked,
    same_site_cors,
    status_json,
    stream_refusal,
)
from leadflow.core.problems import problem_response
from leadflow.core.publickit import too_many_requests
from leadflow.core.ratelimit import rate_limit_hit
from leadflow.web.access import workspace_view


@workspace_view("read")
@require_safe
def conversation_stream(request: HttpRequest, conversation_id: int) -> HttpResponse:
    workspace, actor = request.workspace, request.actor
    conversation = selectors.conversation_get(workspace, conversation_id, actor=actor)
    refused = stream_refusal(request)
    if refused is not None:
        return same_site_cors(refused, request)
    after = last_seq_asked(request)
    if after is None:
        return problem_response(422, "after: the last seq seen (0 for all).", code="bad_after")

    def read(after: int) -> Snapshot:
        limit = 200
        found = selectors.conversation_get(workspace, conversation_id, actor=actor)
        messages = selectors.conversation_messages_after(workspace, found, after, limit=limit)
        return Snapshot(
            status_json(found), [message_json(m) for m in messages], more=len(messages) >= limit
        )

    stream = EventStream(conversation_id=conversation.pk, read=read, after=after, me="agent")
    return same_site_cors(event_stream_response(stream), request)


@workspace_view("write")
@require_POST
def conversation_typing(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(
        request.workspace, conversation_id, actor=request.actor
    )
    wait = rate_limit_hit(
        f"chat-typing:{conversation.pk}:agent:{request.user.pk}",
        limit=settings.LEADFLOW_CHAT_TYPING_RATE,
        window_seconds=60,
    )
    if wait:
        return too_many_requests("Too many typing signals.", wait)
    live_notify(conversation.pk, "typing", {"who": "agent", "name": request.user.display_name})
    return HttpResponse(status=204)
