"""Broadcasts over the REST API (/api/v1/nurture/broadcasts): reading needs
``contacts:read``, creating, scheduling and cancelling ``contacts:write``. Every bad field
is named in a 422; another workspace's broadcast answers 404."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import Conflict
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.nurture.models import BroadcastStatus
from leadflow.nurture.selectors import broadcasts as selectors
from leadflow.nurture.services import broadcasts as services

router = Router(tags=["nurture broadcasts"])
BIG = 2**63 - 1
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE


class VariantIn(StrictSchema):
    template_id: int = Field(ge=1, le=BIG)
    identity_id: int = Field(ge=1, le=BIG)
    subject: str = Field("", description="Instead of the template's (an A/B test on subject).")


class VariantOut(Schema):
    label: str
    message_id: int
    template_id: int
    identity_id: int
    subject: str
    sent: int
    clicks: int = Field(description="People who clicked a link in it.")
    click_rate: float


class BroadcastOut(Schema):
    id: int
    name: str
    segment_id: int
    status: Literal["draft", "scheduled", "testing", "sending", "cancelled"]
    send_at: dt.datetime | None
    ab_test: bool
    test_percent: int
    test_hours: int
    min_sample: int
    confidence: float
    undecided: Literal["control", "best"]
    audience: int
    winner: str | None
    decision: str
    started_at: dt.datetime | None
    decided_at: dt.datetime | None
    variants: list[VariantOut]


class BroadcastIn(StrictSchema):
    name: str
    segment_id: int = Field(ge=1, le=BIG)
    variants: list[VariantIn] = Field(min_length=1, max_length=4)
    send_at: dt.datetime | None = None
    test_percent: int = Field(20, description="Share of the audience in the test, all variants.")
    test_hours: int = 4
    min_sample: int = 100
    confidence: float = 0.95
    undecided: Literal["control", "best"] = "control"


class BroadcastPatch(StrictSchema):
    name: str | None = None
    segment_id: int | None = Field(None, ge=1, le=BIG)
    variants: list[VariantIn] | None = Field(None, min_length=1, max_length=4)
    send_at: dt.datetime | None = None
    test_percent: int | None = None
    test_hours: int | None = None
    min_sample: int | None = None
    confidence: float | None = None
    undecided: Literal["control", "best"] | None = None


class ScheduleIn(StrictSchema):
    send_at: dt.datetime | None = Field(None, description="Now when empty or past.")


def _out(broadcast) -> dict[str, Any]:
    results = services.variant_results(broadcast)
    return {
        "id": broadcast.pk,
        "name": broadcast.name,
        "segment_id": broadcast.segment_id,
        "status": broadcast.status,
        "send_at": broadcast.send_at,
        "ab_test": broadcast.ab_test,
        "test_percent": broadcast.test_percent,
        "test_hours": broadcast.test_hours,
        "min_sample": broadcast.min_sample,
        "confidence": broadcast.confidence,
        "undecided": broadcast.undecided,
        "audience": broadcast.audience,
        "winner": broadcast.winner.label if broadcast.winner_id else None,
        "decision": broadcast.decision,
        "started_at": broadcast.started_at,
        "decided_at": broadcast.decided_at,
        "variants": [
            {
                "label": row["variant"].label,
                "message_id": row["variant"].message_id,
                "template_id": row["variant"].message.template_id,
                "identity_id": row["variant"].message.identity_id,
                "subject": row["variant"].message.subject,
                "sent": row["sent"],
                "clicks": row["clicks"],
                "click_rate": round(row["rate"], 4),
            }
            for row in results
        ],
    }


def _values(payload) -> dict[str, Any]:
    values = payload.dict(exclude_unset=True)
    if "variants" in values and values["variants"] is not None:
        values["variants"] = [dict(variant) for variant in values["variants"]]
    return values


@router.get("/nurture/broadcasts", response=list[BroadcastOut], summary="Broadcasts, newest first")
def broadcast_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return [_out(broadcast) for broadcast in selectors.broadcast_list(workspace)[:200]]


@router.post("/nurture/broadcasts", response={201: BroadcastOut}, summary="Create a broadcast")
def broadcast_create(request: HttpRequest, payload: BroadcastIn):
    """A draft; two to four variants make it an A/B test. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce():
        broadcast = services.broadcast_create(
            workspace=workspace, actor=actor, values=_values(payload)
        )
        return json_response(_out(broadcast), status=201)

    return idempotent(request, workspace, produce)


@router.get("/nurture/broadcasts/{broadcast_id}", response=BroadcastOut, summary="One broadcast")
def broadcast_get(request: HttpRequest, broadcast_id: int = Path(..., ge=1, le=BIG)):
    """With each variant's sent and unique clicks, and the A/B decision when made."""
    workspace, _ = require_scope(request, READ)
    return _out(selectors.broadcast_get(workspace, broadcast_id))


@router.patch(
    "/nurture/broadcasts/{broadcast_id}", response=BroadcastOut, summary="Change a broadcast"
)
def broadcast_update(
    request: HttpRequest, payload: BroadcastPatch, broadcast_id: int = Path(..., ge=1, le=BIG)
):
    """Before it starts only (409 after)."""
    workspace, actor = require_scope(request, WRITE)
    broadcast = services.broadcast_update(
        workspace=workspace, actor=actor, broadcast_id=broadcast_id, values=_values(payload)
    )
    return _out(broadcast)


@router.post(
    "/nurture/broadcasts/{broadcast_id}/schedule", response=BroadcastOut, summary="Schedule it"
)
def broadcast_schedule(
    request: HttpRequest, payload: ScheduleIn, broadcast_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, WRITE)
    broadcast = services.broadcast_schedule(
        workspace=workspace, actor=actor, broadcast_id=broadcast_id, send_at=payload.send_at
    )
    return _out(broadcast)


@router.post(
    "/nurture/broadcasts/{broadcast_id}/cancel", response=BroadcastOut, summary="Cancel it"
)
def broadcast_cancel(request: HttpRequest, broadcast_id: int = Path(..., ge=1, le=BIG)):
    """What is still queued is skipped; an A/B test's rest get nothing."""
    workspace, actor = require_scope(request, WRITE)
    broadcast = services.broadcast_cancel(
        workspace=workspace, actor=actor, broadcast_id=broadcast_id
    )
    return _out(broadcast)


@router.delete("/nurture/broadcasts/{broadcast_id}", response={204: None}, summary="Delete a draft")
def broadcast_delete(request: HttpRequest, broadcast_id: int = Path(..., ge=1, le=BIG)):
    """Only a draft or a scheduled one (409 once it started: cancel it instead)."""
    workspace, actor = require_scope(request, WRITE)
    broadcast = selectors.broadcast_get(workspace, broadcast_id)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise Conflict("This broadcast has started: cancel it instead.")
    services.broadcast_delete(workspace=workspace, actor=actor, broadcast_id=broadcast.pk)
    return Status(204, None)
