"""The knowledge base: entries written by the marketer (services and selectors), and the
answer the bot gives from them (``knowledge_answer``, docs/chat/knowledge-base.md).

An entry is saved with its passages at once; their embeddings are computed after commit by
the worker (``chat.knowledge_tasks.knowledge_embed_task``), which bumps the workspace's
index version again. Until then the passages are found lexically. Every change of a member
writes its audit entry in its transaction.

The decision: answer when the best entry's score clears the floor and leads the second by
the margin; offer the closest three as buttons when it clears the suggestion floor; hand
over below that. Thresholds are per ranking (the model's hybrid score, or BM25 alone when
the model is unavailable), calibrated on tests/chat/knowledge_set.py (decision 0042). A
workspace may override any of the three (``ChatSettings.kb_answer_floor``, ``kb_margin``,
``kb_suggest_floor``; None keeps the calibrated value): an override holds for whichever
ranking answers (``thresholds_for``).
"""

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from leadflow.chat import knowledge_index
from leadflow.chat import knowledge_seam as seam
from leadflow.chat.knowledge_model import MODEL_ID, embedder, vector_bytes
from leadflow.chat.models import (
    ChatSettings,
    EntryKind,
    KnowledgeEntry,
    KnowledgeIndex,
    KnowledgePassage,
    UnansweredQuestion,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule

EMBED_TASK = "leadflow.chat.knowledge_tasks.knowledge_embed_task"
TITLE_MAX, BODY_MAX, PHRASING_MAX, PHRASINGS_MAX, QUESTION_MAX = 300, 20_000, 300, 20, 500
CHUNK_WORDS = 80
LEXICAL = "bm25"


@dataclass(frozen=True)
class Thresholds:
    answer: float  # the best score must reach this ...
    margin: float  # ... and lead the second entry by this much to be answered
    suggest: float  # below the answer band but at least this: three suggestions


THRESHOLDS = {
    MODEL_ID: Thresholds(answer=0.48, margin=0.04, suggest=0.30),
    LEXICAL: Thresholds(answer=0.48, margin=0.04, suggest=0.25),
}
# A workspace's override of each threshold: (ChatSettings field, Thresholds field).
OVERRIDES = (
    ("kb_answer_floor", "answer"),
    ("kb_margin", "margin"),
    ("kb_suggest_floor", "suggest"),
)


def thresholds_overridden(
    calibrated: Thresholds, overrides: dict[str, float | None]
) -> tuple[Thresholds, tuple[str, ...]]:
    """``calibrated`` with the workspace's ``overrides`` (by ChatSettings field; None keeps
    the calibrated value), and which of the three were overridden."""
    values = {name: getattr(calibrated, name) for _, name in OVERRIDES}
    replaced = []
    for setting, name in OVERRIDES:
        if overrides.get(setting) is not None:
            values[name] = float(overrides[setting])
            replaced.append(name)
    return Thresholds(**values), tuple(replaced)


def workspace_overrides(workspace: Workspace) -> dict[str, float | None]:
    """The workspace's threshold overrides ({} until its chat settings are saved)."""
    row = (
        ChatSettings.objects.filter(workspace=workspace)
        .values(*(setting for setting, _ in OVERRIDES))
        .first()
    )
    return row or {}


def thresholds_for(workspace: Workspace, ranking: str) -> tuple[Thresholds, tuple[str, ...]]:
    """The thresholds in force for ``ranking`` in the workspace, and which it overrides."""
    return thresholds_overridden(THRESHOLDS[ranking], workspace_overrides(workspace))


@dataclass(frozen=True)
class Citation:
    """What an answer cites: the entry's id and title, its public link (when the marketer
    gave one) and its page in the app."""

    entry_id: int
    title: str
    link: str
    app_path: str


@dataclass(frozen=True)
class Suggestion:
    entry_id: int
    title: str
    score: float


@dataclass(frozen=True)
class KnowledgeAnswer:
    """``answer``: say ``text`` and cite ``citation``; ``suggest``: offer ``suggestions``
    as buttons; ``handover``: pass the visitor to a person. ``ranking`` says which scores
    decided (the model's id or ``bm25``), ``thresholds`` which bands (the workspace's
    overrides, named in ``overridden``, over the ranking's calibrated values)."""

    kind: Literal["answer", "suggest", "handover"]
    score: float
    ranking: str
    thresholds: Thresholds | None = None
    overridden: tuple[str, ...] = ()
    entry: KnowledgeEntry | None = None
    text: str = ""
    citation: Citation | None = None
    suggestions: list[Suggestion] = field(default_factory=list)


# --- selectors -----------------------------------------------------------------------------


def entry_list(workspace: Workspace, *, search: str = "") -> QuerySet[KnowledgeEntry]:
    """The workspace's entries, last changed first; ``search`` matches title or body."""
    entries = KnowledgeEntry.objects.filter(workspace=workspace)
    if search.strip():
        entries = entries.filter(
            Q(title__icontains=search.strip()) | Q(body__icontains=search.strip())
        )
    return entries.order_by("-updated_at", "-pk")


def entry_get(workspace: Workspace, entry_id: int) -> KnowledgeEntry:
    entry = KnowledgeEntry.objects.filter(workspace=workspace, pk=entry_id).first()
    if entry is None:
        raise NotFound("No such knowledge base entry.")
    return entry


def unanswered_list(workspace: Workspace) -> QuerySet[UnansweredQuestion]:
    """Questions the bot did not answer outright, most recently asked first."""
    return (
        UnansweredQuestion.objects.filter(workspace=workspace)
        .select_related("best_entry")
        .order_by("-last_asked_at", "-pk")
    )


def unanswered_get(workspace: Workspace, unanswered_id: int) -> UnansweredQuestion:
    row = UnansweredQuestion.objects.filter(workspace=workspace, pk=unanswered_id).first()
    if row is None:
        raise NotFound("No such unanswered question.")
    return row


def citation_for(entry: KnowledgeEntry) -> Citation:
    return Citation(
        entry_id=entry.pk,
        title=entry.title,
        link=entry.link,
        app_path=reverse(
            "knowledge_detail",
            kwargs={"workspace_slug": entry.workspace.slug, "entry_id": entry.pk},
        ),
    )


# --- writing entries -------------------------------------------------------------------------


def _text(data: dict, name: str, limit: int, errors: list[FieldError], *, required=True) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(name, "Must be text."))
        return ""
    value = value.strip()
    if required and not value:
        errors.append(FieldError(name, "Required."))
    elif len(value) > limit:
        errors.append(FieldError(name, f"At most {limit} characters."))
    return value


def entry_clean(data: dict[str, Any]) -> dict[str, Any]:
    """The entry's fields checked; ValidationFailed names every bad one."""
    errors: list[FieldError] = []
    kind = data.get("kind") or EntryKind.QUESTION
    if kind not in EntryKind.values:
        errors.append(FieldError("kind", "question or article."))
    clean = {
        "kind": kind,
        "title": _text(data, "title", TITLE_MAX, errors),
        "body": _text(data, "body", BODY_MAX, errors),
        "link": _text(data, "link", 2000, errors, required=False),
    }
    if clean["link"]:
        parts = urlsplit(clean["link"])
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            errors.append(FieldError("link", "An http:// or https:// address."))
    phrasings = data.get("phrasings") or []
    if isinstance(phrasings, str):
        phrasings = phrasings.splitlines()
    if not isinstance(phrasings, list) or not all(isinstance(p, str) for p in phrasings):
        errors.append(FieldError("phrasings", "A list of questions."))
        phrasings = []
    phrasings = list(dict.fromkeys(p.strip() for p in phrasings if p.strip()))
    if len(phrasings) > PHRASINGS_MAX:
        errors.append(FieldError("phrasings", f"At most {PHRASINGS_MAX} phrasings."))
    if any(len(p) > PHRASING_MAX for p in phrasings):
        errors.append(FieldError("phrasings", f"Each at most {PHRASING_MAX} characters."))
    clean["phrasings"] = phrasings if kind == EntryKind.QUESTION else []
    if errors:
        raise ValidationFailed(errors)
    return clean


def passages_of(entry: KnowledgeEntry) -> list[tuple[str, bool]]:
    """(text, is the answer itself) for each passage the entry is searched by. A question:
    the question, each phrasing, the answer. An article: its title, then its paragraphs,
    long ones cut into chunks of about ``CHUNK_WORDS`` words at sentence ends."""
    if entry.kind == EntryKind.QUESTION:
        return [(entry.title, False), *((p, False) for p in entry.phrasings), (entry.body, True)]
    passages = [(entry.title, False)]
    for paragraph in re.split(r"\n\s*\n", entry.body):
        sentences = re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split()))
        chunk: list[str] = []
        for sentence in sentences:
            if chunk and len(" ".join([*chunk, sentence]).split()) > CHUNK_WORDS:
                passages.append((" ".join(chunk), True))
                chunk = []
            if sentence:
                chunk.append(sentence)
        if chunk:
            passages.append((" ".join(chunk), True))
    return passages


def _version_bump(workspace: Workspace) -> None:
    """One more version; the first starts at a random number, so a workspace made again
    under a reused id (or a change rolled back) never matches a process's cached index."""
    if not KnowledgeIndex.objects.filter(workspace=workspace).update(version=F("version") + 1):
        try:
            with transaction.atomic():
                KnowledgeIndex.objects.create(workspace=workspace, version=secrets.randbits(40))
        except IntegrityError:
            KnowledgeIndex.objects.filter(workspace=workspace).update(version=F("version") + 1)


def _passages_write(entry: KnowledgeEntry) -> None:
    """The entry's passages anew (vectors kept for texts that did not change), the version
    bumped, and the embedding task scheduled after commit."""
    kept = {
        text: (vector, model)
        for text, vector, model in KnowledgePassage.objects.filter(entry=entry)
        .exclude(vector=None)
        .values_list("text", "vector", "model")
    }
    KnowledgePassage.objects.filter(entry=entry).delete()
    rows = []
    for position, (text, is_answer) in enumerate(passages_of(entry)):
        vector, model = kept.get(text, (None, ""))
        rows.append(
            KnowledgePassage(
                workspace_id=entry.workspace_id,
                entry=entry,
                position=position,
                text=text,
                is_answer=is_answer,
                vector=vector,
                model=model,
            )
        )
    KnowledgePassage.objects.bulk_create(rows)
    _version_bump(entry.workspace)
    if any(row.vector is None for row in rows):
        task_schedule(EMBED_TASK, entry.pk)


@transaction.atomic
def entry_create(
    *,
    workspace: Workspace,
    actor: Actor,
    data: dict[str, Any],
    unanswered_id: int | None = None,
) -> KnowledgeEntry:
    """A new entry and its passages. ``unanswered_id``: the unanswered question it answers,
    which leaves the list."""
    clean = entry_clean(data)
    entry = KnowledgeEntry.objects.create(workspace=workspace, **clean)
    _passages_write(entry)
    if unanswered_id is not None:
        UnansweredQuestion.objects.filter(workspace=workspace, pk=unanswered_id).delete()
    audit_record(workspace=workspace, actor=actor, action="knowledge.entry_created", obj=entry)
    return entry


@transaction.atomic
def entry_update(
    *, workspace: Workspace, entry_id: int, actor: Actor, data: dict[str, Any]
) -> KnowledgeEntry:
    """Change the fields given (the others stay); the passages follow."""
    entry = (
        KnowledgeEntry.objects.select_for_update().filter(workspace=workspace, pk=entry_id).first()
    )
    if entry is None:
        raise NotFound("No such knowledge base entry.")
    current = {
        "kind": entry.kind,
        "title": entry.title,
        "body": entry.body,
        "link": entry.link,
        "phrasings": entry.phrasings,
    }
    clean = entry_clean({**current, **{k: v for k, v in data.items() if k in current}})
    for name, value in clean.items():
        setattr(entry, name, value)
    entry.updated_at = timezone.now()
    entry.save()
    _passages_write(entry)
    changes = {name: value for name, value in clean.items() if current[name] != value}
    audit_record(
        workspace=workspace,
        actor=actor,
        action="knowledge.entry_updated",
        obj=entry,
        changes={name: str(value)[:200] for name, value in changes.items()},
    )
    return entry


@transaction.atomic
def entry_delete(*, workspace: Workspace, entry_id: int, actor: Actor) -> None:
    entry = entry_get(workspace, entry_id)
    audit_record(workspace=workspace, actor=actor, action="knowledge.entry_deleted", obj=entry)
    entry.delete()
    _version_bump(workspace)


def knowledge_embed(*, entry_id: int) -> int:
    """Embed the entry's passages that have no vector by the current model (run by the
    worker; safe to run twice: a second run finds nothing to do). Returns how many."""
    model = embedder()
    if model is None:
        return 0
    passages = list(
        KnowledgePassage.objects.filter(entry_id=entry_id)
        .filter(Q(vector=None) | ~Q(model=model.model_id))
        .select_related("workspace")
    )
    if not passages:
        return 0
    vectors = model.embed_many([passage.text for passage in passages])
    for passage, vector in zip(passages, vectors, strict=True):
        passage.vector = vector_bytes(vector)
        passage.model = model.model_id
    with transaction.atomic():
        # A passage deleted meanwhile (its entry changed) is simply not updated.
        KnowledgePassage.objects.bulk_update(passages, ["vector", "model"])
        _version_bump(passages[0].workspace)
    return len(passages)


# --- answering -------------------------------------------------------------------------------


def question_key(question: str) -> str:
    return " ".join(question.lower().split())[:300]


def unanswered_record(
    *, workspace: Workspace, question: str, score: float, entry_id: int | None
) -> None:
    """Count one more asking of a question the bot did not answer outright (race-safe:
    an ``F()`` increment, the row made once under its unique key)."""
    key = question_key(question)
    if not key:
        return
    now = timezone.now()
    changes = {
        "count": F("count") + 1,
        "last_asked_at": now,
        "best_score": score,
        "best_entry_id": entry_id,
        "question": question[:QUESTION_MAX],
    }
    rows = UnansweredQuestion.objects.filter(workspace=workspace, key=key)
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            UnansweredQuestion.objects.create(
                workspace=workspace,
                key=key,
                question=question[:QUESTION_MAX],
                best_score=score,
                best_entry_id=entry_id,
                first_asked_at=now,
                last_asked_at=now,
            )
    except IntegrityError:
        rows.update(**changes)


@transaction.atomic
def unanswered_dismiss(*, workspace: Workspace, unanswered_id: int, actor: Actor) -> None:
    row = unanswered_get(workspace, unanswered_id)
    audit_record(workspace=workspace, actor=actor, action="knowledge.unanswered_dismissed")
    row.delete()


def knowledge_entry_answer(workspace: Workspace, entry_id: int) -> KnowledgeAnswer:
    """The answer of one entry, as when the visitor picks a suggestion's button."""
    entry = (
        KnowledgeEntry.objects.select_related("workspace")
        .filter(workspace=workspace, pk=entry_id)
        .first()
    )
    if entry is None:
        raise NotFound("No such knowledge base entry.")
    first = entry.passages.filter(is_answer=True).order_by("position").first()
    text = entry.body if entry.kind == EntryKind.QUESTION or first is None else first.text
    return KnowledgeAnswer(
        kind="answer",
        score=1.0,
        ranking="chosen",
        entry=entry,
        text=text,
        citation=citation_for(entry),
    )


def knowledge_bot_answer(*, workspace: Workspace, question: str):
    """The knowledge base as the bot's seam wants it (``knowledge_seam``, registered by
    ``ChatConfig.ready``): an answer with its citation, the middle band's three closest
    entries as suggestions, or None (a person takes over). Runs in the worker."""
    found = knowledge_answer(workspace, question)
    if found.kind == "answer" and found.citation is not None:
        citation = {
            "entry": found.citation.entry_id,
            "title": found.citation.title,
            "link": found.citation.link,
        }
        return seam.KnowledgeAnswer(found.text, citation=citation)
    if found.kind == "suggest":
        return seam.KnowledgeAnswer(
            "Is it one of these?",
            suggestions=[{"entry": s.entry_id, "title": s.title} for s in found.suggestions],
        )
    return None


def knowledge_answer(
    workspace: Workspace, question: str, *, record: bool = True
) -> KnowledgeAnswer:
    """What the bot says to ``question``: an answer citing its entry, three suggestions, or
    a hand-over (see the module's docstring for the bands). A question not answered outright
    is counted in the unanswered list (unless ``record`` is False: a member trying).
    Loads the model on first use in this process: call it from the worker."""
    question = (question or "").strip()[:QUESTION_MAX]
    model = embedder()
    ranking = model.model_id if model is not None else LEXICAL
    index = knowledge_index.index_for(workspace, model.model_id if model else None)
    if model is not None and not index.embedded.any():
        ranking = LEXICAL  # nothing embedded yet
    thresholds, overridden = thresholds_for(workspace, ranking)
    bands = {"ranking": ranking, "thresholds": thresholds, "overridden": overridden}
    ranked = []
    if question and index.size:
        query = model.embed(question) if ranking != LEXICAL and model is not None else None
        ranked = knowledge_index.rank(index, question, query, limit=4)
    best = ranked[0].score if ranked else 0.0
    second = ranked[1].score if len(ranked) > 1 else 0.0
    if ranked and best >= thresholds.answer and best - second >= thresholds.margin:
        entry = KnowledgeEntry.objects.select_related("workspace").get(
            workspace=workspace, pk=ranked[0].entry_id
        )
        text = entry.body
        if entry.kind == EntryKind.ARTICLE:
            passage = KnowledgePassage.objects.filter(pk=ranked[0].passage_id).first()
            if passage is not None and passage.is_answer:
                text = passage.text
            else:  # its title matched: the article's opening passage
                first = entry.passages.filter(is_answer=True).order_by("position").first()
                text = first.text if first is not None else entry.body
        return KnowledgeAnswer(
            kind="answer",
            score=best,
            **bands,
            entry=entry,
            text=text,
            citation=citation_for(entry),
        )
    top = ranked[0].entry_id if ranked and best > 0 else None
    if record and question:
        unanswered_record(workspace=workspace, question=question, score=best, entry_id=top)
    if ranked and best >= thresholds.suggest:
        titles = dict(
            KnowledgeEntry.objects.filter(
                workspace=workspace, pk__in=[r.entry_id for r in ranked[:3]]
            ).values_list("pk", "title")
        )
        suggestions = [
            Suggestion(entry_id=r.entry_id, title=titles[r.entry_id], score=r.score)
            for r in ranked[:3]
            if r.entry_id in titles
        ]
        return KnowledgeAnswer(kind="suggest", score=best, **bands, suggestions=suggestions)
    return KnowledgeAnswer(kind="handover", score=best, **bands)
