"""Chat's models, one module per part (flows and conversations, the knowledge base)."""

from leadflow.chat.models.knowledge import (
    EntryKind,
    KnowledgeEntry,
    KnowledgeIndex,
    KnowledgePassage,
    UnansweredQuestion,
)

__all__ = [
    "EntryKind",
    "KnowledgeEntry",
    "KnowledgeIndex",
    "KnowledgePassage",
    "UnansweredQuestion",
]
