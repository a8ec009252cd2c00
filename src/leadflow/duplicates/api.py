"""REST endpoints of the duplicate finder (/api/v1/duplicates): the pairs to review, paged
by cursor over any number of them, deciding on one (merge, dismiss), a whole-workspace
scan, and the automatic-merge setting."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.duplicates import selectors, services
from leadflow.duplicates.model import REASON_BITS

router = Router(tags=["duplicates"])
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
SETTINGS_READ, SETTINGS_WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE


class PairContact(Schema):
    id: int
    email: str | None
    first_name: str
    last_name: str


class PairOut(Schema):
    id: int
    contact_id: int
    other_id: int
    probability: float = Field(description="The model's probability that both are one person.")
    reasons: str = Field(description="The evidence in words, strongest first.")
    levels: dict[str, int] = Field(
        description="Per comparison, the agreement level (0 = different, higher = closer, "
        "-1 = a value is missing)."
    )
    status: Literal["open", "dismissed"]
    found_by: Literal["change", "import", "scan"]
    created_at: dt.datetime
    scored_at: dt.datetime
    contact: PairContact
    other: PairContact


class PairPage(Schema):
    items: list[PairOut]
    next_cursor: str | None


class PairFilters(Schema):
    min_probability: float | None = Field(None, ge=0, le=1)
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    reason: str | None = Field(
        None, description="A comparison that agrees strongly: " + ", ".join(sorted(REASON_BITS))
    )
    source: str | None = Field(None, description="Either contact's first-touch source.")
    status: Literal["open", "dismissed"] = "open"
    cursor: str | None = None
    limit: int = Field(100, ge=1, le=500)


class PairMergeIn(StrictSchema):
    primary_id: int | None = Field(
        None, description="The contact that stays (one of the pair); default: the older one."
    )
    choices: dict[str, Literal["primary", "secondary"]] = Field(
        default_factory=dict,
        description="Per field, which side wins; otherwise the merge defaults (the furthest "
        "stage, the strongest consent, a value over an empty one).",
    )


class PairMergeOut(Schema):
    contact_id: int = Field(description="The contact that stayed.")


class ScanOut(Schema):
    queued: bool = Field(description="False when a scan was waiting already (it will run).")


class SettingsIn(StrictSchema):
    auto_merge: bool
    auto_merge_threshold: float = Field(0.99, ge=0, le=1)


class SettingsOut(Schema):
    auto_merge: bool
    auto_merge_threshold: float
    fitted_at: dt.datetime | None
    scan_queued_at: dt.datetime | None
    scan_started_at: dt.datetime | None
    scan_finished_at: dt.datetime | None
    scan_pairs: int | None


@router.get("/duplicates", response=PairPage, summary="Possible duplicates, most likely first")
def pair_list(request: HttpRequest, filters: Query[PairFilters]):
    """Pages are keyset-based: pass ``next_cursor`` as ``cursor`` for the next page."""
    workspace, actor = require_scope(request, READ)
    reason_bit = None
    if filters.reason is not None:
        if filters.reason not in REASON_BITS:
            raise ValidationFailed(
                [FieldError("reason", "Choose one of: " + ", ".join(sorted(REASON_BITS)) + ".")]
            )
        reason_bit = REASON_BITS[filters.reason]
    queryset = selectors.pair_list(
        workspace,
        actor,
        status=filters.status,
        min_probability=filters.min_probability,
        contact_id=filters.contact_id,
        reason_bit=reason_bit,
        source=filters.source,
    )
    page = cursor_paginate(
        queryset, sort="-probability", cursor=filters.cursor, limit=filters.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/duplicates/settings", response=SettingsOut, summary="The duplicate finder's settings")
def settings_get(request: HttpRequest):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return selectors.profile_get(workspace)


@router.put("/duplicates/settings", response=SettingsOut, summary="Set automatic merging")
def settings_put(request: HttpRequest, payload: SettingsIn):
    """Automatic merging is off by default; its threshold is at least 0.95. Every automatic
    merge is recorded (``GET /duplicates/decisions?automatic=true``)."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.profile_update(
        workspace=workspace,
        actor=actor,
        auto_merge=payload.auto_merge,
        auto_merge_threshold=payload.auto_merge_threshold,
    )


@router.post(
    "/duplicates/scan", response={202: ScanOut}, summary="Scan the whole workspace for duplicates"
)
def scan_start(request: HttpRequest):
    """Queues a scan of every contact (learning the model's weights again); pairs appear in
    ``GET /duplicates`` as it finishes."""
    workspace, actor = require_scope(request, WRITE)
    queued = services.scan_request(workspace=workspace, actor=actor)
    return Status(202, {"queued": queued})


@router.get("/duplicates/{pair_id}", response=PairOut, summary="One possible duplicate pair")
def pair_get(request: HttpRequest, pair_id: int):
    workspace, actor = require_scope(request, READ)
    return selectors.pair_get(workspace, actor, pair_id)


@router.post(
    "/duplicates/{pair_id}/dismiss", response=PairOut, summary="Not a duplicate (remembered)"
)
def pair_dismiss(request: HttpRequest, pair_id: int):
    """The pair never returns to the review list, and the model learns from it."""
    workspace, actor = require_scope(request, WRITE)
    services.pair_dismiss(workspace=workspace, pair_id=pair_id, actor=actor)
    return selectors.pair_get(workspace, actor, pair_id)


@router.post("/duplicates/{pair_id}/merge", response=PairMergeOut, summary="Merge the pair")
def pair_merge(request: HttpRequest, pair_id: int, payload: PairMergeIn):
    """Merges the two contacts (nothing is lost; see ``POST /contacts/{id}/merge``) and
    teaches the model that such pairs are one person."""
    workspace, actor = require_scope(request, WRITE)

    def produce():
        kept = services.pair_merge(
            workspace=workspace,
            pair_id=pair_id,
            actor=actor,
            primary_id=payload.primary_id,
            choices=payload.choices,
        )
        return json_response({"contact_id": kept}, status=200)

    return idempotent(request, workspace, produce)
