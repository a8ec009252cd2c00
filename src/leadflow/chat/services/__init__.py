"""Chat's writes: flows (``flows``) and conversations (``conversations``).

Callers import from ``leadflow.chat.services`` whichever module a service lives in.
"""

from leadflow.chat.services.conversations import (
    ConversationClosed,
    ConversationReply,
    assignee_json,
    conversation_by_token,
    conversation_knowledge_reply,
    conversation_message_post,
    conversation_messages,
    conversation_start,
    conversation_token,
    flow_for_page,
    message_json,
)
from leadflow.chat.services.flows import (
    flow_create,
    flow_delete,
    flow_get,
    flow_graph_clean,
    flow_publish,
    flow_update,
)
from leadflow.chat.services.handover import agent_name, handover_apply, route_choose
from leadflow.chat.services.idle import conversations_mark_left
from leadflow.chat.services.inbox import (
    ConversationNotClosed,
    ConversationTaken,
    agent_reply,
    canned_reply_delete,
    canned_reply_save,
    conversation_claim,
    conversation_close,
    conversation_email_leave,
    conversation_handover_request,
    conversation_rate,
    conversation_return_to_bot,
    conversation_transcript_email,
    presence_heartbeat,
    transcript_email_request,
)

__all__ = [
    "ConversationClosed",
    "ConversationNotClosed",
    "ConversationReply",
    "ConversationTaken",
    "agent_name",
    "agent_reply",
    "assignee_json",
    "canned_reply_delete",
    "canned_reply_save",
    "conversation_by_token",
    "conversation_claim",
    "conversation_close",
    "conversation_email_leave",
    "conversation_handover_request",
    "conversation_knowledge_reply",
    "conversation_message_post",
    "conversation_messages",
    "conversation_rate",
    "conversation_return_to_bot",
    "conversation_start",
    "conversation_token",
    "conversation_transcript_email",
    "conversations_mark_left",
    "flow_create",
    "flow_delete",
    "flow_for_page",
    "flow_get",
    "flow_graph_clean",
    "flow_publish",
    "flow_update",
    "handover_apply",
    "message_json",
    "presence_heartbeat",
    "route_choose",
    "transcript_email_request",
]
