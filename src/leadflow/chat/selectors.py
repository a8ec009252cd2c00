"""Reads for flows, conversations and the live inbox, workspace first, related rows loaded.

A member who sees only their own leads (the sales role unless the workspace widens it)
sees the chats assigned to them and the unassigned ones: those nobody holds yet whose
contact is theirs, anonymous, or waiting in the queue for a person. Another member's
chat answers 404.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from leadflow.chat.conversation_kinds import CHAT_STARTED
from leadflow.chat.models import (
    OPEN_STATUSES,
    PRESENCE_ONLINE_SECONDS,
    AgentPresence,
    CannedReply,
    ChatSettings,
    Conversation,
    ConversationStatus,
    Flow,
    FlowVersion,
    Message,
)
from leadflow.contacts.models import Activity
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace

INBOX_FILTERS = ("mine", "unassigned", "team")


def chat_settings_get(workspace: Workspace) -> ChatSettings:
    """The workspace's chat settings, or the defaults (unsaved) until they are first saved."""
    found = ChatSettings.objects.filter(workspace=workspace).first()
    return found if found is not None else ChatSettings(workspace=workspace)


def flow_list(workspace: Workspace) -> QuerySet[Flow]:
    return (
        Flow.objects.filter(workspace=workspace)
        .select_related("current_version")
        .annotate(conversation_count=Count("conversations"))
    )


def flow_get(workspace: Workspace, flow_id: int) -> Flow:
    flow = (
        Flow.objects.filter(workspace=workspace, pk=flow_id)
        .select_related("current_version")
        .first()
    )
    if flow is None:
        raise NotFound("No such flow.")
    return flow


def flow_versions(workspace: Workspace, flow: Flow) -> QuerySet[FlowVersion]:
    return FlowVersion.objects.filter(workspace=workspace, flow=flow).order_by("-number")


def _visible(queryset: QuerySet[Conversation], actor: Actor | None) -> QuerySet[Conversation]:
    if actor is not None and actor.sees_only_own_leads:
        unassigned = Q(assignee__isnull=True) & (
            Q(contact__isnull=True)
            | Q(contact__owner_id=actor.user_id)
            | Q(status=ConversationStatus.WAITING)
        )
        return queryset.filter(Q(assignee_id=actor.user_id) | unassigned)
    return queryset


def conversation_list(
    workspace: Workspace,
    *,
    actor: Actor | None = None,
    status: str = "",
    flow_id: int | None = None,
) -> QuerySet[Conversation]:
    """Newest activity first, with the flow, the version and the contact loaded."""
    conversations = Conversation.objects.filter(workspace=workspace).select_related(
        "flow", "flow_version", "contact"
    )
    if status:
        conversations = conversations.filter(status=status)
    if flow_id is not None:
        conversations = conversations.filter(flow_id=flow_id)
    return _visible(conversations, actor).order_by("-last_activity_at", "-pk")


def conversation_get(
    workspace: Workspace, conversation_id: int, *, actor: Actor | None = None
) -> Conversation:
    conversation = (
        _visible(Conversation.objects.filter(workspace=workspace, pk=conversation_id), actor)
        .select_related("flow", "flow_version", "contact")
        .first()
    )
    if conversation is None:
        if conversation_deleted_by_retention(workspace, conversation_id, actor=actor):
            raise NotFound(RETENTION_GONE, code="deleted_by_retention")
        raise NotFound("No such conversation.")
    return conversation


RETENTION_GONE = (
    "This conversation's transcript was deleted by the workspace's retention policy "
    "(Settings → Chat policy). The contact's activities from it are kept on the timeline."
)


def conversation_deleted_by_retention(
    workspace: Workspace, conversation_id: int, *, actor: Actor | None = None
) -> bool:
    """Whether a conversation that is not found once was, with a known visitor: its
    ``chat.started`` activity outlives the transcript (retention deletes conversations,
    never activities; nothing else deletes a conversation whose contact is kept). A
    member who sees only their own leads learns it only of their own contacts."""
    if not 0 < conversation_id < 2**63:
        return False
    started = Activity.objects.filter(
        workspace=workspace, kind=CHAT_STARTED, data__conversation_id=conversation_id
    )
    if actor is not None and actor.sees_only_own_leads:
        started = started.filter(contact__owner_id=actor.user_id)
    return started.exists()


def conversation_transcript(
    workspace: Workspace, conversation: Conversation, *, after: int = 0, notes: bool = True
) -> list[Message]:
    """The conversation's messages after seq ``after`` (``notes``: with the agents' internal
    notes, as the inbox shows them; a transcript for the visitor leaves them out)."""
    messages = Message.objects.filter(
        workspace=workspace, conversation=conversation, seq__gt=after
    ).select_related("author_user")
    if not notes:
        messages = messages.filter(internal=False)
    return list(messages.order_by("seq"))


# --- the live inbox ---------------------------------------------------------------------------


def inbox_list(
    workspace: Workspace, *, actor: Actor, view: str = "", status: str = ""
) -> QuerySet[Conversation]:
    """The inbox's list: ``view`` mine (assigned to the actor), unassigned (waiting for a
    person, nobody holds it), team (every open chat the actor may see); ``status`` one of
    the statuses; neither: the open chats. Waiting chats first, then the newest activity
    (the API's pages re-order by the newest activity alone)."""
    conversations = _visible(
        Conversation.objects.filter(workspace=workspace).select_related(
            "flow", "contact", "assignee"
        ),
        actor,
    )
    if view == "mine":
        conversations = conversations.filter(assignee_id=actor.user_id)
    elif view == "unassigned":
        conversations = conversations.filter(
            assignee__isnull=True, status=ConversationStatus.WAITING
        )
    if status:
        conversations = conversations.filter(status=status)
    elif view != "mine":
        # The open chats; a bot chat the visitor left (the idle pass marked it) is no
        # longer one: it stays under its status filter and in the conversations list.
        conversations = conversations.filter(status__in=OPEN_STATUSES).exclude(
            status=ConversationStatus.BOT, left_at__isnull=False
        )
    waiting_first = Case(When(status=ConversationStatus.WAITING, then=Value(0)), default=Value(1))
    return conversations.order_by(waiting_first, "-last_activity_at", "-pk")


def agents_online(
    workspace: Workspace, user_ids: Iterable[int] | None = None, *, now: dt.datetime | None = None
) -> set[int]:
    """The members seen in the inbox in the last ``PRESENCE_ONLINE_SECONDS`` and not
    marked away (of ``user_ids`` when given)."""
    since = (now or timezone.now()) - dt.timedelta(seconds=PRESENCE_ONLINE_SECONDS)
    rows = AgentPresence.objects.filter(
        workspace=workspace,
        away=False,
        last_seen_at__gte=since,
        user__memberships__workspace=workspace,
    )
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    return set(rows.values_list("user_id", flat=True))


def presence_get(workspace: Workspace, user_id: int | None) -> AgentPresence | None:
    return AgentPresence.objects.filter(workspace=workspace, user_id=user_id).first()


def open_chats_by_assignee(workspace: Workspace, user_ids: Iterable[int]) -> dict[int, int]:
    """How many open (assigned) chats each of these members holds, in one query."""
    rows = (
        Conversation.objects.filter(
            workspace=workspace,
            assignee_id__in=list(user_ids),
            status=ConversationStatus.ASSIGNED,
        )
        .values("assignee_id")
        .annotate(open=Count("pk"))
    )
    return {row["assignee_id"]: row["open"] for row in rows}


def canned_reply_list(workspace: Workspace) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(workspace=workspace).order_by("title", "pk")


def canned_reply_get(workspace: Workspace, reply_id: int) -> CannedReply:
    found = CannedReply.objects.filter(workspace=workspace, pk=reply_id).first()
    if found is None:
        raise NotFound("No such canned reply.")
    return found


def conversation_messages_after(
    workspace: Workspace, conversation: Conversation, after: int, *, limit: int = 200
) -> list[Message]:
    """The member's view of the messages after seq ``after`` (the agent stream's replay)."""
    return list(
        Message.objects.filter(
            workspace=workspace, conversation=conversation, seq__gt=after
        ).order_by("seq")[:limit]
    )
