"""REST endpoints of deals (/api/v1): pipelines and their stages (read with
``contacts:read``, changed with ``settings:write``), deals (``contacts:read`` /
``contacts:write``; a key acts as the workspace, seeing every deal), a lead's conversion
and the forecast. Creates honour ``Idempotency-Key``; every id of another workspace
answers 404; unknown fields and bad values answer 422 naming them."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.deals import selectors, services
from leadflow.deals.models import Deal

router = Router(tags=["deals"])
BIG = 2**63 - 1
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
SETTINGS_WRITE = ApiScope.SETTINGS_WRITE
Kind = Literal["open", "won", "lost"]
CLOSED_SINCE = Query(None, description="Won and lost deals counted from this date.")


# --- schemas ----------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int = Field(description="The default win probability of a deal here, 0-100.")
    kind: Kind


class PipelineOut(Schema):
    id: int
    name: str
    position: int = Field(description="0 is the workspace's default pipeline.")
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(pipeline) -> list:
        return list(pipeline.stages.all())


class StageIn(StrictSchema):
    name: str
    probability: int = Field(0, ge=0, le=100)
    kind: Kind = "open"
    position: int | None = Field(None, ge=0, le=1000)


class StagePatch(StrictSchema):
    name: str | None = None
    probability: int | None = Field(None, ge=0, le=100)
    kind: Kind | None = None


class PipelineIn(StrictSchema):
    name: str
    stages: list[StageIn] | None = Field(None, description="Default: the standard stages.")


class PipelinePatch(StrictSchema):
    name: str | None = None
    position: int | None = Field(None, ge=0, le=1000)


class ReorderIn(StrictSchema):
    stage_ids: list[int] = Field(description="Every stage of the pipeline once, in order.")


class DealOut(Schema):
    id: int
    title: str
    pipeline_id: int
    stage_id: int
    stage: str
    status: Kind
    contact_id: int | None
    company_id: int | None
    amount: str = Field(description="A decimal number as text, two decimals.")
    currency: str = Field(description="ISO 4217.")
    expected_close_date: dt.date | None
    owner_id: int | None
    probability: int
    probability_manual: bool = Field(description="Set by hand; otherwise the stage's default.")
    lost_reason: str
    closed_at: dt.datetime | None = Field(description="When it was won or lost.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_stage(deal: Deal) -> str:
        return deal.stage.name

    @staticmethod
    def resolve_amount(deal: Deal) -> str:
        return f"{deal.amount:.2f}"


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None


class DealIn(StrictSchema):
    title: str | None = Field(None, description="Default with a contact: the contact's name.")
    pipeline_id: int | None = Field(None, ge=1, le=BIG)
    stage_id: int | None = Field(None, ge=1, le=BIG)
    contact_id: int | None = Field(None, ge=1, le=BIG)
    company_id: int | None = Field(None, ge=1, le=BIG)
    amount: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    currency: str | None = None
    expected_close_date: dt.date | None = None
    owner_id: int | None = Field(None, ge=1, le=BIG)
    probability: int | None = Field(
        None, ge=0, le=100, description="Set by hand; null follows the stage's default."
    )


class DealPatch(DealIn):
    pass


class MoveIn(StrictSchema):
    stage_id: int = Field(ge=1, le=BIG)
    reason: str = Field("", max_length=200, description="Required for a lost stage.")


class LoseIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=200)


class ReopenIn(StrictSchema):
    stage_id: int | None = Field(None, ge=1, le=BIG)


class ConvertIn(StrictSchema):
    pipeline_id: int | None = Field(None, ge=1, le=BIG)
    title: str | None = None
    amount: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    currency: str | None = None
    expected_close_date: dt.date | None = None
    owner_id: int | None = Field(None, ge=1, le=BIG)


class DealFilters(Schema):
    pipeline_id: int | None = Field(None, ge=1, le=BIG)
    stage_id: int | None = Field(None, ge=1, le=BIG)
    owner_id: int | None = Field(None, ge=1, le=BIG)
    status: Kind | None = None
    close_month: str | None = Field(None, description="YYYY-MM")
    contact_id: int | None = Field(None, ge=1, le=BIG)
    q: str | None = Field(None, max_length=100, description="Words of the title.")
    sort: Literal[
        "-created_at", "created_at", "expected_close_date", "-expected_close_date",
        "-amount", "amount", "-updated_at",
    ] = "-created_at"  # fmt: skip
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class ForecastRow(Schema):
    currency: str
    deals: int
    total: str = Field(description="Unweighted amount.")
    weighted: str = Field(description="Sum of amount x probability / 100.")


class MonthRow(ForecastRow):
    month: dt.date | None = Field(description="First day of the expected close month.")


class OwnerRow(ForecastRow):
    owner_id: int | None


class FlowRow(Schema):
    stage_id: int
    stage: str
    entered: int
    advanced: int = Field(description="Of those, deals that reached a later open or won stage.")
    conversion: float | None
    average_days: float | None = Field(description="Average time spent in it (left stays).")


class ClosedRow(Schema):
    status: Literal["won", "lost"]
    currency: str
    deals: int
    total: str


class ReasonRow(Schema):
    reason: str
    deals: int


class ForecastOut(Schema):
    pipeline_id: int
    by_month: list[MonthRow]
    by_owner: list[OwnerRow]
    stages: list[FlowRow]
    closed: list[ClosedRow]
    lost_reasons: list[ReasonRow]


class DealSettingsOut(Schema):
    currency: str = Field(description="Empty: the server's LEADFLOW_DEFAULT_CURRENCY.")
    default_currency: str
    lost_reasons: list[str]
    nurture_when_all_lost: bool


class DealSettingsPatch(StrictSchema):
    currency: str | None = None
    lost_reasons: list[str] | None = None
    nurture_when_all_lost: bool | None = None


def _deal_json(deal: Deal, status: int) -> HttpResponse:
    return json_response(DealOut.from_orm(deal).dict(), status=status)


def _set(payload: Schema) -> dict[str, Any]:
    return payload.dict(exclude_unset=True)


# --- pipelines and stages -----------------------------------------------------------------


@router.get("/pipelines", response=list[PipelineOut], summary="The pipelines and their stages")
def pipeline_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    services.pipeline_default_ensure(workspace)
    return list(selectors.pipeline_list(workspace))


@router.post("/pipelines", response={201: PipelineOut}, summary="Add a pipeline")
def pipeline_create(request: HttpRequest, payload: PipelineIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    values = _set(payload)
    if values.get("stages") is not None:
        values["stages"] = [
            {k: v for k, v in stage.items() if k != "position"} for stage in values["stages"]
        ]

    def produce() -> HttpResponse:
        pipeline = services.pipeline_create(workspace=workspace, actor=actor, values=values)
        return json_response(PipelineOut.from_orm(pipeline).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, summary="One pipeline")
def pipeline_get(request: HttpRequest, pipeline_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return selectors.pipeline_get(workspace, pipeline_id)


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut, summary="Rename or move a pipeline")
def pipeline_update(
    request: HttpRequest, payload: PipelinePatch, pipeline_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.pipeline_update(
        workspace=workspace, actor=actor, pipeline_id=pipeline_id, values=_set(payload)
    )


@router.delete("/pipelines/{pipeline_id}", response={204: None}, summary="Delete a pipeline")
def pipeline_delete(request: HttpRequest, pipeline_id: int = Path(..., ge=1, le=BIG)):
    """409 while it has deals, or when it is the workspace's only pipeline."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.pipeline_delete(workspace=workspace, actor=actor, pipeline_id=pipeline_id)
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut}, summary="Add a stage")
def stage_create(
    request: HttpRequest, payload: StageIn, pipeline_id: int = Path(..., ge=1, le=BIG)
):
    """Default position: before the first won or lost stage (an open stage), else last."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)

    def produce() -> HttpResponse:
        stage = services.stage_create(
            workspace=workspace, actor=actor, pipeline_id=pipeline_id, values=_set(payload)
        )
        return json_response(StageOut.from_orm(stage).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.post(
    "/pipelines/{pipeline_id}/reorder", response=PipelineOut, summary="Put the stages in order"
)
def stage_reorder(
    request: HttpRequest, payload: ReorderIn, pipeline_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.stage_reorder(
        workspace=workspace, actor=actor, pipeline_id=pipeline_id, stage_ids=payload.stage_ids
    )


@router.patch("/stages/{stage_id}", response=StageOut, summary="Change a stage")
def stage_update(
    request: HttpRequest, payload: StagePatch, stage_id: int = Path(..., ge=1, le=BIG)
):
    """A new default probability applies to the open deals that follow the default."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.stage_update(
        workspace=workspace, actor=actor, stage_id=stage_id, values=_set(payload)
    )


@router.delete("/stages/{stage_id}", response={204: None}, summary="Delete a stage")
def stage_delete(
    request: HttpRequest,
    stage_id: int = Path(..., ge=1, le=BIG),
    move_to_stage_id: int | None = Query(None, ge=1, le=BIG),
):
    """A stage holding deals needs ``move_to_stage_id`` (same pipeline and kind), else 409."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.stage_delete(
        workspace=workspace, actor=actor, stage_id=stage_id, move_to_stage_id=move_to_stage_id
    )
    return Status(204, None)


@router.get("/deal-settings", response=DealSettingsOut, summary="The deal settings")
def deal_settings_get(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return services.deal_settings_get(workspace)


@router.patch("/deal-settings", response=DealSettingsOut, summary="Change the deal settings")
def deal_settings_update(request: HttpRequest, payload: DealSettingsPatch):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.deal_settings_update(workspace=workspace, actor=actor, values=_set(payload))


# --- deals ------------------------------------------------------------------------------------


@router.get("/deals", response=DealPage, summary="List deals")
def deal_list(request: HttpRequest, filters: Query[DealFilters]):
    """Filter and page through deals (keyset: pass ``next_cursor`` as ``cursor``)."""
    workspace, actor = require_scope(request, READ)
    known = set(DealFilters.model_fields)
    if unknown := [key for key in request.GET if key not in known]:
        raise ValidationFailed([FieldError(key, "Unknown parameter.") for key in unknown])
    params = filters.dict()
    deals = selectors.deal_list(
        workspace,
        actor,
        {
            "pipeline": params["pipeline_id"],
            "stage": params["stage_id"],
            "owner": params["owner_id"],
            "status": params["status"],
            "close_month": params["close_month"],
            "contact": params["contact_id"],
            "q": params["q"],
        },
    )
    page = cursor_paginate(
        deals, sort=params["sort"], cursor=params["cursor"], limit=params["limit"]
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/deals", response={201: DealOut}, summary="Create a deal")
def deal_create(request: HttpRequest, payload: DealIn):
    """Defaults: the default pipeline's first open stage, the contact's company and owner,
    the workspace's currency, the stage's probability. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        deal = services.deal_create(workspace=workspace, actor=actor, values=_set(payload))
        return _deal_json(deal, 201)

    return idempotent(request, workspace, produce)


@router.get("/deals/forecast", response=ForecastOut, summary="The forecast of a pipeline")
def deal_forecast(
    request: HttpRequest,
    pipeline_id: int | None = Query(None, ge=1, le=BIG),
    closed_since: dt.date | None = CLOSED_SINCE,
):
    """Weighted pipeline by expected close month and owner (per currency), conversion and
    average days per open stage, won and lost deals and the lost reasons."""
    workspace, actor = require_scope(request, READ)
    pipeline = (
        selectors.pipeline_get(workspace, pipeline_id)
        if pipeline_id
        else services.pipeline_default_ensure(workspace)
    )
    result = selectors.forecast(workspace, actor, pipeline=pipeline, closed_since=closed_since)

    def money(rows: list[dict], *keys: str) -> list[dict]:
        return [{**row, **{key: f"{row[key]:.2f}" for key in keys}} for row in rows]

    return {
        "pipeline_id": pipeline.pk,
        "by_month": money(result.weighted_by_month, "total", "weighted"),
        "by_owner": money(result.weighted_by_owner, "total", "weighted"),
        "stages": [
            {
                "stage_id": flow.stage.pk,
                "stage": flow.stage.name,
                "entered": flow.entered,
                "advanced": flow.advanced,
                "conversion": flow.conversion,
                "average_days": flow.average_days,
            }
            for flow in result.flows
        ],
        "closed": money(result.closed, "total"),
        "lost_reasons": [
            {"reason": row["lost_reason"], "deals": row["deals"]} for row in result.lost_reasons
        ],
    }


@router.get("/deals/{deal_id}", response=DealOut, summary="One deal")
def deal_get(request: HttpRequest, deal_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, READ)
    return selectors.deal_get(workspace, actor, deal_id)


@router.patch("/deals/{deal_id}", response=DealOut, summary="Change a deal")
def deal_update(request: HttpRequest, payload: DealPatch, deal_id: int = Path(..., ge=1, le=BIG)):
    """Only the fields given change; ``probability: null`` follows the stage again."""
    workspace, actor = require_scope(request, WRITE)
    return services.deal_update(
        workspace=workspace, actor=actor, deal_id=deal_id, values=_set(payload)
    )


@router.delete("/deals/{deal_id}", response={204: None}, summary="Delete a deal")
def deal_delete(request: HttpRequest, deal_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, WRITE)
    services.deal_delete(workspace=workspace, actor=actor, deal_id=deal_id)
    return Status(204, None)


@router.post("/deals/{deal_id}/move", response=DealOut, summary="Move a deal to a stage")
def deal_move(request: HttpRequest, payload: MoveIn, deal_id: int = Path(..., ge=1, le=BIG)):
    """A won stage wins the deal; a lost stage loses it and needs ``reason``."""
    workspace, actor = require_scope(request, WRITE)
    return services.deal_move_stage(
        workspace=workspace,
        actor=actor,
        deal_id=deal_id,
        stage_id=payload.stage_id,
        reason=payload.reason,
    )


@router.post("/deals/{deal_id}/win", response=DealOut, summary="Win a deal")
def deal_win(request: HttpRequest, deal_id: int = Path(..., ge=1, le=BIG)):
    """Its contact becomes a customer."""
    workspace, actor = require_scope(request, WRITE)
    return services.deal_win(workspace=workspace, actor=actor, deal_id=deal_id)


@router.post("/deals/{deal_id}/lose", response=DealOut, summary="Lose a deal, with a reason")
def deal_lose(request: HttpRequest, payload: LoseIn, deal_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, WRITE)
    return services.deal_lose(
        workspace=workspace, actor=actor, deal_id=deal_id, reason=payload.reason
    )


@router.post("/deals/{deal_id}/reopen", response=DealOut, summary="Reopen a won or lost deal")
def deal_reopen(request: HttpRequest, payload: ReopenIn, deal_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, WRITE)
    return services.deal_reopen(
        workspace=workspace, actor=actor, deal_id=deal_id, stage_id=payload.stage_id
    )


@router.post(
    "/contacts/{contact_id}/convert-to-deal",
    response={201: DealOut},
    summary="Convert a lead to a deal",
)
def lead_convert(
    request: HttpRequest, payload: ConvertIn, contact_id: int = Path(..., ge=1, le=BIG)
):
    """A deal for the contact and the contact moved to opportunity, in one step (a
    customer stays a customer). Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        deal = services.lead_convert_to_deal(
            workspace=workspace, actor=actor, contact_id=contact_id, **_set(payload)
        )
        return _deal_json(deal, 201)

    return idempotent(request, workspace, produce)
