"""REST endpoints for forms and their submissions (/api/v1/forms)."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadflow.capture import selectors, services
from leadflow.capture.models import Form
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.exports import csv_response
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope

router = Router(tags=["forms"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE

FieldKind = Literal[
    "text",
    "email",
    "phone",
    "number",
    "textarea",
    "select",
    "radio",
    "checkboxes",
    "date",
    "hidden",
    "consent",
]
Stage = Literal[
    "subscriber", "lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"
]


class FormFieldSchema(StrictSchema):
    name: str
    type: FieldKind
    label: str | None = None
    placeholder: str | None = None
    help_text: str | None = None
    required: bool = False
    options: list[str] | None = None
    maps_to: str | None = Field(
        None,
        description="email, phone, first_name, last_name, job_title, company, country, "
        "street_address, city, region, postal_code, date_of_birth (a date field), or "
        "custom_fields.<key>; empty keeps the answer on the submission only. Left out, "
        "an email or phone field (or a text field named first_name, last_name, company, "
        "job_title, city, postal_code, zip..., a date field named date_of_birth) fills "
        "that contact field unless another field maps there",
    )
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    blocked_domains: list[str] | None = None
    block_disposable: bool | None = None
    default: str | None = Field(
        None, description="Value of a hidden field (UTM fields take the page's UTM first)."
    )
    consent_text: str | None = Field(None, description="The exact text of a consent box.")
    consent_purpose: str | None = Field(
        None,
        description="The consent purpose a ticked box grants (marketing_email, newsletter, "
        "sms, profiling or one of the workspace's own); marketing_email when left out.",
    )


class FormOut(Schema):
    id: int
    key: str = Field(description="The public key used in embeds.")
    name: str
    status: str
    fields: list[dict[str, Any]]
    submit_label: str
    success_message: str
    redirect_url: str
    notify_user_ids: list[int]
    notify_owner: bool
    default_owner_id: int | None = Field(
        description="The member who owns the leads this form creates (a known contact "
        "keeps its owner)."
    )
    tags: list[str]
    lifecycle_stage: str
    source_label: str
    allowed_origins: list[str]
    double_opt_in: bool
    proof_of_work: bool
    min_fill_seconds: int
    magnet_id: int | None = Field(
        description="The lead magnet a valid submission earns (docs/capture/magnets.md)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class FormIn(StrictSchema):
    name: str | None = None
    status: Literal["active", "disabled"] | None = None
    fields: list[FormFieldSchema] | None = None
    submit_label: str | None = None
    success_message: str | None = None
    redirect_url: str | None = None
    notify_user_ids: list[int] | None = None
    notify_owner: bool | None = None
    default_owner_id: int | None = Field(
        None, description="A member's user id; null: new leads have no owner."
    )
    tags: list[str] | None = None
    lifecycle_stage: Stage | Literal[""] | None = None
    source_label: str | None = None
    allowed_origins: list[str] | None = None
    double_opt_in: bool | None = None
    proof_of_work: bool | None = None
    min_fill_seconds: int | None = None
    magnet_id: int | None = Field(None, description="A lead magnet's id; null: none.")


class FormPage(Schema):
    items: list[FormOut]
    next_cursor: str | None


class SubmissionOut(Schema):
    id: int
    submission_id: str
    status: str = Field(
        description="accepted (a lead), suspected (held by a soft signal such as sending "
        "sooner than the form's min_fill_seconds; release it to make it a lead) or spam"
    )
    spam_reason: str = Field(
        description="Why it was held (too fast, expired time token, honeypot, invalid time "
        "token, missing time token, proof of work); kept after a release"
    )
    contact_id: int | None
    values: dict[str, Any]
    payload: dict[str, Any]
    ip: str | None
    user_agent: str
    page_url: str
    referrer: str
    utm: dict[str, str]
    visitor_id: str
    created_at: dt.datetime
    released_at: dt.datetime | None = Field(
        None, description="When a suspected or spam submission was released as a lead"
    )
    released_by: str = Field("", description="Who released it")

    @staticmethod
    def resolve_submission_id(submission) -> str:
        return str(submission.submission_id)


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next_cursor: str | None


def _body(payload: FormIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    if "fields" in data and data["fields"] is not None:
        data["fields"] = [
            {k: v for k, v in field.items() if v is not None} for field in data["fields"]
        ]
    return data


@router.post("/forms", response={201: FormOut}, summary="Create a form")
def form_create(request, payload: FormIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        form = services.form_create(workspace=workspace, data=_body(payload), actor=actor)
        return json_response(FormOut.from_orm(form).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/forms", response=FormPage, summary="List forms")
def form_list(request, cursor: str | None = None, limit: int = Query(50, ge=1, le=200)):
    workspace, _ = require_scope(request, READ)
    page = cursor_paginate(
        selectors.form_list(workspace), sort="-created_at", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/forms/{form_id}", response=FormOut, summary="Get a form")
def form_get(request, form_id: int) -> Form:
    workspace, _ = require_scope(request, READ)
    return selectors.form_get(workspace, form_id)


@router.patch("/forms/{form_id}", response=FormOut, summary="Change a form")
def form_patch(request, form_id: int, payload: FormIn):
    """Given settings change; ``fields`` given replaces the whole list (its order is the
    order on the page)."""
    workspace, actor = require_scope(request, WRITE)
    return services.form_update(
        workspace=workspace, form_id=form_id, data=_body(payload), actor=actor
    )


@router.delete("/forms/{form_id}", response={204: None}, summary="Delete a form")
def form_delete(request, form_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.form_delete(workspace=workspace, form_id=form_id, actor=actor)
    return Status(204, None)


@router.get(
    "/forms/{form_id}/submissions",
    response=SubmissionPage,
    summary="List a form's submissions, newest first",
)
def submission_list(
    request,
    form_id: int,
    status: Literal["accepted", "suspected", "spam"] | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
):
    workspace, actor = require_scope(request, READ)
    page = cursor_paginate(
        selectors.submission_list(workspace, form_id, actor=actor, status=status),
        sort="-created_at",
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/forms/{form_id}/submissions.csv",
    summary="Export a form's submissions as CSV",
    response={200: None},
)
def submission_export(
    request, form_id: int, status: Literal["accepted", "suspected", "spam"] | None = "accepted"
):
    """Streams every submission; cells that a spreadsheet would run as a formula (starting
    with = + - @, tab or carriage return) are prefixed with an apostrophe."""
    workspace, actor = require_scope(request, READ)
    form = selectors.form_get(workspace, form_id)
    return csv_response(
        selectors.submission_csv_rows(workspace, form, actor=actor, status=status),
        f"{form.key}-submissions.csv",
    )


@router.get(
    "/forms/{form_id}/submissions/{submission_pk}",
    response=SubmissionOut,
    summary="Get one submission",
)
def submission_get(request, form_id: int, submission_pk: int):
    workspace, actor = require_scope(request, READ)
    return selectors.submission_get(workspace, form_id, submission_pk, actor=actor)


@router.post(
    "/forms/{form_id}/submissions/{submission_pk}/release",
    response=SubmissionOut,
    summary="Release a suspected or spam submission as a lead",
)
def submission_release(request, form_id: int, submission_pk: int):
    """Not spam: the submission becomes accepted and takes the path of every accepted
    submission (the contact created or updated with its form.submitted activity, the form's
    tags, stage and consent records, the notification and double opt-in emails). Releasing
    an accepted submission changes nothing and answers it again, so a retry is harmless.
    422 when its answers fail the form's rules as they are now; 404 for an id of another
    form or workspace."""
    workspace, actor = require_scope(request, WRITE)
    return services.submission_release(
        workspace=workspace,
        form_id=form_id,
        submission_pk=submission_pk,
        actor=actor,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )


from leadflow.capture.api_magnets import router as magnets_router  # noqa: E402

router.add_router("/", magnets_router)
