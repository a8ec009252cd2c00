"""Follow-ups, calls and meetings over the API (scopes ``contacts:read`` / ``contacts:write``:
they are a contact's next steps and history).

An API key is not a person: a follow-up created through the API names its ``assignee_id``,
and "mine" is ``assignee_id``. Times without an offset are read in the assignee's time zone;
answers carry UTC. Another workspace's ids answer 404, unknown fields 422.
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.sales import selectors, services
from leadflow.sales.followup_kinds import CALL_LOGGED, MEETING_LOGGED
from leadflow.sales.hours import time_zone_get

router = Router(tags=["follow-ups"])
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE

FollowUpKindValue = Literal["call", "email", "meeting", "to_do"]


class FollowUpOut(Schema):
    id: int
    contact_id: int
    assignee_id: int
    kind: str
    title: str
    notes: str
    due_at: dt.datetime
    reminder_at: dt.datetime | None
    reminded_at: dt.datetime | None
    done_at: dt.datetime | None
    done_by_id: int | None
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class FollowUpPage(Schema):
    items: list[FollowUpOut]
    next_cursor: str | None


class FollowUpIn(StrictSchema):
    assignee_id: int | None = Field(
        None, description="A member who may own leads and can see the contact."
    )
    kind: FollowUpKindValue | None = None
    title: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    due_at: str | None = Field(
        None,
        description="ISO 8601; without an offset (2026-03-29T10:00) it is read in the "
        "assignee's time zone.",
    )
    reminder_at: str | None = Field(None, description="As due_at; null: when it is due.")


class FollowUpCreate(FollowUpIn):
    contact_id: int


class NextFollowUpIn(StrictSchema):
    assignee_id: int | None = None
    kind: FollowUpKindValue | None = None
    title: str = Field(max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    due_at: str
    reminder_at: str | None = None


class CallIn(StrictSchema):
    outcome: Literal["connected", "no_answer", "left_voicemail", "wrong_number"]
    notes: str = Field("", max_length=10_000)
    duration_minutes: int | None = Field(None, ge=0, le=1440)
    next_followup: NextFollowUpIn | None = None


class MeetingIn(StrictSchema):
    outcome: Literal["held", "no_show", "rescheduled"]
    notes: str = Field("", max_length=10_000)
    duration_minutes: int | None = Field(None, ge=0, le=1440)
    next_followup: NextFollowUpIn | None = None


class LogOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    actor: str
    data: dict[str, Any]

    @staticmethod
    def resolve_actor(activity) -> str:
        return activity.actor_label


def _given(payload: StrictSchema) -> dict[str, Any]:
    """The fields the request sent (a null is sent too: "back to the default")."""
    return payload.dict(exclude_unset=True)


def _out(followup) -> dict:
    return FollowUpOut.from_orm(followup).dict()


@router.get("/followups", response=FollowUpPage, summary="List follow-ups")
def followup_list(
    request,
    assignee_id: int | None = None,
    contact_id: int | None = None,
    due: Literal["overdue", "today", "upcoming", "done"] | None = None,
    time_zone: str | None = Query(
        None, description='The zone "today" is read in (default: the assignee\'s, else UTC).'
    ),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """Open follow-ups by due time (``due=done``: latest done first). ``due`` buckets:
    overdue (open, due before now), today (open, due from now to the end of today),
    upcoming (open, later), done."""
    workspace, actor = require_scope(request, READ)
    if time_zone is not None:
        zone = time_zone_get(time_zone)
        if zone is None:
            raise ValidationFailed([FieldError("time_zone", "Not a known time zone.")])
    else:
        zone, _ = selectors.assignee_time_zone(workspace, assignee_id)
    filters = selectors.FollowUpFilters(assignee_id=assignee_id, bucket=due, contact_id=contact_id)
    rows = selectors.followup_list(workspace, actor, filters, now=timezone.now(), zone=zone)
    page = cursor_paginate(
        rows, sort="-done_at" if due == "done" else "due_at", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/followups", response={201: FollowUpOut}, summary="Schedule a follow-up")
def followup_create(request, payload: FollowUpCreate):
    workspace, actor = require_scope(request, WRITE)
    data = _given(payload)
    contact_id = data.pop("contact_id")

    def produce() -> HttpResponse:
        followup = services.followup_create(
            workspace=workspace, contact_id=contact_id, data=data, actor=actor
        )
        return json_response(_out(followup), status=201)

    return idempotent(request, workspace, produce)


@router.get("/followups/{followup_id}", response=FollowUpOut, summary="Get one follow-up")
def followup_get(request, followup_id: int):
    workspace, actor = require_scope(request, READ)
    return selectors.followup_get(workspace, actor, followup_id)


@router.patch("/followups/{followup_id}", response=FollowUpOut, summary="Change a follow-up")
def followup_patch(request, followup_id: int, payload: FollowUpIn):
    workspace, actor = require_scope(request, WRITE)
    return services.followup_update(
        workspace=workspace, followup_id=followup_id, data=_given(payload), actor=actor
    )


@router.post(
    "/followups/{followup_id}/complete", response=FollowUpOut, summary="Mark a follow-up done"
)
def followup_complete(request, followup_id: int):
    workspace, actor = require_scope(request, WRITE)
    return services.followup_complete(workspace=workspace, followup_id=followup_id, actor=actor)


@router.post(
    "/followups/{followup_id}/reopen", response=FollowUpOut, summary="Open a done follow-up again"
)
def followup_reopen(request, followup_id: int):
    workspace, actor = require_scope(request, WRITE)
    return services.followup_reopen(workspace=workspace, followup_id=followup_id, actor=actor)


@router.delete("/followups/{followup_id}", response={204: None}, summary="Delete a follow-up")
def followup_delete(request, followup_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.followup_delete(workspace=workspace, followup_id=followup_id, actor=actor)
    return Status(204, None)


def _log(request, contact_id: int, payload, log) -> HttpResponse:
    workspace, actor = require_scope(request, WRITE)
    data = _given(payload)

    def produce() -> HttpResponse:
        activity = log(
            workspace=workspace,
            contact_id=contact_id,
            outcome=data["outcome"],
            notes=data.get("notes", ""),
            duration_minutes=data.get("duration_minutes"),
            next_followup=data.get("next_followup"),
            actor=actor,
        )
        return json_response(LogOut.from_orm(activity).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.post(
    "/contacts/{contact_id}/calls",
    response={201: LogOut},
    summary="Log a call (and optionally schedule the next follow-up)",
)
def call_log(request, contact_id: int, payload: CallIn):
    return _log(request, contact_id, payload, services.call_log)


@router.post(
    "/contacts/{contact_id}/meetings",
    response={201: LogOut},
    summary="Log a meeting (and optionally schedule the next follow-up)",
)
def meeting_log(request, contact_id: int, payload: MeetingIn):
    return _log(request, contact_id, payload, services.meeting_log)


def _logged(request, contact_id: int, kind: str) -> list:
    workspace, actor = require_scope(request, READ)
    return selectors.contact_logs(workspace, actor, contact_id, kind)


@router.get(
    "/contacts/{contact_id}/calls", response=list[LogOut], summary="A contact's calls, newest first"
)
def call_list(request, contact_id: int):
    return _logged(request, contact_id, CALL_LOGGED)


@router.get(
    "/contacts/{contact_id}/meetings",
    response=list[LogOut],
    summary="A contact's meetings, newest first",
)
def meeting_list(request, contact_id: int):
    return _logged(request, contact_id, MEETING_LOGGED)
