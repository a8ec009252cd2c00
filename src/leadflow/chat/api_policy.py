"""REST endpoints for the workspace's chat policy (/api/v1/chat/policy): how long
transcripts are kept, how many chats a person holds, and the knowledge base's thresholds
(docs/chat/retention.md). The settings scopes grant them, as for the other workspace
settings; the workspace is the API key's."""

from ninja import Field, Router, Schema

from leadflow.chat import knowledge, selectors
from leadflow.chat.services.settings_policy import chat_policy, chat_policy_update
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope

router = Router(tags=["chat"])
READ, WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE


class ThresholdsOut(Schema):
    answer: float
    margin: float
    suggest: float


class ChatPolicyOut(Schema):
    retention_days: int = Field(
        description="Days a transcript is kept after its last message, the visitor known"
    )
    anonymous_retention_days: int = Field(
        description="Days a transcript is kept after its last message, the visitor never known"
    )
    agent_capacity: int = Field(description="Open chats one person holds before routing skips")
    kb_answer_floor: float | None = Field(
        description="The knowledge base answers from this score (null: the model's calibrated)"
    )
    kb_margin: float | None = Field(
        description="... when the best entry leads the second by this much (null: calibrated)"
    )
    kb_suggest_floor: float | None = Field(
        description="Below the answer band, from this score: three suggestions (null: calibrated)"
    )
    calibrated: dict[str, ThresholdsOut] = Field(
        description="The model's calibrated thresholds, by ranking (the model's id, 'bm25')"
    )


class ChatPolicyIn(StrictSchema):
    retention_days: int | None = Field(None, description="1 to 3650")
    anonymous_retention_days: int | None = Field(None, description="1 to 3650")
    agent_capacity: int | None = Field(None, description="1 to 50")
    kb_answer_floor: float | None = Field(None, description="0 to 1; null: the model's value")
    kb_margin: float | None = Field(None, description="0 to 0.5; null: the model's value")
    kb_suggest_floor: float | None = Field(
        None, description="0 to 1, not above the answer floor; null: the model's value"
    )


def _out(settings) -> dict:
    calibrated = {
        ranking: {"answer": t.answer, "margin": t.margin, "suggest": t.suggest}
        for ranking, t in knowledge.THRESHOLDS.items()
    }
    return {**chat_policy(settings), "calibrated": calibrated}


@router.get("/chat/policy", response=ChatPolicyOut, summary="Get the chat policy")
def policy_get(request):
    workspace, _ = require_scope(request, READ)
    return _out(selectors.chat_settings_get(workspace))


@router.put("/chat/policy", response=ChatPolicyOut, summary="Change the chat policy")
def policy_put(request, payload: ChatPolicyIn):
    """The fields given change, the others stay; a threshold given as null goes back to the
    model's calibrated value. 422 names each bad field (a number out of its range, the
    suggestion floor above the answer floor). Safe to retry: the same body, the same policy."""
    workspace, actor = require_scope(request, WRITE)
    data = payload.dict(exclude_unset=True)
    for name in ("retention_days", "anonymous_retention_days", "agent_capacity"):
        if name in data and data[name] is None:
            data[name] = ""  # refused by the service, naming the field
    return _out(chat_policy_update(workspace, data, actor))
