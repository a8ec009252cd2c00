"""REST endpoints for the chat's knowledge base (/api/v1/chat/knowledge): entries, the
unanswered questions, and "try a question" (the bot's answer without counting the question
as unanswered). The forms scopes grant them, as for the other capture tools."""

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from leadflow.chat import knowledge
from leadflow.chat.models import KnowledgeEntry
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["chat"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE


class EntryOut(Schema):
    id: int
    kind: str
    title: str = Field(description="The question (a question entry) or the article's title")
    body: str = Field(description="The answer, or the article's text")
    phrasings: list[str] = Field(description="Other ways visitors ask the question")
    link: str = Field(description="A public page the answer cites ('' when none)")
    created_at: dt.datetime
    updated_at: dt.datetime


class EntryIn(StrictSchema):
    kind: Literal["question", "article"] | None = None
    title: str | None = None
    body: str | None = None
    phrasings: list[str] | None = None
    link: str | None = None


class EntryCreateIn(EntryIn):
    unanswered_id: int | None = Field(
        None, description="The unanswered question this entry answers (it leaves the list)"
    )


class TryIn(StrictSchema):
    question: str = Field(max_length=500)


class CitationOut(Schema):
    entry_id: int
    title: str
    link: str
    app_path: str


class SuggestionOut(Schema):
    entry_id: int
    title: str
    score: float


class ThresholdsInForce(Schema):
    answer: float = Field(description="The answer floor the best score had to reach")
    margin: float = Field(description="The lead over the second entry an answer needs")
    suggest: float = Field(description="The floor of the suggestions' band")
    overridden: list[str] = Field(
        description="Which of the three the workspace's chat policy sets (the rest: calibrated)"
    )


class AnswerOut(Schema):
    kind: Literal["answer", "suggest", "handover"]
    score: float = Field(description="The best entry's score")
    ranking: str = Field(description="The model's id, or 'bm25' when it ranked lexically")
    thresholds: ThresholdsInForce = Field(description="The bands in force for this ranking")
    text: str = Field(description="What the bot says (an answer only)")
    citation: CitationOut | None
    suggestions: list[SuggestionOut]


class UnansweredOut(Schema):
    id: int
    question: str
    count: int
    best_score: float
    best_entry_id: int | None
    first_asked_at: dt.datetime
    last_asked_at: dt.datetime


def _out(entry: KnowledgeEntry) -> dict:
    return EntryOut.from_orm(entry).dict()


@router.get("/chat/knowledge", response=list[EntryOut], summary="List knowledge base entries")
def entry_list(request, search: str = ""):
    workspace, _ = require_scope(request, READ)
    return list(knowledge.entry_list(workspace, search=search[:200]))


@router.post("/chat/knowledge", response={201: EntryOut}, summary="Add a knowledge base entry")
def entry_create(request, payload: EntryCreateIn):
    """Searchable at once by its words; by meaning once the worker has embedded it."""
    workspace, actor = require_scope(request, WRITE)
    data = payload.dict(exclude_unset=True)
    unanswered_id = data.pop("unanswered_id", None)

    def produce() -> HttpResponse:
        entry = knowledge.entry_create(
            workspace=workspace, actor=actor, data=data, unanswered_id=unanswered_id
        )
        return json_response(_out(entry), status=201)

    return idempotent(request, workspace, produce)


@router.post("/chat/knowledge/try", response=AnswerOut, summary="Try a question")
def entry_try(request, payload: TryIn):
    """What the bot would answer, with the score that decided; the question is not counted
    as unanswered."""
    workspace, _ = require_scope(request, READ)
    answer = knowledge.knowledge_answer(workspace, payload.question, record=False)
    return {
        "kind": answer.kind,
        "score": round(answer.score, 4),
        "ranking": answer.ranking,
        "thresholds": {**answer.thresholds.__dict__, "overridden": list(answer.overridden)},
        "text": answer.text,
        "citation": answer.citation.__dict__ if answer.citation else None,
        "suggestions": [s.__dict__ for s in answer.suggestions],
    }


@router.get(
    "/chat/knowledge/unanswered",
    response=list[UnansweredOut],
    summary="Questions the bot did not answer",
)
def unanswered_list(request):
    workspace, _ = require_scope(request, READ)
    return list(knowledge.unanswered_list(workspace)[:500])


@router.delete(
    "/chat/knowledge/unanswered/{unanswered_id}",
    response={204: None},
    summary="Dismiss an unanswered question",
)
def unanswered_dismiss(request, unanswered_id: int):
    workspace, actor = require_scope(request, WRITE)
    knowledge.unanswered_dismiss(workspace=workspace, unanswered_id=unanswered_id, actor=actor)
    return Status(204, None)


@router.get("/chat/knowledge/{entry_id}", response=EntryOut, summary="Get an entry")
def entry_get(request, entry_id: int):
    workspace, _ = require_scope(request, READ)
    return knowledge.entry_get(workspace, entry_id)


@router.patch("/chat/knowledge/{entry_id}", response=EntryOut, summary="Change an entry")
def entry_patch(request, entry_id: int, payload: EntryIn):
    workspace, actor = require_scope(request, WRITE)
    return knowledge.entry_update(
        workspace=workspace, entry_id=entry_id, actor=actor, data=payload.dict(exclude_unset=True)
    )


@router.delete("/chat/knowledge/{entry_id}", response={204: None}, summary="Delete an entry")
def entry_delete(request, entry_id: int):
    workspace, actor = require_scope(request, WRITE)
    knowledge.entry_delete(workspace=workspace, entry_id=entry_id, actor=actor)
    return Status(204, None)
