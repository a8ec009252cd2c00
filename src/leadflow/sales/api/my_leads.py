"""The salesperson's queue over the API: a member's queue ("My leads", same order and
cursor pages as the app) and the queue's own actions on a lead: snooze, unsnooze, hand
back to routing, disqualify (scopes ``contacts:read`` / ``contacts:write``).

An API key is not a person: the queue and a snooze name the member (``user_id``), a
member of the workspace who may own leads (422 otherwise). Another workspace's contact ids
answer 404, unknown fields 422, a lead without owner handed back or a lead that is not
open disqualified 409.
"""

import datetime as dt
from typing import Any

from ninja import Field, Query, Router, Schema

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.sales import selectors, services

router = Router(tags=["my leads"])
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE


class NextFollowUpOut(Schema):
    id: int
    title: str
    kind: str
    due_at: dt.datetime


class ReasonOut(Schema):
    text: str
    effect: float = 0


class QueueLeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str | None
    company: str | None
    lifecycle_stage: str
    temperature: str
    engagement_score: float
    fit_grade: str
    conversion_probability: float | None
    created_at: dt.datetime
    first_touch_due_at: dt.datetime | None = Field(
        description="The running first-touch clock's deadline (null: none or touched)."
    )
    next_followup: NextFollowUpOut | None
    reasons: list[ReasonOut] = Field(description="The probability's strongest factors.")
    last_activities: list[dict[str, Any]]


class QueuePage(Schema):
    items: list[QueueLeadOut]
    next_cursor: str | None


class SnoozeIn(StrictSchema):
    user_id: int = Field(description="Whose queue the lead leaves: a member who may own leads.")
    until: dt.datetime = Field(description="ISO 8601 with an offset; in the future, within a year.")


class UnsnoozeIn(StrictSchema):
    user_id: int


class ReasonIn(StrictSchema):
    reason: str = Field(max_length=500)


class SnoozeOut(Schema):
    contact_id: int
    user_id: int
    until: dt.datetime


class UnsnoozeOut(Schema):
    contact_id: int
    ended: bool = Field(description="False: there was no running snooze (nothing changed).")


class HandBackOut(Schema):
    contact_id: int
    owner_id: int | None = Field(description="The owner routing chose (null: none yet).")
    assignment_id: int | None


class DisqualifyOut(Schema):
    contact_id: int
    lifecycle_stage: str


def _row(row) -> dict:
    contact = row.contact
    followup = row.next_followup
    return {
        "id": contact.pk,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "company": contact.company.name if contact.company else None,
        "lifecycle_stage": contact.lifecycle_stage,
        "temperature": contact.temperature,
        "engagement_score": contact.engagement_score,
        "fit_grade": contact.fit_grade,
        "conversion_probability": contact.conversion_probability,
        "created_at": contact.created_at,
        "first_touch_due_at": row.first_touch_due,
        "next_followup": (
            {
                "id": followup.pk,
                "title": followup.title,
                "kind": followup.kind,
                "due_at": followup.due_at,
            }
            if followup
            else None
        ),
        "reasons": [
            {"text": str(r.get("text")), "effect": float(r.get("effect") or 0)} for r in row.reasons
        ],
        "last_activities": [
            {"id": a.pk, "kind": a.kind, "occurred_at": a.occurred_at.isoformat()}
            for a in row.activities
        ],
    }


@router.get("/my-leads", response=QueuePage, summary="A member's queue of open leads")
def my_leads(
    request,
    user_id: int = Query(..., description="The member whose queue (a member who may own leads)."),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """The member's own open leads (lead, MQL, SQL, opportunity) not snoozed by them, hot
    first, then likeliest, then newest (as the app's "My leads")."""
    workspace, _ = require_scope(request, READ)
    if not is_member_id(workspace, user_id, permission=LEAD_OWNER_PERMISSION):
        raise ValidationFailed(
            [FieldError("user_id", "Not a member of this workspace who may own leads.")]
        )
    page = selectors.my_leads_page(
        selectors.my_leads(workspace, user_id), cursor=cursor, limit=limit
    )
    rows = selectors.my_leads_rows(workspace, page.items)
    return {"items": [_row(row) for row in rows], "next_cursor": page.next_cursor}


@router.post("/contacts/{contact_id}/snooze", response=SnoozeOut, summary="Snooze a lead")
def lead_snooze(request, contact_id: int, payload: SnoozeIn):
    workspace, actor = require_scope(request, WRITE)
    snooze = services.lead_snooze(
        workspace=workspace,
        contact_id=contact_id,
        user_id=payload.user_id,
        until=payload.until,
        actor=actor,
    )
    return {"contact_id": snooze.contact_id, "user_id": snooze.user_id, "until": snooze.until}


@router.post("/contacts/{contact_id}/unsnooze", response=UnsnoozeOut, summary="End a snooze")
def lead_unsnooze(request, contact_id: int, payload: UnsnoozeIn):
    workspace, actor = require_scope(request, WRITE)
    ended = services.lead_unsnooze(
        workspace=workspace, contact_id=contact_id, user_id=payload.user_id, actor=actor
    )
    return {"contact_id": contact_id, "ended": ended}


@router.post(
    "/contacts/{contact_id}/hand-back",
    response=HandBackOut,
    summary="Hand a lead back to routing",
)
def lead_hand_back(request, contact_id: int, payload: ReasonIn):
    workspace, actor = require_scope(request, WRITE)
    made = services.lead_hand_back(
        workspace=workspace, contact_id=contact_id, reason=payload.reason, actor=actor
    )
    return {
        "contact_id": contact_id,
        "owner_id": made.owner_id if made else None,
        "assignment_id": made.pk if made else None,
    }


@router.post(
    "/contacts/{contact_id}/disqualify", response=DisqualifyOut, summary="Disqualify a lead"
)
def lead_disqualify(request, contact_id: int, payload: ReasonIn):
    workspace, actor = require_scope(request, WRITE)
    contact = services.lead_disqualify(
        workspace=workspace, contact_id=contact_id, reason=payload.reason, actor=actor
    )
    return {"contact_id": contact.pk, "lifecycle_stage": contact.lifecycle_stage}
