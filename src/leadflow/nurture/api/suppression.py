"""The suppression list and subscription topics over the API.

Suppressions use the contact scopes (``contacts:read`` / ``contacts:write``: they are about
people's addresses); topics the settings scopes. Addresses travel in request bodies, never
in the URL (a URL lands in access logs; the list keeps only hashes). Another workspace's
ids answer 404, unknown fields 422.
"""

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.nurture import selectors, services

router = Router(tags=["suppression list"])
topics_router = Router(tags=["subscription topics"])

ReasonValue = Literal[
    "unsubscribed", "hard_bounce", "complaint", "soft_bounces", "manual", "imported"
]


class SuppressionOut(Schema):
    id: int
    address_hash: str = Field(description="SHA-256 (hex) of the trimmed, lower-cased address.")
    reason: ReasonValue
    source: str
    note: str
    contact_id: int | None = Field(
        description="The contact it was found on, while that contact exists."
    )
    created_by: str
    created_at: dt.datetime


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    next_cursor: str | None


class SuppressionIn(StrictSchema):
    address: str = Field(
        max_length=254, description="An email address, or its SHA-256 in hex (64 digits)."
    )
    reason: ReasonValue = "manual"
    source: str = Field("API", max_length=100)
    note: str = Field("", max_length=200)


class AddressIn(StrictSchema):
    address: str = Field(max_length=254)


class CheckOut(Schema):
    suppressed: bool
    suppression: SuppressionOut | None


class TopicOut(Schema):
    id: int
    name: str
    description: str
    created_at: dt.datetime


class TopicCreate(StrictSchema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=300)


class TopicPatch(StrictSchema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=300)


def _out(row) -> dict:
    return SuppressionOut.from_orm(row).dict()


@router.get("/nurture/suppressions", response=SuppressionPage, summary="List suppressed addresses")
def suppression_list(
    request,
    reason: ReasonValue | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
):
    """Newest first, keyset-paginated (``next_cursor``)."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    rows = selectors.suppression_list(workspace, reason=reason)
    page = cursor_paginate(rows, sort="-created_at", cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/nurture/suppressions",
    response={200: SuppressionOut, 201: SuppressionOut},
    summary="Suppress an address",
)
def suppression_add(request, payload: SuppressionIn):
    """201 when the address is new to the list; 200 with the existing row (and its first
    reason) when it was already there."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)

    def produce() -> HttpResponse:
        added = services.suppression_add(
            workspace=workspace,
            address=payload.address,
            reason=payload.reason,
            source=payload.source,
            note=payload.note,
            actor=actor,
        )
        return json_response(_out(added.suppression), status=201 if added.created else 200)

    return idempotent(request, workspace, produce)


@router.post("/nurture/suppressions/check", response=CheckOut, summary="Check one address")
def suppression_check(request, payload: AddressIn):
    """Whether an address (or a SHA-256) is on the list. A POST so the address stays out
    of URLs and logs."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    row = selectors.suppression_by_address(workspace, payload.address)
    return {"suppressed": row is not None, "suppression": row}


@router.get(
    "/nurture/suppressions/counts",
    response=dict[str, int],
    summary="Suppressed addresses by reason",
)
def suppression_counts(request):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    return selectors.suppression_counts(workspace)


@router.get("/nurture/suppressions/{suppression_id}", response=SuppressionOut, summary="Get one")
def suppression_get(request, suppression_id: int):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    return selectors.suppression_get(workspace, suppression_id)


@router.delete(
    "/nurture/suppressions/{suppression_id}",
    response={204: None},
    summary="Take an address off the list (audited)",
)
def suppression_remove(request, suppression_id: int):
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)
    services.suppression_remove(workspace=workspace, suppression_id=suppression_id, actor=actor)
    return Status(204, None)


@topics_router.get("/nurture/topics", response=list[TopicOut], summary="List subscription topics")
def topic_list(request):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return list(selectors.topics_list(workspace))


@topics_router.post("/nurture/topics", response={201: TopicOut}, summary="Create a topic")
def topic_create(request, payload: TopicCreate):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)

    def produce() -> HttpResponse:
        topic = services.topic_create(workspace=workspace, data=payload.dict(), actor=actor)
        return json_response(TopicOut.from_orm(topic).dict(), status=201)

    return idempotent(request, workspace, produce)


@topics_router.get("/nurture/topics/{topic_id}", response=TopicOut, summary="Get a topic")
def topic_get(request, topic_id: int):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return selectors.topic_get(workspace, topic_id)


@topics_router.patch("/nurture/topics/{topic_id}", response=TopicOut, summary="Change a topic")
def topic_patch(request, topic_id: int, payload: TopicPatch):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    return services.topic_update(
        workspace=workspace,
        topic_id=topic_id,
        data=payload.dict(exclude_unset=True),
        actor=actor,
    )


@topics_router.delete(
    "/nurture/topics/{topic_id}", response={204: None}, summary="Delete a topic and its opt-outs"
)
def topic_delete(request, topic_id: int):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    services.topic_delete(workspace=workspace, topic_id=topic_id, actor=actor)
    return Status(204, None)
