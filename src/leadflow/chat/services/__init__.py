"""Chat's writes: flows (``flows``), conversations (``conversations``) and the workspace's
chat settings (``settings``).

Callers import from ``leadflow.chat.services`` whichever module a service lives in.
"""

from leadflow.chat.services.conversations import (
    ConversationClosed,
    ConversationReply,
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
from leadflow.chat.services.idle import conversations_mark_left
from leadflow.chat.services.settings import chat_settings_update

__all__ = [
    "ConversationClosed",
    "ConversationReply",
    "chat_settings_update",
    "conversation_by_token",
    "conversation_knowledge_reply",
    "conversation_message_post",
    "conversation_messages",
    "conversation_start",
    "conversation_token",
    "conversations_mark_left",
    "flow_create",
    "flow_delete",
    "flow_for_page",
    "flow_get",
    "flow_graph_clean",
    "flow_publish",
    "flow_update",
    "message_json",
]
