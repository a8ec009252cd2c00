"""REST endpoints for lead sources and their delivery logs (/api/v1/lead-sources).

Sources are settings (``settings:read`` / ``settings:write``). Deliveries hold the leads'
raw data, so listing them also needs ``contacts:read``; a replay writes contacts and needs
``contacts:write`` (forcing in an unverified delivery also needs ``settings:write``).
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.inbound import selectors, services
from leadflow.inbound.models import Delivery, LeadSource, webhook_url

router = Router(tags=["lead sources"])
READ, WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE

Format = Literal["facebook", "linkedin", "google", "generic"]
Stage = Literal[
    "", "subscriber", "lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"
]
DeliveryStatusValue = Literal["accepted", "rejected", "unverified", "needs_fetch", "duplicate"]


class MappingSchema(StrictSchema):
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Answer name (ready-made formats) or dotted JSON path (generic) → target: "
        "email, phone, first_name, last_name, full_name, job_title, company, country, tags, "
        "custom_fields.<key>; '' ignores a standard answer.",
    )
    lead_id: str | None = Field(None, description="Generic only: dotted path of the lead id.")
    attribution: dict[str, str] = Field(
        default_factory=dict,
        description="Generic only: campaign, ad, adset, form, medium → dotted path.",
    )


class LeadSourceOut(Schema):
    id: int
    name: str
    format: str
    webhook_url: str = Field(description="Where the sender posts leads.")
    secret: str = Field(
        description="Google key, X-LeadFlow-Signature / X-LeadFlow-Secret key, Meta verify token."
    )
    previous_secret_valid_until: dt.datetime | None
    app_secret_set: bool = Field(
        description="Whether the Meta app secret / LinkedIn client secret is set (never shown)."
    )
    mapping: dict[str, Any]
    default_tags: list[str]
    default_lifecycle_stage: str
    default_owner_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class LeadSourceIn(StrictSchema):
    name: str | None = None
    format: Format | None = Field(None, description="Required on create; fixed afterwards.")
    app_secret: str | None = Field(
        None, description="Meta app secret (Facebook) or client secret (LinkedIn)."
    )
    mapping: MappingSchema | None = None
    default_tags: list[str] | None = None
    default_lifecycle_stage: Stage | None = None
    default_owner_id: int | None = None
    is_active: bool | None = None


class LeadSourcePage(Schema):
    items: list[LeadSourceOut]


class DeliveryOut(Schema):
    id: int
    source_id: int
    received_at: dt.datetime
    last_attempt_at: dt.datetime
    status: str
    reasons: list[dict[str, str]]
    verified: bool
    external_lead_id: str | None
    is_test: bool
    contact_id: int | None
    attribution: dict[str, Any]
    headers: dict[str, str]
    body: str
    body_truncated: bool
    replay_count: int
    repeat_count: int
    ip: str | None


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayOut(Schema):
    result: str
    detail: str
    errors: list[dict[str, str]]
    delivery: DeliveryOut


def _out(request: HttpRequest, source: LeadSource) -> dict[str, Any]:
    return {
        "id": source.pk,
        "name": source.name,
        "format": source.format,
        "webhook_url": webhook_url(source, request.build_absolute_uri("/")),
        "secret": source.secret,
        "previous_secret_valid_until": source.previous_secret_expires_at
        if source.previous_secret in source.secrets_accepted()
        else None,
        "app_secret_set": bool(source.app_secret),
        "mapping": source.mapping,
        "default_tags": source.default_tags,
        "default_lifecycle_stage": source.default_lifecycle_stage,
        "default_owner_id": source.default_owner_id,
        "is_active": source.is_active,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
    }


def _data(payload: LeadSourceIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    if isinstance(data.get("mapping"), dict):
        data["mapping"] = {key: value for key, value in data["mapping"].items() if value}
    return data


@router.post("/lead-sources", response={201: LeadSourceOut}, summary="Create a lead source")
def lead_source_create(request, payload: LeadSourceIn):
    workspace, actor = require_scope(request, WRITE)

    def produce():
        source = services.lead_source_create(workspace=workspace, data=_data(payload), actor=actor)
        return json_response(_out(request, source), status=201)

    return idempotent(request, workspace, produce)


@router.get("/lead-sources", response=LeadSourcePage, summary="List lead sources")
def lead_source_list(request):
    workspace, _ = require_scope(request, READ)
    return {"items": [_out(request, source) for source in selectors.source_list(workspace)]}


@router.get("/lead-sources/{source_id}", response=LeadSourceOut, summary="Get a lead source")
def lead_source_get(request, source_id: int):
    workspace, _ = require_scope(request, READ)
    return _out(request, selectors.source_get(workspace, source_id))


@router.patch("/lead-sources/{source_id}", response=LeadSourceOut, summary="Change a lead source")
def lead_source_patch(request, source_id: int, payload: LeadSourceIn):
    """Given settings change; ``mapping`` given replaces the whole mapping. Stored
    deliveries keep their outcome: replay them to apply a new mapping."""
    workspace, actor = require_scope(request, WRITE)
    source = services.lead_source_update(
        workspace=workspace, source_id=source_id, data=_data(payload), actor=actor
    )
    return _out(request, source)


@router.delete("/lead-sources/{source_id}", response={204: None}, summary="Delete a lead source")
def lead_source_delete(request, source_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.lead_source_delete(workspace=workspace, source_id=source_id, actor=actor)
    return Status(204, None)


@router.post(
    "/lead-sources/{source_id}/rotate-secret",
    response=LeadSourceOut,
    summary="Rotate a lead source's secret",
)
def lead_source_rotate_secret(request, source_id: int):
    """A new secret; the previous one keeps working for 24 hours."""
    workspace, actor = require_scope(request, WRITE)
    source = services.lead_source_rotate_secret(
        workspace=workspace, source_id=source_id, actor=actor
    )
    return _out(request, source)


@router.get(
    "/lead-sources/{source_id}/deliveries",
    response=DeliveryPage,
    summary="List a lead source's deliveries, newest first",
)
def delivery_list(
    request,
    source_id: int,
    status: DeliveryStatusValue | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    workspace, _ = require_scope(request, READ)
    require_scope(request, ApiScope.CONTACTS_READ)
    page = cursor_paginate(
        selectors.delivery_list(workspace, source_id, status=status),
        sort="-received_at",
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/lead-sources/{source_id}/deliveries/{delivery_id}",
    response=DeliveryOut,
    summary="Get one delivery",
)
def delivery_get(request, source_id: int, delivery_id: int) -> Delivery:
    workspace, _ = require_scope(request, READ)
    require_scope(request, ApiScope.CONTACTS_READ)
    return selectors.delivery_get(workspace, source_id, delivery_id)


@router.post(
    "/lead-sources/{source_id}/deliveries/{delivery_id}/replay",
    response=ReplayOut,
    summary="Replay a delivery through the current mapping",
)
def delivery_replay(
    request,
    source_id: int,
    delivery_id: int,
    force: bool = Query(
        False, description="Let an unverified delivery in (needs settings:write as well)."
    ),
):
    """Idempotent: an accepted delivery stays as it is; the lead is stored once. An
    unverified delivery is checked again with the current secrets, and otherwise needs
    ``force`` (and ``settings:write``)."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)
    outcome = services.delivery_replay(
        workspace=workspace,
        delivery_id=delivery_id,
        source_id=source_id,
        actor=actor,
        force=force,
    )
    return {
        "result": outcome.result,
        "detail": outcome.detail,
        "errors": [error.as_dict() for error in outcome.errors],
        "delivery": outcome.delivery,
    }
