"""Marketing email over the API (/api/v1/nurture/...): sending identities, SMTP and DKIM
settings (never a secret: only the names of the environment variables or key file that
hold them) with a test send, templates with a preview as a chosen contact, messages
(create, send to contacts, status counts), deliveries, and the review of unknown ones.

Settings, templates and sending need ``settings:write`` (reading them ``settings:read``);
deliveries name contacts, so listing them needs ``contacts:read``. Another workspace's
ids answer 404, unknown fields 422, bad template syntax 422 naming the field.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.nurture.models import DeliveryStatus
from leadflow.nurture.models.email import SUBJECT_MAX_LENGTH
from leadflow.nurture.selectors import email as selectors
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services import template_preview as previews
from leadflow.nurture.services.transport import smtp_secret, smtp_secret_problems

router = Router(tags=["nurture email"])
BIG = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=BIG)]
READ, WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE
PERSONALISATION = (
    'Personalisation: {{ contact.first_name|default:"there" }}; the contact\'s fields and '
    "the offer only (docs/nurture/sending.md)."
)


class NurtureIdentityIn(StrictSchema):
    from_name: str = Field("", max_length=100)
    from_address: str = Field(max_length=254)
    reply_to: str = Field("", max_length=254)


class NurtureIdentityPatch(StrictSchema):
    from_name: str | None = Field(None, max_length=100)
    from_address: str | None = Field(None, max_length=254)
    reply_to: str | None = Field(None, max_length=254)


class NurtureIdentityOut(Schema):
    id: int
    from_name: str
    from_address: str
    reply_to: str
    created_at: dt.datetime


class NurtureSmtpIn(StrictSchema):
    host: str = Field("", max_length=253, description="Empty: the installation's mail settings.")
    port: int = Field(587, ge=1, le=65535)
    tls_mode: Literal["none", "starttls", "ssl"] = "starttls"
    username: str = Field("", max_length=254)
    password_env: str = Field(
        "", max_length=100, description="The environment variable holding the password "
        "(LEADFLOW_SMTP_PASSWORD_W<workspace id>[_...]). The password itself is never sent or "
        "stored.",
    )  # fmt: skip
    dkim_domain: str = Field("", max_length=253)
    dkim_selector: str = Field("", max_length=63)
    dkim_key_env: str = Field(
        "", max_length=100, description="LEADFLOW_DKIM_KEY_W<workspace id>[_...] holding it."
    )
    dkim_key_file: str = Field(
        "", max_length=100, description="Or a file name in LEADFLOW_DKIM_KEY_DIR."
    )


class NurtureSmtpOut(Schema):
    host: str
    port: int
    tls_mode: str
    username: str
    password_env: str
    password_set: bool = Field(
        description="Whether the named variable holds a password now (and is this "
        "workspace's to name)."
    )
    dkim_domain: str
    dkim_selector: str
    dkim_key_env: str
    dkim_key_file: str
    env_problems: dict[str, str] = Field(
        description="For each name above that is not this workspace's own (saved before names "
        "were scoped): it reads as not set; the message says what to rename the variable to."
    )


class NurtureTestSendIn(StrictSchema):
    identity_id: int = Field(ge=1, le=BIG)
    to: str = Field(max_length=254)
    template_id: int | None = Field(None, ge=1, le=BIG)


class NurtureTestSendOut(Schema):
    message_id: str


SourceKind = Literal["blocks", "mjml", "html"]
KIND_HELP = (
    "How the body is written: blocks (the editor's JSON blocks), mjml (MJML source) or html; "
    "blocks and MJML are compiled to html_body once, on save (docs/nurture/templates.md). "
    "Left out: the kind of the source given."
)
BLOCKS_HELP = (
    "Editor blocks: [{type: header|text|image|button|columns|divider|spacer|footer, ...}]; "
    "each bad field is named in the 422 (blocks[2].href)."
)
Blocks = list[dict[str, Any]]


class NurtureTemplateIn(StrictSchema):
    name: str = Field(min_length=1, max_length=100)
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH, description=PERSONALISATION)
    source_kind: SourceKind | None = Field(None, description=KIND_HELP)
    blocks: Blocks | None = Field(None, max_length=60, description=BLOCKS_HELP)
    mjml_source: str | None = Field(None, max_length=200_000, description="MJML source.")
    html_body: str | None = Field(None, max_length=200_000, description=PERSONALISATION)
    text_body: str = Field("", max_length=200_000, description="Empty: made from the HTML.")


class NurtureTemplatePatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    subject: str | None = Field(None, max_length=SUBJECT_MAX_LENGTH)
    source_kind: SourceKind | None = Field(None, description=KIND_HELP)
    blocks: Blocks | None = Field(None, max_length=60, description=BLOCKS_HELP)
    mjml_source: str | None = Field(None, max_length=200_000)
    html_body: str | None = Field(None, max_length=200_000)
    text_body: str | None = Field(None, max_length=200_000)


class NurtureTemplateOut(Schema):
    id: int
    name: str
    subject: str
    source_kind: str
    blocks: Blocks
    mjml_source: str
    html_body: str = Field(description="The HTML sent (compiled from blocks or MJML).")
    text_body: str
    text_generated: bool = Field(description="Whether the text part was made from the HTML.")
    updated_at: dt.datetime


class NurtureTemplateTestIn(StrictSchema):
    identity_id: int = Field(ge=1, le=BIG)
    to: str = Field(max_length=254)
    contact_id: int | None = Field(None, ge=1, le=BIG, description="Rendered as this contact.")


class NurturePreviewIn(StrictSchema):
    contact_id: int = Field(ge=1, le=BIG)


class NurturePreviewOut(Schema):
    subject: str
    html: str
    text: str


class NurtureMessageIn(StrictSchema):
    name: str = Field(min_length=1, max_length=200)
    template_id: int = Field(ge=1, le=BIG)
    identity_id: int = Field(ge=1, le=BIG)
    topic: str = Field("marketing", max_length=100)
    subscription_topic_id: int | None = Field(
        None, ge=1, le=BIG, description="People who opted out of this topic are skipped."
    )
    offer_id: int | None = Field(
        None, ge=1, le=BIG, description="Each person's code of this offer as {{ offer.code }}."
    )
    offer_best: bool = Field(False, description="The open offer that fits each person best.")


class NurtureMessageOut(Schema):
    id: int
    name: str
    template_id: int
    identity_id: int
    topic: str
    subscription_topic_id: int | None = None
    offer_id: int | None = None
    offer_best: bool = False
    created_at: dt.datetime
    counts: dict[str, int] | None = None


class NurtureSendIn(StrictSchema):
    contact_ids: list[Id] = Field(min_length=1, max_length=100_000)


class NurtureSendOut(Schema):
    queued: int = Field(description="Deliveries added by this call (0 for contacts already in).")


class NurtureDeliveryOut(Schema):
    id: int
    message_id: int
    contact_id: int
    step: int
    entry: int
    status: str
    address: str
    reason: str
    header_message_id: str
    attempts: int
    queued_at: dt.datetime
    handed_at: dt.datetime | None
    sent_at: dt.datetime | None


class NurtureDeliveryPage(Schema):
    items: list[NurtureDeliveryOut]
    next_cursor: str | None


class NurtureReviewIn(StrictSchema):
    delivery_ids: list[Id] = Field(min_length=1, max_length=1000)
    decision: Literal["requeue", "drop"]


class NurtureReviewOut(Schema):
    changed: int


def _given(payload) -> dict:
    data = payload.dict(exclude_unset=True)
    nulls = [key for key, value in data.items() if value is None]
    if nulls:
        raise ValidationFailed([FieldError(key, "Cannot be null.") for key in nulls])
    return data


# --- identities ---------------------------------------------------------------------------


@router.get("/nurture/identities", response=list[NurtureIdentityOut], summary="Sending identities")
def identity_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return list(selectors.identity_list(workspace))


@router.post("/nurture/identities", response={201: NurtureIdentityOut}, summary="Add an identity")
def identity_create(request: HttpRequest, payload: NurtureIdentityIn):
    workspace, _ = require_scope(request, WRITE)
    return Status(201, email_settings.identity_create(workspace=workspace, data=payload.dict()))


@router.get(
    "/nurture/identities/{identity_id}", response=NurtureIdentityOut, summary="One identity"
)
def identity_get(request: HttpRequest, identity_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return selectors.identity_get(workspace, identity_id)


@router.patch(
    "/nurture/identities/{identity_id}", response=NurtureIdentityOut, summary="Change one"
)
def identity_update(
    request: HttpRequest, payload: NurtureIdentityPatch, identity_id: int = Path(..., ge=1, le=BIG)
):
    workspace, _ = require_scope(request, WRITE)
    return email_settings.identity_update(
        workspace=workspace, identity_id=identity_id, data=_given(payload)
    )


@router.delete("/nurture/identities/{identity_id}", response={204: None}, summary="Delete one")
def identity_delete(request: HttpRequest, identity_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, WRITE)
    email_settings.identity_delete(workspace=workspace, identity_id=identity_id)
    return Status(204, None)


# --- SMTP settings --------------------------------------------------------------------------


def _smtp_out(found) -> dict:
    out = {name: getattr(found, name) for name in email_settings.SMTP_FIELDS}
    out["password_set"] = bool(smtp_secret(found, "password_env"))
    out["env_problems"] = smtp_secret_problems(found)
    return out


@router.get("/nurture/smtp-settings", response=NurtureSmtpOut, summary="The SMTP and DKIM settings")
def smtp_get(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return _smtp_out(selectors.smtp_settings_get(workspace))


@router.put("/nurture/smtp-settings", response=NurtureSmtpOut, summary="Replace the SMTP settings")
def smtp_put(request: HttpRequest, payload: NurtureSmtpIn):
    workspace, _ = require_scope(request, WRITE)
    return _smtp_out(email_settings.smtp_settings_save(workspace=workspace, data=payload.dict()))


@router.post(
    "/nurture/smtp-settings/test", response=NurtureTestSendOut, summary="Send a test email"
)
def smtp_test(request: HttpRequest, payload: NurtureTestSendIn):
    """Sends one email now (the one send made in a request) through the workspace's
    settings, signed when DKIM is set up; 422 (field ``smtp``) with the server's answer
    when it does not go."""
    workspace, _ = require_scope(request, WRITE)
    message_id = email_settings.smtp_test_send(
        workspace=workspace,
        identity_id=payload.identity_id,
        to=payload.to,
        template_id=payload.template_id,
    )
    return {"message_id": message_id}


# --- templates ------------------------------------------------------------------------------


@router.get("/nurture/templates", response=list[NurtureTemplateOut], summary="Marketing templates")
def template_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return list(selectors.template_list(workspace))


@router.post("/nurture/templates", response={201: NurtureTemplateOut}, summary="Add a template")
def template_create(request: HttpRequest, payload: NurtureTemplateIn):
    workspace, _ = require_scope(request, WRITE)
    data = {key: value for key, value in payload.dict().items() if value is not None}
    return Status(201, email_settings.template_create(workspace=workspace, data=data))


@router.get(
    "/nurture/templates/{marketing_template_id}",
    response=NurtureTemplateOut,
    summary="One template",
)
def template_get(request: HttpRequest, marketing_template_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return selectors.template_get(workspace, marketing_template_id)


@router.patch(
    "/nurture/templates/{marketing_template_id}", response=NurtureTemplateOut, summary="Change one"
)
def template_update(
    request: HttpRequest,
    payload: NurtureTemplatePatch,
    marketing_template_id: int = Path(..., ge=1, le=BIG),
):
    workspace, _ = require_scope(request, WRITE)
    return email_settings.template_update(
        workspace=workspace, template_id=marketing_template_id, data=_given(payload)
    )


def _preview(request: HttpRequest, marketing_template_id: int, contact_id: int) -> dict:
    workspace, _ = require_scope(request, READ)
    require_scope(request, ApiScope.CONTACTS_READ)
    template = selectors.template_get(workspace, marketing_template_id)
    rendered = previews.template_render_as(
        workspace=workspace, template=template, contact_id=contact_id
    )
    return {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}


@router.get(
    "/nurture/templates/{marketing_template_id}/preview",
    response=NurturePreviewOut,
    summary="The template rendered as a chosen contact",
)
def template_preview_get(
    request: HttpRequest,
    marketing_template_id: int = Path(..., ge=1, le=BIG),
    contact_id: int = Query(..., ge=1, le=BIG),
):
    """Subject, HTML and text as this contact would get them, the offer filled with a
    sample code (nothing is issued). Another workspace's contact answers 404."""
    return _preview(request, marketing_template_id, contact_id)


@router.post(
    "/nurture/templates/{marketing_template_id}/preview",
    response=NurturePreviewOut,
    summary="The template rendered as a chosen contact (POST)",
)
def template_preview(
    request: HttpRequest,
    payload: NurturePreviewIn,
    marketing_template_id: int = Path(..., ge=1, le=BIG),
):
    return _preview(request, marketing_template_id, payload.contact_id)


@router.post(
    "/nurture/templates/{marketing_template_id}/test",
    response=NurtureTestSendOut,
    summary="Send the template as a test",
)
def template_test(
    request: HttpRequest,
    payload: NurtureTemplateTestIn,
    marketing_template_id: int = Path(..., ge=1, le=BIG),
):
    """Sends it now through the workspace's mail settings, subject labelled ``[Test]``,
    recorded in the audit log; at most LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR an hour per
    key (429 beyond)."""
    workspace, actor = require_scope(request, WRITE)
    message_id = previews.template_test_send(
        workspace=workspace,
        template_id=marketing_template_id,
        identity_id=payload.identity_id,
        to=payload.to,
        contact_id=payload.contact_id,
        actor=actor,
    )
    return {"message_id": message_id}


# --- messages and deliveries -------------------------------------------------------------------


@router.get("/nurture/messages", response=list[NurtureMessageOut], summary="Messages, newest first")
def message_list(request: HttpRequest):
    workspace, _ = require_scope(request, READ)
    return list(selectors.message_list(workspace)[:200])


@router.post("/nurture/messages", response={201: NurtureMessageOut}, summary="Create a message")
def message_create(request: HttpRequest, payload: NurtureMessageIn):
    workspace, _ = require_scope(request, WRITE)
    message = sending.message_create(workspace=workspace, **payload.dict())
    return Status(201, message)


@router.get(
    "/nurture/messages/{message_id}", response=NurtureMessageOut, summary="A message and its counts"
)
def message_get(request: HttpRequest, message_id: int = Path(..., ge=1, le=BIG)):
    """``counts``: how many deliveries are in each status."""
    workspace, _ = require_scope(request, READ)
    message = selectors.message_get(workspace, message_id)
    message.counts = selectors.message_counts(message)
    return message


@router.post(
    "/nurture/messages/{message_id}/send", response=NurtureSendOut, summary="Send to these contacts"
)
def message_send(
    request: HttpRequest, payload: NurtureSendIn, message_id: int = Path(..., ge=1, le=BIG)
):
    """Queues one delivery per contact of this workspace (others' ids are ignored), at
    most once per contact however often it is called; the worker sends them. Honours
    ``Idempotency-Key``."""
    workspace, _ = require_scope(request, WRITE)
    message = selectors.message_get(workspace, message_id)

    def produce():
        queued = sending.message_send(
            message=message,
            contact_ids=payload.contact_ids,
            base_url=request.build_absolute_uri("/"),
        )
        return json_response({"queued": queued})

    return idempotent(request, workspace, produce)


@router.get("/nurture/deliveries", response=NurtureDeliveryPage, summary="Deliveries, by id")
def delivery_list(
    request: HttpRequest,
    message_id: int | None = Query(None, ge=1, le=BIG),
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """``status=unknown`` is the review list."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    rows = selectors.delivery_list(workspace, message_id=message_id, status=status)
    page = cursor_paginate(rows, sort="id", cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/nurture/deliveries/review",
    response=NurtureReviewOut,
    summary="Re-queue or drop unknown deliveries",
)
def delivery_review(request: HttpRequest, payload: NurtureReviewIn):
    """Only the workspace's ``unknown`` deliveries change (others are left as they are).
    Re-queued ones are sent again with the same Message-ID."""
    workspace, _ = require_scope(request, WRITE)
    changed = sending.delivery_review(
        workspace=workspace, delivery_ids=payload.delivery_ids, decision=payload.decision
    )
    return {"changed": changed}
