"""Reads for flows and conversations, workspace first, related rows loaded.

A member who sees only their own leads (the sales role unless the workspace widens it)
sees the conversations of contacts they own and the anonymous ones (nobody owns those yet:
they are the unassigned queue of the inbox to come).
"""

from django.db.models import Count, Q, QuerySet

from leadflow.chat.models import ChatSettings, Conversation, Flow, FlowVersion, Message
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace


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
        return queryset.filter(Q(contact__isnull=True) | Q(contact__owner_id=actor.user_id))
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
        raise NotFound("No such conversation.")
    return conversation


def conversation_transcript(workspace: Workspace, conversation: Conversation) -> list[Message]:
    return list(
        Message.objects.filter(workspace=workspace, conversation=conversation).order_by("seq")
    )


def conversation_messages_after(
    workspace: Workspace, conversation: Conversation, after: int, *, limit: int = 200
) -> list[Message]:
    """The member's view of the messages after seq ``after`` (the agent stream's replay)."""
    return list(
        Message.objects.filter(
            workspace=workspace, conversation=conversation, seq__gt=after
        ).order_by("seq")[:limit]
    )
