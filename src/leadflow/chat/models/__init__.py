"""Chat's models, one module per part (flows and conversations, the knowledge base,
messenger channels)."""

from leadflow.chat.models.channels import Channel, ChannelKind
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
from leadflow.chat.models.inbox import PRESENCE_ONLINE_SECONDS, AgentPresence, CannedReply
from leadflow.chat.models.knowledge import (
    EntryKind,
    KnowledgeEntry,
    KnowledgeIndex,
    KnowledgePassage,
    UnansweredQuestion,
)
from leadflow.chat.models.settings import ChatSettings, LauncherPosition
from leadflow.chat.models.steps import ChatMeeting, ChatOrder

__all__ = [
    "OPEN_STATUSES",
    "PRESENCE_ONLINE_SECONDS",
    "AgentPresence",
    "CannedReply",
    "Channel",
    "ChannelKind",
    "ChatMeeting",
    "ChatOrder",
    "ChatSettings",
    "Conversation",
    "ConversationStatus",
    "EntryKind",
    "Flow",
    "FlowStatus",
    "FlowVersion",
    "KnowledgeEntry",
    "KnowledgeIndex",
    "KnowledgePassage",
    "LauncherPosition",
    "Message",
    "MessageAuthor",
    "UnansweredQuestion",
]
