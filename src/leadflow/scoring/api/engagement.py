"""REST endpoints of the engagement score: the workspace's rules (read with
``settings:read``, changed with ``settings:write``; any change recomputes every contact in
the background) and a contact's score with its breakdown (``contacts:read``)."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from leadflow.contacts.selectors import contact_get
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.scoring import selectors, services

router = Router(tags=["scoring"])
BIG = 2**63 - 1
Operator = Literal["eq", "ne", "contains", "not_contains", "starts_with", "matches"]


class ConditionIO(StrictSchema):
    property: str = Field(
        description="Events: url, name, referrer or properties.<key>; activities: "
        "data.<key> (nested: data.utm.utm_campaign) or form, tag, to, from, page_url, "
        "campaign, reason."
    )
    operator: Operator
    value: str = Field(
        description="Compared as text, ignoring case; for matches a pattern where * is any "
        "run of characters."
    )


class RuleOut(Schema):
    id: int
    name: str
    position: int
    enabled: bool
    source: Literal["activity", "event"]
    kind: str = Field(description="An activity kind (form.submitted...) or an event type.")
    conditions: list[ConditionIO]
    points: int
    cap_per_day: int | None = Field(description="At most this many rows a UTC day count.")
    cap_total: int | None = Field(description="At most this many rows count ever (1: once).")
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleIn(StrictSchema):
    name: str
    source: Literal["activity", "event"]
    kind: str
    conditions: list[ConditionIO] = Field(default_factory=list)
    points: int = Field(description="-1000 to 1000, not 0; negative takes points away.")
    cap_per_day: int | None = None
    cap_total: int | None = None
    enabled: bool = True
    position: int | None = None


class RulePatch(StrictSchema):
    name: str | None = None
    source: Literal["activity", "event"] | None = None
    kind: str | None = None
    conditions: list[ConditionIO] | None = None
    points: int | None = None
    cap_per_day: int | None = None
    cap_total: int | None = None
    enabled: bool | None = None
    position: int | None = None


class ScoreLine(Schema):
    rule_id: int
    rule_name: str
    count: int = Field(description="Activities or events that gave points.")
    points: int = Field(description="Their points as given.")
    decayed: float = Field(description="What is left of them now.")
    last_at: dt.datetime | None


class ScoreOut(Schema):
    contact_id: int
    engagement_score: float = Field(description="As stored on the contact (last computed).")
    total: float = Field(description="The decayed sum of points now.")
    points: int = Field(description="The points as given, before decay.")
    half_life_days: int
    lines: list[ScoreLine]


def _values(payload: StrictSchema, *, partial: bool) -> dict[str, Any]:
    values = payload.dict(exclude_unset=partial)
    if not partial and values.get("position") is None:
        values.pop("position", None)
    return values


@router.get(
    "/scoring/engagement-rules", response=list[RuleOut], summary="The engagement rules, in order"
)
def rule_list(request: HttpRequest):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    services.profile_get(workspace)  # the default rules exist
    return list(selectors.engagement_rules(workspace))


@router.post("/scoring/engagement-rules", response={201: RuleOut}, summary="Add an engagement rule")
def rule_create(request: HttpRequest, payload: RuleIn):
    """Every contact's score is recomputed in the background."""
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    services.profile_get(workspace)
    rule = services.engagement_rule_create(
        workspace=workspace, actor=actor, values=_values(payload, partial=False)
    )
    return Status(201, rule)


@router.get("/scoring/engagement-rules/{rule_id}", response=RuleOut, summary="One engagement rule")
def rule_get(request: HttpRequest, rule_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return selectors.engagement_rule_get(workspace, rule_id)


@router.patch(
    "/scoring/engagement-rules/{rule_id}", response=RuleOut, summary="Change an engagement rule"
)
def rule_update(request: HttpRequest, payload: RulePatch, rule_id: int = Path(..., ge=1, le=BIG)):
    """Only the fields given change (``null`` clears a cap); every contact's score is
    recomputed in the background."""
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    return services.engagement_rule_update(
        workspace=workspace, actor=actor, rule_id=rule_id, values=_values(payload, partial=True)
    )


@router.delete(
    "/scoring/engagement-rules/{rule_id}",
    response={204: None},
    summary="Delete an engagement rule",
)
def rule_delete(request: HttpRequest, rule_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    services.engagement_rule_delete(workspace=workspace, actor=actor, rule_id=rule_id)
    return Status(204, None)


@router.get(
    "/contacts/{contact_id}/score",
    response=ScoreOut,
    summary="A contact's engagement score and where it came from",
)
def contact_score(request: HttpRequest, contact_id: int = Path(..., ge=1, le=BIG)):
    """Per rule: how many activities or events gave points, the points as given, and what
    decay has left of them now (half-life ``half_life_days``), largest first."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_READ)
    contact = contact_get(workspace, actor, contact_id)
    breakdown = selectors.engagement_breakdown(workspace, contact.pk)
    return {
        "contact_id": contact.pk,
        "engagement_score": contact.engagement_score,
        "total": breakdown.total,
        "points": breakdown.points,
        "half_life_days": breakdown.half_life_days,
        "lines": breakdown.lines,
    }
