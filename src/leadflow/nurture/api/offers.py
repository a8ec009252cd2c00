"""Nurture over the API: personal offers. Offers are read with ``settings:read`` and made or
changed with ``settings:write``; giving a person their code and reporting a code used (a
conversion) need ``contacts:write``."""

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Router, Schema, Status

from leadflow.contacts.models import Contact
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.nurture.selectors.offers import offer_get, offer_list
from leadflow.nurture.services.offers import (
    offer_codes_add,
    offer_create,
    offer_for_contact,
    offer_issue,
    offer_redeem,
    offer_update,
)

router = Router(tags=["nurture"])
BIG = 2**63 - 1


class OfferOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    prefix: str
    interests: list[str]
    priority: int
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    valid_days: int | None
    active: bool
    issued: int = 0
    redeemed: int = 0
    waiting: int = Field(0, description="Pool codes not given to anyone yet.")


class OfferIn(StrictSchema):
    name: str
    description: str = ""
    kind: str = "generated"
    prefix: str = ""
    interests: list[str] = []
    priority: int = 0
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    valid_days: int | None = None
    active: bool = True


class OfferPatch(StrictSchema):
    name: str | None = None
    description: str | None = None
    kind: str | None = None
    prefix: str | None = None
    interests: list[str] | None = None
    priority: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    valid_days: int | None = None
    active: bool | None = None


class CodesIn(StrictSchema):
    codes: list[str]


class CodesOut(Schema):
    added: int
    skipped: int


class IssueIn(StrictSchema):
    contact_id: int = Field(..., ge=1, le=BIG)


class RedeemIn(StrictSchema):
    code: str = Field(..., min_length=1, max_length=80)
    reference: str = Field("", max_length=200)


class CodeOut(Schema):
    offer_id: int
    offer: str
    code: str
    contact_id: int | None
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    redeemed_at: dt.datetime | None
    reference: str


def _code_out(code) -> dict:
    return {
        "offer_id": code.offer_id,
        "offer": code.offer.name,
        "code": code.code,
        "contact_id": code.contact_id,
        "issued_at": code.issued_at,
        "expires_at": code.expires_at,
        "redeemed_at": code.redeemed_at,
        "reference": code.reference,
    }


NULLABLE = {"starts_at", "ends_at", "valid_days"}


@router.get("/nurture/offers", response=list[OfferOut], summary="The personal offers")
def offers_list(request: HttpRequest):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return list(offer_list(workspace))


@router.post("/nurture/offers", response={201: OfferOut}, summary="Make an offer")
def offers_create(request: HttpRequest, payload: OfferIn):
    """``kind``: ``generated`` (a unique code per person, ``prefix`` + 8 characters) or
    ``pool`` (codes you upload with ``POST /nurture/offers/{id}/codes``). ``interests``:
    tags or words; a person whose tags, form answers or pages visited match is offered it
    before offers that match less, and an offer without interests is for anyone."""
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    offer = offer_create(workspace=workspace, actor=actor, data=payload.dict())
    return Status(201, offer_get(workspace, offer.pk))


@router.get("/nurture/offers/{offer_id}", response=OfferOut, summary="One offer")
def offers_get(request: HttpRequest, offer_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return offer_get(workspace, offer_id)


@router.patch("/nurture/offers/{offer_id}", response=OfferOut, summary="Change an offer")
def offers_update(
    request: HttpRequest, payload: OfferPatch, offer_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    data = payload.dict(exclude_unset=True)
    nulls = [key for key, value in data.items() if value is None and key not in NULLABLE]
    if nulls:
        raise ValidationFailed([FieldError(key, "Cannot be null.") for key in nulls])
    offer_update(workspace=workspace, offer_id=offer_id, actor=actor, data=data)
    return offer_get(workspace, offer_id)


@router.post(
    "/nurture/offers/{offer_id}/codes", response=CodesOut, summary="Add codes to a pool offer"
)
def offers_codes_add(
    request: HttpRequest, payload: CodesIn, offer_id: int = Path(..., ge=1, le=BIG)
):
    """Up to 10,000 codes at a time; a code the workspace has already is skipped."""
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    added, skipped = offer_codes_add(
        workspace=workspace, offer_id=offer_id, actor=actor, codes=payload.codes
    )
    return {"added": added, "skipped": skipped}


def _contact(workspace, contact_id: int) -> Contact:
    found = Contact.objects.filter(workspace=workspace, pk=contact_id).first()
    if found is None:
        raise NotFound("No such contact in this workspace.")
    return found


@router.post(
    "/nurture/offers/{offer_id}/issue",
    response=CodeOut,
    summary="Give a person their code of an offer",
)
def offers_issue(request: HttpRequest, payload: IssueIn, offer_id: int = Path(..., ge=1, le=BIG)):
    """The person's code (the same one every time: a person has at most one code of an
    offer). A pool with no code left answers 409."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)
    offer = offer_get(workspace, offer_id)
    contact = _contact(workspace, payload.contact_id)
    code = offer_issue(offer=offer, contact=contact, now=timezone.now(), actor=actor)
    if code is None:
        raise Conflict("The offer's pool has no code left.")
    return _code_out(code)


@router.post(
    "/contacts/{contact_id}/offer",
    response={200: CodeOut, 204: None},
    summary="Give a person the offer that fits them best",
)
def contact_offer(request: HttpRequest, contact_id: int = Path(..., ge=1, le=BIG)):
    """Chooses among the open offers by the person's interests and gives them its code
    (theirs already if they have one); 204 when no offer fits."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)
    contact = _contact(workspace, contact_id)
    code = offer_for_contact(contact=contact, now=timezone.now(), actor=actor)
    if code is None:
        return Status(204, None)
    return _code_out(code)


@router.post("/nurture/redemptions", response=CodeOut, summary="Report a code used")
def offers_redeem(request: HttpRequest, payload: RedeemIn):
    """Marks a code given to a person as used (once) and records the conversion on their
    timeline. The same code with the same ``reference`` again answers 200 unchanged (a
    retried report); with another reference 409; an unknown code 404, an expired one 422."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)
    code = offer_redeem(
        workspace=workspace,
        code=payload.code,
        reference=payload.reference,
        now=timezone.now(),
        actor=actor,
    )
    return _code_out(code)
