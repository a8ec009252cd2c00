"""The consent ledger over the API: a contact's consent (its status per purpose and the
full history) and recording a new row; the workspace's ledger as CSV; its purposes.

Scopes as the other contact routes: ``contacts:read`` to read, ``contacts:write`` to
record; the workspace's purposes with the settings scopes. A contact of another
workspace (or, for a sales member's key, not theirs) answers 404; bad input 422 naming
each field (``purpose``, ``status``, ...).
"""

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema

from leadflow.contacts import consent, selectors, services
from leadflow.contacts.models import DEFAULT_PURPOSES, ConsentSource
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.exports import csv_response
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["consent"])
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
SETTINGS_READ, SETTINGS_WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE

StatusValue = Literal["granted", "confirmed", "withdrawn", "denied"]


class ConsentEntryOut(Schema):
    id: int
    purpose: str
    status: str
    text: str
    version: str
    source: str
    source_ref: str
    note: str
    recorded_at: dt.datetime
    ip: str | None
    recorded_by: str = Field(description="Who recorded it (a member, a key, the system).")


class PurposeStatusOut(Schema):
    purpose: str
    label: str
    status: str = Field(description="The latest row's status; unknown without one.")
    since: dt.datetime | None


class ConsentOut(Schema):
    contact_id: int
    consent_status: str = Field(description="The marketing-email summary (derived).")
    purposes: list[PurposeStatusOut]
    history: list[ConsentEntryOut] = Field(description="Every row, newest first.")


class ConsentIn(StrictSchema):
    purpose: str = Field(max_length=50, description="marketing_email, newsletter, sms, ...")
    status: StatusValue
    text: str = Field("", max_length=10_000, description="The exact text the person saw.")
    version: str = Field("", max_length=64)
    source_ref: str = Field("", max_length=200, description="Your reference (a call, a form).")
    note: str = Field("", max_length=500)
    ip: str | None = Field(None, max_length=45, description="The address it came from.")


ENTRY_FIELDS = ("id", "purpose", "status", "text", "version", "source", "source_ref", "note", "ip")


class PurposeOut(Schema):
    key: str
    label: str
    default: bool = Field(description="One of the purposes every workspace has.")


class PurposeIn(StrictSchema):
    key: str = Field(max_length=50, description="Lower-case letters, digits, underscores.")
    label: str = Field(max_length=100)


def _consent(workspace, contact) -> dict:
    purposes = consent.consent_current(workspace.pk, contact.pk)
    history = consent.consent_history(workspace.pk, contact.pk)
    return {
        "contact_id": contact.pk,
        "consent_status": contact.consent_status,
        "purposes": [
            {
                "purpose": item["purpose"],
                "label": item["label"],
                "status": item["status"],
                "since": item["entry"].recorded_at.isoformat() if item["entry"] else None,
            }
            for item in purposes
        ],
        "history": [
            {
                **{name: getattr(entry, name) for name in ENTRY_FIELDS},
                "recorded_at": entry.recorded_at.isoformat(),
                "recorded_by": entry.actor_label,
            }
            for entry in history
        ],
    }


@router.get(
    "/contacts/{contact_id}/consent",
    response=ConsentOut,
    summary="The contact's consent: status per purpose and the full ledger",
)
def contact_consent(request, contact_id: int):
    workspace, actor = require_scope(request, READ)
    contact = selectors.contact_get(workspace, actor, contact_id)
    return _consent(workspace, contact)


@router.post(
    "/contacts/{contact_id}/consent",
    response={201: ConsentOut},
    summary="Record a consent event (a row of the ledger) for the contact",
)
def contact_consent_record(request, contact_id: int, payload: ConsentIn):
    """Appends one row (source "api"); the contact's status for the purpose becomes it.
    Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        contact = selectors.contact_get(workspace, actor, contact_id)
        given = services.consent_given_clean(workspace, payload.dict(), source=ConsentSource.API)
        services.consent_record(workspace=workspace, contact=contact, given=given, actor=actor)
        return json_response(_consent(workspace, contact), status=201)

    return idempotent(request, workspace, produce)


@router.get(
    "/consent/export.csv",
    response={200: None},
    summary="The workspace's consent ledger as CSV (every row, oldest first)",
)
def consent_export(request):
    """A key acting for a sales member who sees only own leads exports only theirs."""
    workspace, actor = require_scope(request, READ)
    visible = None
    if actor.sees_only_own_leads:
        visible = selectors.contacts_visible(workspace, actor).values("pk")
    rows = consent.consent_export_rows(workspace.pk, contact_ids=visible)
    return csv_response(rows, "consent-ledger.csv")


@router.get(
    "/consent/purposes",
    response=list[PurposeOut],
    summary="The workspace's consent purposes: the defaults and its own",
)
def consent_purpose_list(request):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return [
        {"key": key, "label": label, "default": key in DEFAULT_PURPOSES}
        for key, label in consent.consent_purposes(workspace.pk).items()
    ]


@router.post(
    "/consent/purposes",
    response={201: PurposeOut},
    summary="Add a consent purpose of the workspace's own",
)
def consent_purpose_create(request, payload: PurposeIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)

    def produce() -> HttpResponse:
        purpose = services.consent_purpose_create(
            workspace=workspace, key=payload.key, label=payload.label, actor=actor
        )
        body = {"key": purpose.key, "label": purpose.label, "default": False}
        return json_response(body, status=201)

    return idempotent(request, workspace, produce)
