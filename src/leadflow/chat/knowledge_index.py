"""A workspace's knowledge base as this process searches it: every passage's vector in one
float32 matrix (one matrix product per question) and a BM25 index of the same passages
(``bm25s``), cached per process and rebuilt when the workspace's ``KnowledgeIndex.version``
moved on. Pure ranking lives here; what to do with the ranking is ``chat.knowledge``'s.

Scores: the semantic score of a passage is its cosine with the question; the lexical score
is its BM25 divided by the best BM25 the question could get (each question word's best
score in this index; a word the index has never seen counts as much as its rarest word),
so it lies in [0, 1] and a question full of unknown words scores low. Hybrid: a weighted
sum (``LEXICAL_WEIGHT``, calibrated on tests/chat/knowledge_set.py, decision 0042); an
entry scores as its best passage.
"""

import re
import threading
from dataclasses import dataclass

import bm25s
import numpy as np

from leadflow.chat.knowledge_model import DIMENSION, vector_from
from leadflow.chat.models import KnowledgeIndex, KnowledgePassage
from leadflow.core.models import Workspace

LEXICAL_WEIGHT = 0.1

_STOPWORDS = """a about am an and any are as at be been but by can could did do does for from get
    got had has have how i if in into is it its me my no not of on or our please should so
    some than that the their them then there these they this to was we were what when where
    which who why will with would you your yours"""
STOPWORDS = frozenset(_STOPWORDS.split())
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-case words less stopwords, with plural and verb endings cut (a light stemmer:
    "shipping", "ships" and "shipped" all become "ship")."""
    out = []
    for word in WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        for ending in ("ing", "ed", "es", "s"):
            if len(word) > len(ending) + 2 and word.endswith(ending):
                word = word[: -len(ending)]
                if ending in ("ing", "ed") and len(word) > 2 and word[-1] == word[-2]:
                    word = word[:-1]  # shipping -> shipp -> ship
                break
        out.append(word)
    return out


@dataclass
class Index:
    version: int
    passage_ids: np.ndarray  # per passage
    entry_ids: np.ndarray  # per passage
    vectors: np.ndarray  # (passages, DIMENSION); zero rows where not embedded yet
    embedded: np.ndarray  # per passage: has a vector
    model_ids: frozenset[str]
    bm25: bm25s.BM25 | None
    token_best: dict[str, float]  # each indexed word's best score in any passage
    rarest: float  # the best of those

    @property
    def size(self) -> int:
        return len(self.passage_ids)


@dataclass(frozen=True)
class Ranked:
    entry_id: int
    passage_id: int
    score: float


_cache: dict[int, Index] = {}
_lock = threading.Lock()


def index_version(workspace: Workspace) -> int:
    row = KnowledgeIndex.objects.filter(workspace=workspace).values_list("version", flat=True)
    return next(iter(row), 0)


def index_for(workspace: Workspace, model_id: str | None) -> Index:
    """The workspace's index in this process: one query for the version, and the passages
    read again only when it changed."""
    version = index_version(workspace)
    cached = _cache.get(workspace.pk)
    models = frozenset({model_id} if model_id else ())
    if cached is not None and cached.version == version and cached.model_ids == models:
        return cached
    index = index_build(workspace, version, model_id)
    with _lock:
        _cache[workspace.pk] = index
    return index


def index_build(workspace: Workspace, version: int, model_id: str | None) -> Index:
    rows = list(
        KnowledgePassage.objects.filter(workspace=workspace)
        .order_by("entry_id", "position")
        .values_list("pk", "entry_id", "text", "vector", "model")
    )
    vectors = np.zeros((len(rows), DIMENSION), dtype=np.float32)
    embedded = np.zeros(len(rows), dtype=bool)
    for row_number, (_, _, _, vector, model) in enumerate(rows):
        if vector is not None and model == model_id:
            vectors[row_number] = vector_from(vector)
            embedded[row_number] = True
    tokens = [words(text) or [""] for _, _, text, _, _ in rows]
    bm25 = None
    token_best: dict[str, float] = {}
    if rows:
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        data, indptr = bm25.scores["data"], bm25.scores["indptr"]
        for word, column in bm25.vocab_dict.items():
            if not word or column + 1 >= len(indptr):
                continue
            start, stop = indptr[column], indptr[column + 1]
            if stop > start:
                token_best[word] = float(data[start:stop].max())
    return Index(
        version=version,
        passage_ids=np.array([row[0] for row in rows], dtype=np.int64),
        entry_ids=np.array([row[1] for row in rows], dtype=np.int64),
        vectors=vectors,
        embedded=embedded,
        model_ids=frozenset({model_id} if model_id else ()),
        bm25=bm25,
        token_best=token_best,
        rarest=max(token_best.values(), default=1.0),
    )


def lexical_scores(index: Index, question: str) -> np.ndarray:
    """Each passage's BM25 over the best the question could score, in [0, 1]."""
    query = words(question)
    if index.bm25 is None or not query:
        return np.zeros(index.size, dtype=np.float32)
    known = [word for word in query if word in index.token_best]
    ceiling = sum(index.token_best.get(word, index.rarest) for word in query)
    if not known or ceiling <= 0:
        return np.zeros(index.size, dtype=np.float32)
    scores = np.asarray(index.bm25.get_scores(known), dtype=np.float32)
    return np.clip(scores / ceiling, 0.0, 1.0)


def similarities(vectors: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
    """Every passage's cosine with the question: one matrix-vector product, on one thread.
    (BLAS's threaded product waits for a second core: on a busy machine its p50 was 30 ms
    for 4,000 passages where this one takes 0.2 ms; see bench/bench_chat_kb.py.)"""
    return np.einsum("ij,j->i", vectors, query_vector)


def rank(
    index: Index, question: str, query_vector: np.ndarray | None, *, limit: int = 4
) -> list[Ranked]:
    """The best ``limit`` entries for the question, best first, each with its best passage.
    With a query vector: the hybrid score (passages not embedded yet score lexically);
    without: the lexical score alone."""
    if index.size == 0:
        return []
    lexical = lexical_scores(index, question)
    if query_vector is not None:
        semantic = similarities(index.vectors, query_vector)
        scores = np.where(
            index.embedded, (1 - LEXICAL_WEIGHT) * semantic + LEXICAL_WEIGHT * lexical, lexical
        )
    else:
        scores = lexical
    order = np.argsort(-scores, kind="stable")
    ranked: list[Ranked] = []
    seen: set[int] = set()
    for position in order:
        entry_id = int(index.entry_ids[position])
        if entry_id in seen:
            continue
        seen.add(entry_id)
        ranked.append(Ranked(entry_id, int(index.passage_ids[position]), float(scores[position])))
        if len(ranked) == limit:
            break
    return ranked


def cache_clear() -> None:
    with _lock:
        _cache.clear()
