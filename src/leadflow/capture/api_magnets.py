"""REST endpoints for lead magnets (/api/v1/capture/magnets): make and change them, upload
a file or a pool of codes, read their figures, redeem a lead's code."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, File, Router, Schema, Status, UploadedFile

from leadflow.capture import magnets, selectors
from leadflow.capture.models import Magnet
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["lead magnets"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE


class MagnetOut(Schema):
    id: int
    key: str = Field(description="The public key in the magnet's download links.")
    name: str
    kind: str = Field(description="file, url, code or seat")
    description: str
    active: bool
    file_name: str
    file_size: int
    content_type: str
    url: str
    code_pattern: str = Field(description="# a digit, X a letter or digit; empty: the pool")
    single_use: bool
    capacity: int | None
    seats_taken: int
    event_at: dt.datetime | None
    link_days: int
    max_downloads: int | None
    granted: int = Field(0, description="Leads who earned it")
    delivered: int = Field(0, description="Leads it was emailed to")
    downloaded: int = Field(0, description="Leads who used their link")
    downloads: int = Field(0, description="Uses of links in all")
    codes_left: int = Field(0, description="Free codes in the pool")
    waiting: int = Field(0, description="Leads on the waiting list")
    created_at: dt.datetime
    updated_at: dt.datetime


class MagnetIn(StrictSchema):
    name: str | None = None
    kind: Literal["file", "url", "code", "seat"] | None = None
    description: str | None = None
    active: bool | None = None
    url: str | None = None
    code_pattern: str | None = None
    single_use: bool | None = None
    capacity: int | None = Field(None, description="Seats; null: no limit")
    event_at: dt.datetime | None = None
    link_days: int | None = Field(None, description="Days a link works (1–365; 7)")
    max_downloads: int | None = Field(None, description="Uses per link; null: no limit")


class CodesIn(StrictSchema):
    codes: list[str] = Field(description="Codes to add to the pool (known ones are skipped)")


class CodesAdded(Schema):
    added: int
    skipped: int


class RedeemIn(StrictSchema):
    code: str


class SeatReleaseIn(StrictSchema):
    contact_id: int = Field(description="The lead whose seat is released")


class RedeemOut(Schema):
    contact_id: int
    code: str
    redemptions: int
    redeemed_at: dt.datetime | None


def _out(workspace, magnet_id: int) -> Magnet:
    return selectors.magnet_get(workspace, magnet_id)


def _data(payload: MagnetIn) -> dict[str, Any]:
    return payload.dict(exclude_unset=True)


@router.post("/capture/magnets", response={201: MagnetOut}, summary="Create a lead magnet")
def magnet_create(request, payload: MagnetIn):
    """A file magnet is made inactive; upload its file (``POST …/file``), then switch it on."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        magnet = magnets.magnet_create(workspace=workspace, data=_data(payload), actor=actor)
        return json_response(MagnetOut.from_orm(_out(workspace, magnet.pk)).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/capture/magnets", response=list[MagnetOut], summary="List lead magnets")
def magnet_list(request):
    workspace, _ = require_scope(request, READ)
    return list(selectors.magnet_list(workspace)[:500])


@router.get("/capture/magnets/{magnet_id}", response=MagnetOut, summary="Get a lead magnet")
def magnet_get(request, magnet_id: int):
    workspace, _ = require_scope(request, READ)
    return _out(workspace, magnet_id)


@router.patch("/capture/magnets/{magnet_id}", response=MagnetOut, summary="Change a magnet")
def magnet_patch(request, magnet_id: int, payload: MagnetIn):
    """A larger ``capacity`` seats the waiting list in arrival order (each lead is emailed)."""
    workspace, actor = require_scope(request, WRITE)
    magnets.magnet_update(
        workspace=workspace,
        magnet_id=magnet_id,
        data=_data(payload),
        actor=actor,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return _out(workspace, magnet_id)


@router.post(
    "/capture/magnets/{magnet_id}/seats/release",
    response=MagnetOut,
    summary="Release a lead's seat at an event",
)
def magnet_seat_release(request, magnet_id: int, payload: SeatReleaseIn):
    """The lead's seat is released (``released``) and goes at once to the first lead on the
    waiting list, who is emailed. 404 for a magnet that is not an event of this workspace or
    a lead without its grant; 409 when the lead holds no seat (released already, waiting)."""
    workspace, actor = require_scope(request, WRITE)
    magnets.magnet_seat_release(
        workspace=workspace,
        magnet_id=magnet_id,
        contact_id=payload.contact_id,
        actor=actor,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return _out(workspace, magnet_id)


@router.delete("/capture/magnets/{magnet_id}", response={204: None}, summary="Delete a magnet")
def magnet_delete(request, magnet_id: int):
    workspace, actor = require_scope(request, WRITE)
    magnets.magnet_delete(workspace=workspace, magnet_id=magnet_id, actor=actor)
    return Status(204, None)


@router.post(
    "/capture/magnets/{magnet_id}/file", response=MagnetOut, summary="Upload a magnet's file"
)
def magnet_file(request, magnet_id: int, file: File[UploadedFile]):
    """Multipart ``file``: PDF, ZIP, a video (MP4, WebM, MOV) or an office document, up to
    LEADFLOW_MAGNET_MAX_BYTES; it replaces the magnet's file."""
    workspace, actor = require_scope(request, WRITE)
    unknown = sorted(set(request.POST)) + sorted(set(request.FILES) - {"file"})
    if unknown:
        raise ValidationFailed([FieldError(name, "Unknown field.") for name in unknown])
    magnets.magnet_update(workspace=workspace, magnet_id=magnet_id, data={}, actor=actor, file=file)
    return _out(workspace, magnet_id)


@router.post(
    "/capture/magnets/{magnet_id}/codes",
    response=CodesAdded,
    summary="Add codes to a code magnet's pool",
)
def magnet_codes(request, magnet_id: int, payload: CodesIn):
    workspace, actor = require_scope(request, WRITE)
    added, skipped = magnets.magnet_codes_add(
        workspace=workspace, magnet_id=magnet_id, codes=payload.codes, actor=actor
    )
    return {"added": added, "skipped": skipped}


@router.post(
    "/capture/magnets/{magnet_id}/codes/redeem",
    response=RedeemOut,
    summary="Redeem a lead's code",
)
def magnet_code_redeem(request, magnet_id: int, payload: RedeemIn):
    """A checkout reports a code used: 404 when no lead has it, 409 when a single-use code
    was redeemed already."""
    workspace, _ = require_scope(request, WRITE)
    return magnets.magnet_code_redeem(workspace=workspace, magnet_id=magnet_id, code=payload.code)
