"""Chat's writes: flows (``flows``), conversations (``conversations``) and the workspace's
chat settings (``settings``).

Callers import from ``leadflow.chat.services`` whichever module a service lives in.
"""

# The product and meeting steps register their effects with conversations on import.
from leadflow.chat.services.commerce import (
    activities_order_paid,
    conversation_checkout,
    conversation_order_paid,
)
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
from leadflow.chat.services.meetings import meeting_confirmation_send, member_free_slots
from leadflow.chat.services.retention import RetentionReport, transcripts_prune
from leadflow.chat.services.settings import chat_settings_update

__all__ = [
    "ConversationClosed",
    "ConversationNotClosed",
    "ConversationReply",
    "ConversationTaken",
    "RetentionReport",
    "activities_order_paid",
    "agent_name",
    "agent_reply",
    "assignee_json",
    "canned_reply_delete",
    "canned_reply_save",
    "chat_settings_update",
    "conversation_by_token",
    "conversation_checkout",
    "conversation_claim",
    "conversation_close",
    "conversation_email_leave",
    "conversation_handover_request",
    "conversation_knowledge_reply",
    "conversation_message_post",
    "conversation_messages",
    "conversation_order_paid",
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
    "meeting_confirmation_send",
    "member_free_slots",
    "message_json",
    "presence_heartbeat",
    "route_choose",
    "transcript_email_request",
    "transcripts_prune",
]
