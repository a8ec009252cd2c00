"""Chat's models, one module per part (flows and conversations, the knowledge base)."""

from leadflow.chat.models.flows import (
    OPEN_STATUSES,
    Conversation,
    ConversationStatus,
    Flow,
    FlowStatus,
    FlowVersion,
    Message,
    MessageAuthor,
)

__all__ = [
    "OPEN_STATUSES",
    "Conversation",
    "ConversationStatus",
    "Flow",
    "FlowStatus",
    "FlowVersion",
    "Message",
    "MessageAuthor",
]
