"""Segments over the REST API (/api/v1/segments): reading needs ``contacts:read``, changing
segments and static lists' members ``contacts:write``. Conditions are the condition
language's JSON form (docs/conditions.md); every bad path is named in a 422. Another
workspace's segment answers 404."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.nurture.models import MemberSource
from leadflow.nurture.selectors import segments as selectors
from leadflow.nurture.services import segments as services

router = Router(tags=["segments"])
BIG = 2**63 - 1
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
CONDITIONS_HELP = (
    'A condition tree (docs/conditions.md), e.g. {"version": 1, "match": "all", '
    '"children": [{"field": "event.pageview", "operator": "at_least", "value": '
    '{"times": 3, "within_days": 30, "where": [{"property": "url", "operator": '
    '"contains", "value": "/pricing"}]}}]}. Empty for a static list.'
)


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: Literal["dynamic", "static"]
    conditions: dict[str, Any]
    member_count: int = Field(description="Members now (rows kept by the refresh).")
    created_at: dt.datetime
    updated_at: dt.datetime
    refreshed_at: dt.datetime | None = Field(description="The last whole-segment refresh.")


class SegmentIn(StrictSchema):
    name: str
    description: str = ""
    kind: Literal["dynamic", "static"] = "dynamic"
    conditions: dict[str, Any] | None = Field(None, description=CONDITIONS_HELP)


class SegmentPatch(StrictSchema):
    name: str | None = None
    description: str | None = None
    conditions: dict[str, Any] | None = Field(None, description=CONDITIONS_HELP)


class CountIn(StrictSchema):
    conditions: dict[str, Any] = Field(description=CONDITIONS_HELP)


class CountOut(Schema):
    count: int
    capped: bool = Field(description="True: there are more than count (counting stops there).")


class MembersIn(StrictSchema):
    contact_ids: list[int] = Field(min_length=1, max_length=1000)
    source: Literal["manual", "api", "import", "form", "sequence"] = "api"


class MembersChanged(Schema):
    contact_ids: list[int] = Field(description="The contacts this call added (removed).")


class MemberOut(Schema):
    contact_id: int
    email: str | None
    first_name: str
    last_name: str
    entered_at: dt.datetime
    source: str


class MemberPage(Schema):
    items: list[MemberOut]
    next_cursor: str | None


class MemberFilters(StrictSchema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


def _out(segment, member_count: int | None = None) -> dict[str, Any]:
    count = getattr(segment, "member_count", None) if member_count is None else member_count
    if count is None:
        count = selectors.segment_member_count(segment)
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "kind": segment.kind,
        "conditions": segment.conditions or {},
        "member_count": count,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
        "refreshed_at": segment.refreshed_at,
    }


@router.get("/segments", response=list[SegmentOut], summary="The segments, by name")
def segment_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return [_out(segment) for segment in selectors.segment_list(workspace)]


@router.post("/segments", response={201: SegmentOut}, summary="Create a segment or a static list")
def segment_create(request: HttpRequest, payload: SegmentIn):
    """A dynamic segment's members are computed in the background at once and kept current
    from then on. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce():
        values = payload.dict()
        if values["conditions"] is None:
            values.pop("conditions")
        segment = services.segment_create(workspace=workspace, actor=actor, values=values)
        return json_response(_out(segment, 0), status=201)

    return idempotent(request, workspace, produce)


@router.post("/segments/count", response=CountOut, summary="Count the contacts a tree matches")
def conditions_count(request: HttpRequest, payload: CountIn):
    """Live, while a segment is edited: counted now, up to 10,000 (``capped`` above)."""
    workspace, _ = require_scope(request, READ)
    count, capped = selectors.conditions_count(workspace, payload.conditions)
    return {"count": count, "capped": capped}


@router.get("/segments/{segment_id}", response=SegmentOut, summary="One segment")
def segment_get(request: HttpRequest, segment_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return _out(selectors.segment_get(workspace, segment_id))


@router.patch("/segments/{segment_id}", response=SegmentOut, summary="Change a segment")
def segment_update(
    request: HttpRequest, payload: SegmentPatch, segment_id: int = Path(..., ge=1, le=BIG)
):
    """Only the fields given change; new conditions are applied in the background."""
    workspace, actor = require_scope(request, WRITE)
    segment = services.segment_update(
        workspace=workspace,
        actor=actor,
        segment_id=segment_id,
        values=payload.dict(exclude_unset=True),
    )
    return _out(segment)


@router.delete("/segments/{segment_id}", response={204: None}, summary="Delete a segment")
def segment_delete(request: HttpRequest, segment_id: int = Path(..., ge=1, le=BIG)):
    """409 while another segment's conditions read it."""
    workspace, actor = require_scope(request, WRITE)
    services.segment_delete(workspace=workspace, actor=actor, segment_id=segment_id)
    return Status(204, None)


@router.get("/segments/{segment_id}/count", response=CountOut, summary="Count a segment now")
def segment_count(request: HttpRequest, segment_id: int = Path(..., ge=1, le=BIG)):
    """A dynamic segment's conditions counted now (up to 10,000); a static list's members."""
    workspace, _ = require_scope(request, READ)
    segment = selectors.segment_get(workspace, segment_id)
    if segment.is_dynamic:
        count, capped = selectors.conditions_count(workspace, segment.conditions)
    else:
        count, capped = selectors.segment_member_count(segment), False
    return {"count": count, "capped": capped}


@router.get("/segments/{segment_id}/members", response=MemberPage, summary="A segment's members")
def segment_members(
    request: HttpRequest,
    filters: Query[MemberFilters],
    segment_id: int = Path(..., ge=1, le=BIG),
):
    """The latest to enter first; keyset pages: pass ``next_cursor`` as ``cursor``."""
    workspace, _ = require_scope(request, READ)
    segment = selectors.segment_get(workspace, segment_id)
    page = selectors.segment_members_page(
        workspace, segment, cursor=filters.cursor, limit=filters.limit
    )
    items = [
        {
            "contact_id": member.contact_id,
            "email": member.contact.email,
            "first_name": member.contact.first_name,
            "last_name": member.contact.last_name,
            "entered_at": member.entered_at,
            "source": member.source,
        }
        for member in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}


@router.post(
    "/segments/{segment_id}/members",
    response=MembersChanged,
    summary="Add contacts to a static list",
)
def members_add(
    request: HttpRequest, payload: MembersIn, segment_id: int = Path(..., ge=1, le=BIG)
):
    """Contacts of other workspaces and unknown ids are ignored; members already in stay.
    A dynamic segment answers 409."""
    workspace, actor = require_scope(request, WRITE)
    segment = selectors.segment_get(workspace, segment_id)
    added = services.segment_members_add(
        workspace=workspace,
        segment=segment,
        contact_ids=payload.contact_ids,
        actor=actor,
        source=MemberSource(payload.source),
    )
    return {"contact_ids": added}


@router.post(
    "/segments/{segment_id}/members/remove",
    response=MembersChanged,
    summary="Remove contacts from a static list",
)
def members_remove(
    request: HttpRequest, payload: MembersIn, segment_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, WRITE)
    segment = selectors.segment_get(workspace, segment_id)
    removed = services.segment_members_remove(
        workspace=workspace,
        segment=segment,
        contact_ids=payload.contact_ids,
        actor=actor,
        source=MemberSource(payload.source),
    )
    return {"contact_ids": removed}
