"""The live inbox (docs/chat/inbox.md): the chats filtered by mine / unassigned / team and
status, one chat's thread with the reply box, notes and canned replies beside the bot's
transcript and the captured fields; claim, close, return to the bot, the transcript by
email; the agent's presence heartbeat; the canned replies' page.

Reading needs ``read``; acting on a chat needs ``write`` (the roles that work leads). A
salesperson who sees only own leads sees their own chats and the unassigned ones
(``chat.selectors``): another chat answers 404. The thread refreshes by polling a fragment
every 3 s with ``after`` = the last seq shown (``data-conversation`` and ``data-last-seq``
on the thread let a live stream take over).
"""

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.chat import selectors, services
from leadflow.chat.graph import steps_by_id
from leadflow.chat.live import member_stream_url
from leadflow.chat.models import ConversationStatus
from leadflow.web.access import workspace_view
from leadflow.web.views.common import render_page

SECTION = {"section": "chat_inbox"}
VIEWS = (("mine", "Mine"), ("unassigned", "Unassigned"), ("team", "Team"))
LABELS = {"text": "Message", "client_id": "Message", "step": "Step", "email": "Email"}


def _filters(request: HttpRequest) -> tuple[str, str]:
    view = request.GET.get("view", "")
    status = request.GET.get("status", "")
    return (
        view if view in selectors.INBOX_FILTERS else "",
        status if status in ConversationStatus.values else "",
    )


def _inbox(request: HttpRequest, conversation=None) -> dict:
    view, status = _filters(request)
    chats = list(
        selectors.inbox_list(request.workspace, actor=request.actor, view=view, status=status)[:100]
    )
    presence = selectors.presence_get(request.workspace, request.actor.user_id)
    return {
        **SECTION,
        "chats": chats,
        "view": view,
        "status": status,
        "views": VIEWS,
        "statuses": ConversationStatus.choices,
        "current": conversation,
        "away": bool(presence and presence.away),
        "may_act": request.membership.can("write"),
        "query": request.GET.urlencode(),
        "today": timezone.localdate(),
    }


@workspace_view("read")
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/chat/inbox.html", _inbox(request))


@workspace_view("read")
@require_safe
def inbox_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    workspace = request.workspace
    conversation = selectors.conversation_get(workspace, conversation_id, actor=request.actor)
    transcript = selectors.conversation_transcript(workspace, conversation)
    answers = (conversation.state.get("engine") or {}).get("answers") or {}
    page = {
        **_inbox(request, conversation),
        "messages_shown": transcript,
        "last_seq": transcript[-1].seq if transcript else 0,
        "answers": sorted(answers.items()),
        "values": sorted((conversation.state.get("values") or {}).items()),
        "canned": list(selectors.canned_reply_list(workspace)),
        "steps": [step_id for step_id in steps_by_id(conversation.flow_version.graph)],
        "client_id": uuid.uuid4().hex,
        # The thread's live stream (docs/chat/streams.md); None: chat-live.js polls.
        "stream_url": member_stream_url(
            reverse("chat_conversation_stream", args=[workspace.slug, conversation.pk])
        ),
    }
    return render_page(request, "web/chat/inbox.html", page)


@workspace_view("read")
@require_safe
def inbox_thread(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The poll: the messages after ``after`` and the next poller (no new message: the same
    poller again)."""
    workspace = request.workspace
    conversation = selectors.conversation_get(workspace, conversation_id, actor=request.actor)
    after = request.GET.get("after", "0")
    after_seq = int(after) if after.isascii() and after.isdigit() and len(after) < 12 else 0
    new = selectors.conversation_transcript(workspace, conversation, after=after_seq)
    return render(
        request,
        "web/chat/inbox_thread.html",
        {
            "workspace": workspace,
            "current": conversation,
            "messages_shown": new,
            "last_seq": new[-1].seq if new else after_seq,
        },
    )


def _back(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return redirect("chat_inbox_detail", request.workspace.slug, conversation_id)


@workspace_view("write", labels=LABELS)
@require_POST
def inbox_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A reply to the visitor, or (the "Add note" button) an internal note."""
    services.agent_reply(
        workspace=request.workspace,
        conversation_id=conversation_id,
        actor=request.actor,
        text=request.POST.get("text", ""),
        client_id=request.POST.get("client_id", ""),
        internal=request.POST.get("note") == "1",
    )
    return _back(request, conversation_id)


@workspace_view("write", labels=LABELS)
@require_POST
def inbox_claim(request: HttpRequest, conversation_id: int) -> HttpResponse:
    services.conversation_claim(
        workspace=request.workspace, conversation_id=conversation_id, actor=request.actor
    )
    messages.success(request, "The chat is yours.")
    return _back(request, conversation_id)


@workspace_view("write", labels=LABELS)
@require_POST
def inbox_close(request: HttpRequest, conversation_id: int) -> HttpResponse:
    services.conversation_close(
        workspace=request.workspace, conversation_id=conversation_id, actor=request.actor
    )
    messages.success(request, "Closed; the visitor is asked for a rating.")
    return _back(request, conversation_id)


@workspace_view("write", labels=LABELS)
@require_POST
def inbox_return(request: HttpRequest, conversation_id: int) -> HttpResponse:
    services.conversation_return_to_bot(
        workspace=request.workspace,
        conversation_id=conversation_id,
        actor=request.actor,
        step=request.POST.get("step", ""),
    )
    messages.success(request, "The bot has the chat again.")
    return _back(request, conversation_id)


@workspace_view("write", labels=LABELS)
@require_POST
def inbox_transcript(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(
        request.workspace, conversation_id, actor=request.actor
    )
    address = services.transcript_email_request(
        workspace=request.workspace,
        conversation=conversation,
        email=request.POST.get("email", "").strip() or None,
    )
    messages.success(request, f"The transcript is on its way to {address}.")
    return _back(request, conversation_id)


@workspace_view("write")
@require_POST
def inbox_presence(request: HttpRequest) -> HttpResponse:
    """The inbox page's heartbeat (every 30 s), and the away switch (``away`` 1 or 0)."""
    away = request.POST.get("away")
    services.presence_heartbeat(
        workspace=request.workspace,
        actor=request.actor,
        away=None if away not in ("0", "1") else away == "1",
    )
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(request.POST.get("next_view") or "chat_inbox", request.workspace.slug)


# --- canned replies ---------------------------------------------------------------------------


@workspace_view("read", labels={"title": "Title", "text": "Text", "shortcut": "Shortcut"})
@require_http_methods(["GET", "POST"])
def canned_list(request: HttpRequest, reply_id: int | None = None) -> HttpResponse:
    """The list, a form for a new one or (``reply_id``) the one being changed."""
    workspace = request.workspace
    editing = selectors.canned_reply_get(workspace, reply_id) if reply_id else None
    if request.method == "POST":
        if not request.membership.can("write"):
            return HttpResponse("Your role does not allow this.", status=403)
        if request.POST.get("delete") == "1" and editing is not None:
            services.canned_reply_delete(workspace=workspace, reply_id=editing.pk)
            messages.success(request, "Deleted.")
        else:
            services.canned_reply_save(
                workspace=workspace,
                data={key: request.POST.get(key, "") for key in ("title", "text", "shortcut")},
                reply_id=editing.pk if editing else None,
            )
            messages.success(request, "Saved.")
        return redirect("chat_canned_list", workspace.slug)
    page = {
        **SECTION,
        "replies": list(selectors.canned_reply_list(workspace)),
        "editing": editing,
        "may_act": request.membership.can("write"),
    }
    return render_page(request, "web/chat/canned_list.html", page)
