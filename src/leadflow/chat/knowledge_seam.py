"""The seam between a flow's "answer from the knowledge base" step and the knowledge base.

The conversation service asks ``knowledge_answer(workspace=, question=)``; the knowledge
base's part of chat registers the function that answers (``knowledge_answerer_register``,
from ``ChatConfig.ready``). It returns a ``KnowledgeAnswer`` (the text the bot says, the
entry it came from as ``citation``, and optional ``suggestions``: the closest entries
offered as buttons) or None when nothing clears its thresholds. Without a registered
answerer every question is handed over to a person, as a low-confidence one is.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadflow.core.models import Workspace


@dataclass(frozen=True)
class KnowledgeAnswer:
    text: str
    citation: dict[str, Any] = field(default_factory=dict)
    suggestions: list[dict[str, Any]] = field(default_factory=list)


Answerer = Callable[..., KnowledgeAnswer | None]
_ANSWERERS: list[Answerer] = []


def knowledge_answerer_register(answerer: Answerer) -> None:
    """Make ``answerer(workspace=, question=)`` the knowledge base's answer (the last one
    registered wins: there is one knowledge base)."""
    _ANSWERERS[:] = [answerer]


def knowledge_answer(*, workspace: Workspace, question: str) -> KnowledgeAnswer | None:
    """The knowledge base's answer to ``question``, or None (a person takes over)."""
    if not _ANSWERERS:
        return None
    return _ANSWERERS[0](workspace=workspace, question=question)
