"""Sales' hand-off of MQLs over the API: accept (the contact becomes an SQL) or reject with
a reason (back to nurture). Both need ``contacts:write``; a contact the key cannot reach
(another workspace's) is a 404; a contact that is not an MQL is a 409."""

import datetime as dt

from ninja import Router, Schema

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.scoring import services

router = Router(tags=["contacts"])
WRITE = ApiScope.CONTACTS_WRITE


class AcceptIn(StrictSchema):
    reason: str | None = None


class RejectIn(StrictSchema):
    reason: str


class HandOffOut(Schema):
    id: int
    lifecycle_stage: str
    stage_changed_at: dt.datetime | None
    funnel_section: str


@router.post(
    "/contacts/{contact_id}/accept",
    response=HandOffOut,
    summary="Accept an MQL: it becomes a sales-qualified lead",
)
def mql_accept(request, contact_id: int, payload: AcceptIn):
    """Recorded on the contact's timeline (``stage.changed``) with the key as the actor
    and the reason given (``Accepted by sales`` when none)."""
    workspace, actor = require_scope(request, WRITE)
    return services.mql_accept(
        workspace=workspace, contact_id=contact_id, actor=actor, reason=payload.reason or ""
    )


@router.post(
    "/contacts/{contact_id}/reject",
    response=HandOffOut,
    summary="Reject an MQL with a reason: it goes back to nurture",
)
def mql_reject(request, contact_id: int, payload: RejectIn):
    """The reason is required (a 422 names it when blank)."""
    workspace, actor = require_scope(request, WRITE)
    return services.mql_reject(
        workspace=workspace, contact_id=contact_id, actor=actor, reason=payload.reason
    )
