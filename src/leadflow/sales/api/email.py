"""REST endpoints of one-to-one email (/api/v1): the workspace's email templates (read with
``settings:read``, changed with ``settings:write``), an email to a contact (``contacts:write``;
``Idempotency-Key`` and ``client_id`` both make a retry store one email), a contact's emails
with their status and the merged preview of an email (``contacts:read``)."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema, Status

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.sales import selectors, services
from leadflow.sales.models.email import BODY_MAX_LENGTH, CLIENT_ID_MAX_LENGTH, SUBJECT_MAX_LENGTH

router = Router(tags=["email"])
BIG = 2**63 - 1
MERGE_HELP = (
    "Plain text with merge fields: {{ first_name }} or {{ first_name | fallback }} "
    "(docs/sales/email.md lists the names)."
)


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplateIn(StrictSchema):
    name: str = Field(max_length=100)
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH, description=MERGE_HELP)
    body: str = Field(max_length=BODY_MAX_LENGTH, description=MERGE_HELP)


class TemplatePatch(StrictSchema):
    name: str | None = Field(None, max_length=100)
    subject: str | None = Field(None, max_length=SUBJECT_MAX_LENGTH)
    body: str | None = Field(None, max_length=BODY_MAX_LENGTH)


class EmailIn(StrictSchema):
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH, description=MERGE_HELP)
    body: str = Field(max_length=BODY_MAX_LENGTH, description=MERGE_HELP)
    template_id: int | None = Field(None, ge=1, le=BIG, description="The template used, if any.")
    client_id: str | None = Field(
        None,
        max_length=CLIENT_ID_MAX_LENGTH,
        description="Your id for this email: sending again with it stores nothing more.",
    )
    sender_id: int | None = Field(
        None,
        ge=1,
        le=BIG,
        description="The member who sends (From name, Reply-To); default: the key's creator.",
    )


class EmailOut(Schema):
    id: int
    contact_id: int
    sender_id: int | None
    template_id: int | None
    to_address: str
    reply_to: str
    subject: str
    body: str
    status: Literal["queued", "sent", "failed"]
    error: str
    client_id: str
    message_id: str
    queued_at: dt.datetime
    sent_at: dt.datetime | None


class PreviewIn(StrictSchema):
    subject: str | None = Field(None, max_length=SUBJECT_MAX_LENGTH)
    body: str | None = Field(None, max_length=BODY_MAX_LENGTH)
    template_id: int | None = Field(
        None, ge=1, le=BIG, description="Preview this template (instead of subject and body)."
    )
    sender_id: int | None = Field(None, ge=1, le=BIG)


class PreviewOut(Schema):
    subject: str
    body: str
    html: str
    empty_fields: list[str] = Field(description="Merge fields that came out empty.")


# --- templates ----------------------------------------------------------------------------


@router.get("/email-templates", response=list[TemplateOut], summary="The email templates")
def template_list(request: HttpRequest):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return list(selectors.email_template_list(workspace))


@router.post("/email-templates", response={201: TemplateOut}, summary="Add an email template")
def template_create(request: HttpRequest, payload: TemplateIn):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    template = services.email_template_create(workspace=workspace, data=payload.dict(), actor=actor)
    return Status(201, template)


@router.get("/email-templates/{template_id}", response=TemplateOut, summary="One email template")
def template_get(request: HttpRequest, template_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return selectors.email_template_get(workspace, template_id)


@router.patch(
    "/email-templates/{template_id}", response=TemplateOut, summary="Change an email template"
)
def template_update(
    request: HttpRequest, payload: TemplatePatch, template_id: int = Path(..., ge=1, le=BIG)
):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    data = {key: value for key, value in payload.dict(exclude_unset=True).items()}
    nulls = [key for key, value in data.items() if value is None]
    if nulls:
        raise ValidationFailed([FieldError(key, "Cannot be null.") for key in nulls])
    return services.email_template_update(
        workspace=workspace, template_id=template_id, data=data, actor=actor
    )


@router.delete(
    "/email-templates/{template_id}", response={204: None}, summary="Delete an email template"
)
def template_delete(request: HttpRequest, template_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    services.email_template_delete(workspace=workspace, template_id=template_id, actor=actor)
    return Status(204, None)


# --- a contact's emails -------------------------------------------------------------------


@router.post(
    "/contacts/{contact_id}/emails",
    response={200: EmailOut, 201: EmailOut},
    summary="Send a personal email to a contact",
)
def email_send(request: HttpRequest, payload: EmailIn, contact_id: int = Path(..., ge=1, le=BIG)):
    """Merges the subject and body for the contact and queues the email; the worker sends
    it (``status`` turns ``sent`` or ``failed``). 201 when stored, 200 when an email with the
    same ``client_id`` was already stored (nothing more is sent). Honours
    ``Idempotency-Key``. Refused (422, field ``to``) for a contact without an address, whose
    consent is withdrawn, or whose address is suppressed."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)

    def produce() -> HttpResponse:
        result = services.personal_email_send(
            workspace=workspace,
            contact_id=contact_id,
            subject=payload.subject,
            body=payload.body,
            template_id=payload.template_id,
            client_id=payload.client_id,
            sender_id=payload.sender_id,
            actor=actor,
        )
        body = EmailOut.from_orm(result.email).dict()
        return json_response(body, status=201 if result.created else 200)

    return idempotent(request, workspace, produce)


@router.get(
    "/contacts/{contact_id}/emails",
    response=list[EmailOut],
    summary="A contact's personal emails, newest first, with their status",
)
def email_list(request: HttpRequest, contact_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, ApiScope.CONTACTS_READ)
    return list(selectors.contact_emails(workspace, actor, contact_id)[:200])


@router.post(
    "/contacts/{contact_id}/email-preview",
    response=PreviewOut,
    summary="Preview an email (or a template) merged for a contact",
)
def email_preview(
    request: HttpRequest, payload: PreviewIn, contact_id: int = Path(..., ge=1, le=BIG)
):
    """Nothing is stored. Names that are not merge fields answer 422 naming ``subject`` or
    ``body``; fields that come out empty are listed in ``empty_fields``."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_READ)
    subject, body = payload.subject, payload.body
    if payload.template_id is not None:
        template = selectors.email_template_list(workspace).filter(pk=payload.template_id).first()
        if template is None:
            raise ValidationFailed([FieldError("template_id", "No such email template.")])
        subject = template.subject if subject is None else subject
        body = template.body if body is None else body
    subject, body = subject or "", body or ""
    preview = selectors.personal_email_preview(
        workspace,
        actor,
        contact_id,
        subject=subject,
        body=body,
        sender_id=payload.sender_id,
    )
    errors = selectors.merge_field_errors(workspace, {"subject": subject, "body": body})
    if errors:
        raise ValidationFailed(errors)
    return {
        "subject": preview.subject,
        "body": preview.body,
        "html": preview.html,
        "empty_fields": preview.empty_fields,
    }
