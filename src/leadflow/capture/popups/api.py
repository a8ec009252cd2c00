"""REST endpoints for pop-ups (/api/v1/capture/popups); the forms scopes cover them."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadflow.capture.popups import selectors, services
from leadflow.capture.popups.models import Popup
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["pop-ups"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE

Device = Literal["desktop", "tablet", "mobile"]


class TriggersIn(StrictSchema):
    """Any trigger given shows the pop-up (the first to fire); at least one is needed."""

    time_seconds: float | None = Field(None, description="Seconds on the page (0: at once)")
    scroll_percent: int | None = Field(None, description="Scrolled this share of the page (1-100)")
    exit_intent: bool = Field(False, description="Pointer leaves through the top (desktop)")
    inactivity_seconds: float | None = Field(None, description="Seconds without any input")
    click_selector: str = Field("", description="A click on an element matching this CSS selector")


class TargetingIn(StrictSchema):
    include: list[str] = Field(
        [], description="Page patterns (* is any text; /path... or a whole address); empty: all"
    )
    exclude: list[str] = Field([], description="Page patterns where it never shows")
    devices: list[Device] = ["desktop", "tablet", "mobile"]
    visitors: Literal["all", "new", "returning"] = "all"
    utm_source: list[str] = Field([], description="Patterns of the visit's utm_source")
    utm_medium: list[str] = []
    utm_campaign: list[str] = []
    channels: list[str] = Field([], description="Channels of the visit (paid_search, email, ...)")
    audience: Literal["everyone", "anonymous", "known"] = Field(
        "everyone",
        description="anonymous: only unidentified visitors; known: only identified visitors "
        "whose contact matches `conditions`; everyone: both (identified ones must match)",
    )
    conditions: dict[str, Any] | None = Field(
        None, description="A condition-language tree (docs/conditions.md) for identified visitors"
    )


class FrequencyIn(StrictSchema):
    once_per_session: bool = True
    every_days: int | None = Field(None, description="At most once in this many days")
    closed_days: int | None = Field(7, description="Not again for this many days after a close")
    stop_after_convert: bool = True


class PopupIn(StrictSchema):
    name: str | None = None
    status: Literal["active", "paused"] | None = None
    style: Literal["modal", "slide_in", "top_bar", "bottom_bar"] | None = None
    content: Literal["form", "notice", "link"] | None = None
    title: str | None = None
    body: str | None = None
    form_id: int | None = Field(None, description="The form shown (content form)")
    link_url: str | None = None
    link_label: str | None = None
    mobile_full: bool | None = Field(
        None, description="Show the full style on phones too (by default a small banner)"
    )
    triggers: TriggersIn | None = None
    targeting: TargetingIn | None = None
    frequency: FrequencyIn | None = None


class PopupOut(Schema):
    id: int
    name: str
    status: str
    style: str
    content: str
    title: str
    body: str
    form_id: int | None
    link_url: str
    link_label: str
    mobile_full: bool
    triggers: dict[str, Any]
    targeting: dict[str, Any]
    frequency: dict[str, Any]
    views: int
    closes: int
    conversions: int
    conversion_rate: float | None = Field(description="Conversions per view, in percent")
    created_at: dt.datetime
    updated_at: dt.datetime


class PopupPage(Schema):
    items: list[PopupOut]
    next_cursor: str | None


def _body(payload: PopupIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    for key in ("name", "status", "style", "content", "title", "mobile_full"):
        if data.get(key) is None:
            data.pop(key, None)
    return data


@router.post("/capture/popups", response={201: PopupOut}, summary="Create a pop-up")
def popup_create(request, payload: PopupIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        popup = services.popup_create(workspace=workspace, data=_body(payload), actor=actor)
        return json_response(PopupOut.from_orm(popup).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/capture/popups", response=PopupPage, summary="List pop-ups with their counts")
def popup_list(request, cursor: str | None = None, limit: int = Query(50, ge=1, le=200)):
    workspace, _ = require_scope(request, READ)
    page = cursor_paginate(
        selectors.popup_list(workspace), sort="-created_at", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/capture/popups/{popup_id}", response=PopupOut, summary="Get a pop-up")
def popup_get(request, popup_id: int) -> Popup:
    workspace, _ = require_scope(request, READ)
    return selectors.popup_get(workspace, popup_id)


@router.patch("/capture/popups/{popup_id}", response=PopupOut, summary="Change a pop-up")
def popup_patch(request, popup_id: int, payload: PopupIn):
    """Given settings change; a given ``triggers``, ``targeting`` or ``frequency`` replaces
    that whole group (what it leaves out takes the default)."""
    workspace, actor = require_scope(request, WRITE)
    return services.popup_update(
        workspace=workspace, popup_id=popup_id, data=_body(payload), actor=actor
    )


@router.delete("/capture/popups/{popup_id}", response={204: None}, summary="Delete a pop-up")
def popup_delete(request, popup_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.popup_delete(workspace=workspace, popup_id=popup_id, actor=actor)
    return Status(204, None)
