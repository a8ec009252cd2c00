"""Sequences over the REST API (/api/v1/nurture/sequences): reading needs ``contacts:read``,
changing sequences and enrolling ``contacts:write``. Steps, trigger, goal and exit
conditions are JSON (docs/nurture/sequences.md); every bad field is named in a 422.
Another workspace's sequence or enrolment answers 404."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import NotFound
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.nurture.models.sequences import Enrollment
from leadflow.nurture.selectors import sequences as selectors
from leadflow.nurture.services import sequences as services

router = Router(tags=["nurture sequences"])
BIG = 2**63 - 1
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
STEPS_HELP = (
    'The flow: [{"id": 1, "type": "email", "message_id": 3, "next": 2}, {"id": 2, "type": '
    '"wait", "seconds": 86400, "next": 3}, {"id": 3, "type": "branch", "conditions": {…}, '
    '"yes": 4, "no": null}, …]. Types: email, wait, wait_until, wait_for, branch, tag, '
    "untag, stage, field, owner, list_add, enroll, sms, notify_owner, followup "
    "(docs/nurture/sequences.md)."
)
TRIGGER_HELP = (
    'What enrols: {"kind": "manual"}, {"kind": "segment.entered", "segment_id": 3}, '
    '{"kind": "form.submitted", "form_id": 2}, {"kind": "stage.changed", "to": "mql"}, '
    '{"kind": "tag.added", "tag": "trial"}, {"kind": "lead.handed_back"} (rejected by '
    'sales), {"kind": "offer.redeemed"}, {"kind": "magnet.downloaded", "magnet_id": 5}.'
)


class StepFiguresOut(Schema):
    step: int
    waiting: int = Field(description="Contacts standing on this step now.")
    passed: int
    converted: int = Field(description="Of those who passed, how many met the goal.")
    conversion_rate: float | None
    outcomes: dict[str, int] = Field(description="yes/no at a branch, activity/timeout.")
    replied: int | None = Field(
        None, description="An email step: how many replied to its email (not auto-replies)."
    )


EXIT_ON_REPLY_HELP = (
    "A reply (email.replied or sms.replied after entering; never an auto-reply) ends the "
    "contact's enrolment as exited."
)


class SequenceOut(Schema):
    id: int
    name: str
    description: str
    status: Literal["draft", "active", "paused", "archived"]
    trigger: dict[str, Any]
    steps: list[dict[str, Any]]
    exit_conditions: dict[str, Any]
    goal: dict[str, Any]
    exit_on_reply: bool = Field(description=EXIT_ON_REPLY_HELP)
    reentry: Literal["never", "after_finish"]
    enrolled: int
    in_sequence: int
    converted: int
    conversion_rate: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    activated_at: dt.datetime | None


class SequenceDetailOut(SequenceOut):
    step_figures: list[StepFiguresOut]


class SequenceIn(StrictSchema):
    name: str
    description: str = ""
    trigger: dict[str, Any] = Field(
        default_factory=lambda: {"kind": "manual"}, description=TRIGGER_HELP
    )
    steps: list[Any] = Field(default_factory=list, description=STEPS_HELP)
    exit_conditions: dict[str, Any] = Field(default_factory=dict)
    goal: dict[str, Any] = Field(default_factory=dict)
    exit_on_reply: bool = Field(False, description=EXIT_ON_REPLY_HELP)
    reentry: Literal["never", "after_finish"] = "never"


class SequencePatch(StrictSchema):
    name: str | None = None
    description: str | None = None
    trigger: dict[str, Any] | None = Field(None, description=TRIGGER_HELP)
    steps: list[Any] | None = Field(None, description=STEPS_HELP)
    exit_conditions: dict[str, Any] | None = None
    goal: dict[str, Any] | None = None
    exit_on_reply: bool | None = Field(None, description=EXIT_ON_REPLY_HELP)
    reentry: Literal["never", "after_finish"] | None = None


class StatusIn(StrictSchema):
    status: Literal["active", "paused", "archived"]


class EnrolIn(StrictSchema):
    contact_ids: list[int] = Field(min_length=1, max_length=10000)


class EnrolOut(Schema):
    contact_ids: list[int] = Field(description="The contacts this call enrolled.")


class EnrollmentOut(Schema):
    id: int
    sequence_id: int
    contact_id: int
    email: str | None
    entry: int
    status: str
    step: int | None
    waiting: bool
    wake_at: dt.datetime | None
    source: str
    enrolled_at: dt.datetime
    finished_at: dt.datetime | None
    reason: str


class EnrollmentPage(Schema):
    items: list[EnrollmentOut]
    next_before_id: int | None


class EnrollmentFilters(StrictSchema):
    status: Literal["active", "completed", "converted", "exited", "removed"] | None = None
    step: int | None = Field(None, ge=1, le=1_000_000)
    before_id: int | None = Field(None, ge=1, le=BIG)
    limit: int = Field(50, ge=1, le=500)


class RemoveIn(StrictSchema):
    reason: str = Field("", max_length=200)


def _out(sequence, figures=None) -> dict[str, Any]:
    figures = figures or selectors.sequence_figures(sequence)
    return {
        "id": sequence.pk,
        "name": sequence.name,
        "description": sequence.description,
        "status": sequence.status,
        "trigger": sequence.trigger or {},
        "steps": sequence.steps or [],
        "exit_conditions": sequence.exit_conditions or {},
        "goal": sequence.goal or {},
        "exit_on_reply": sequence.exit_on_reply,
        "reentry": sequence.reentry,
        "enrolled": figures.enrolled,
        "in_sequence": figures.active,
        "converted": figures.converted,
        "conversion_rate": figures.conversion_rate,
        "created_at": sequence.created_at,
        "updated_at": sequence.updated_at,
        "activated_at": sequence.activated_at,
    }


def _detail(sequence) -> dict[str, Any]:
    figures = selectors.sequence_figures(sequence)
    return {
        **_out(sequence, figures),
        "step_figures": [
            {
                "step": step_id,
                "waiting": step.waiting,
                "passed": step.passed,
                "converted": step.converted,
                "conversion_rate": step.conversion_rate,
                "outcomes": step.outcomes,
                "replied": step.replied,
            }
            for step_id, step in figures.steps.items()
        ],
    }


def _enrollment(row: Enrollment) -> dict[str, Any]:
    return {
        "id": row.pk,
        "sequence_id": row.sequence_id,
        "contact_id": row.contact_id,
        "email": row.contact.email,
        "entry": row.entry,
        "status": row.status,
        "step": row.step,
        "waiting": row.waiting,
        "wake_at": row.wake_at,
        "source": row.source,
        "enrolled_at": row.enrolled_at,
        "finished_at": row.finished_at,
        "reason": row.reason,
    }


@router.get("/nurture/sequences", response=list[SequenceOut], summary="The sequences, by name")
def sequence_list(request: HttpRequest, archived: bool = False):
    workspace, _ = require_scope(request, READ)
    return [
        _out(sequence, selectors.list_figures(sequence))
        for sequence in selectors.sequence_list(workspace, archived=archived)
    ]


@router.post("/nurture/sequences", response={201: SequenceDetailOut}, summary="Create a sequence")
def sequence_create(request: HttpRequest, payload: SequenceIn):
    """A draft: it enrols no one until activated. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce():
        sequence = services.sequence_create(workspace=workspace, actor=actor, values=payload.dict())
        return json_response(_detail(sequence), status=201)

    return idempotent(request, workspace, produce)


@router.get(
    "/nurture/sequences/{sequence_id}",
    response=SequenceDetailOut,
    summary="One sequence with its per-step figures",
)
def sequence_get(request: HttpRequest, sequence_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return _detail(selectors.sequence_get(workspace, sequence_id))


@router.patch(
    "/nurture/sequences/{sequence_id}", response=SequenceDetailOut, summary="Change a sequence"
)
def sequence_update(
    request: HttpRequest, payload: SequencePatch, sequence_id: int = Path(..., ge=1, le=BIG)
):
    """Only the fields given change. A step someone waits at cannot be removed (422)."""
    workspace, actor = require_scope(request, WRITE)
    sequence = services.sequence_update(
        workspace=workspace,
        actor=actor,
        sequence_id=sequence_id,
        values=payload.dict(exclude_unset=True),
    )
    return _detail(sequence)


@router.post(
    "/nurture/sequences/{sequence_id}/status",
    response=SequenceDetailOut,
    summary="Activate, pause or archive",
)
def sequence_status(
    request: HttpRequest, payload: StatusIn, sequence_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, WRITE)
    sequence = services.sequence_status_set(
        workspace=workspace, actor=actor, sequence_id=sequence_id, status=payload.status
    )
    return _detail(sequence)


@router.delete(
    "/nurture/sequences/{sequence_id}", response={204: None}, summary="Delete a sequence"
)
def sequence_delete(request: HttpRequest, sequence_id: int = Path(..., ge=1, le=BIG)):
    """409 once contacts went through it: archive it instead (its figures stay)."""
    workspace, actor = require_scope(request, WRITE)
    services.sequence_delete(workspace=workspace, actor=actor, sequence_id=sequence_id)
    return Status(204, None)


@router.post(
    "/nurture/sequences/{sequence_id}/enrollments",
    response=EnrolOut,
    summary="Enrol contacts by hand",
)
def sequence_enroll(
    request: HttpRequest, payload: EnrolIn, sequence_id: int = Path(..., ge=1, le=BIG)
):
    """Each contact as the re-entry rule allows (once, or again after finishing); ids of
    other workspaces are ignored. Safe to retry."""
    workspace, actor = require_scope(request, WRITE)
    enrolled = services.sequence_enroll(
        workspace=workspace,
        actor=actor,
        sequence_id=sequence_id,
        contact_ids=payload.contact_ids,
        source="api",
    )
    return {"contact_ids": enrolled}


@router.get(
    "/nurture/sequences/{sequence_id}/enrollments",
    response=EnrollmentPage,
    summary="A sequence's enrolments",
)
def sequence_enrollments(
    request: HttpRequest,
    filters: Query[EnrollmentFilters],
    sequence_id: int = Path(..., ge=1, le=BIG),
):
    """Newest first; ``step`` lists who waits at that step now. Keyset pages: pass
    ``next_before_id`` as ``before_id``."""
    workspace, _ = require_scope(request, READ)
    sequence = selectors.sequence_get(workspace, sequence_id)
    rows, more = selectors.enrollments_page(
        sequence,
        status=filters.status,
        step=filters.step,
        before_id=filters.before_id,
        limit=filters.limit,
    )
    return {"items": [_enrollment(row) for row in rows], "next_before_id": more}


@router.post(
    "/nurture/enrollments/{enrollment_id}/remove",
    response=EnrollmentOut,
    summary="Take a contact out of a sequence",
)
def enrollment_remove(
    request: HttpRequest, payload: RemoveIn, enrollment_id: int = Path(..., ge=1, le=BIG)
):
    """Nothing more is sent from it. 409 when the contact already left."""
    workspace, actor = require_scope(request, WRITE)
    enrollment = services.enrollment_remove(
        workspace=workspace, actor=actor, enrollment_id=enrollment_id, reason=payload.reason
    )
    row = Enrollment.objects.select_related("contact").filter(pk=enrollment.pk).first()
    if row is None:
        raise NotFound("No such enrolment.")
    return _enrollment(row)
