"""Text messages over the REST API: the workspace's SMS provider
(``/api/v1/nurture/sms-settings``, ``settings:read`` / ``settings:write``), the texts
sequences sent (``/api/v1/nurture/sms``, ``contacts:read``) and the texts people sent
back (``/api/v1/nurture/sms/inbound``, ``contacts:read``)."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.nurture.models import SmsDelivery, SmsInbound, SmsInboundAction
from leadflow.nurture.services import sms as services
from leadflow.nurture.services.sms_inbound import sms_webhook_urls

router = Router(tags=["nurture sms"])


class SmsSettingsOut(Schema):
    api_base: str
    account_sid: str
    from_number: str
    token_env: str
    token_set: bool = Field(
        description="The variable token_env names is set on the server (and is this "
        "workspace's to name)."
    )
    env_problems: dict[str, str] = Field(
        description="token_env, when it is not this workspace's own name (saved before names "
        "were scoped): it reads as not set; the message says what to rename the variable to."
    )
    require_sms_consent: bool = Field(
        description="Texts need a lawful basis for the sms consent purpose (else marketing)."
    )
    inbound_webhook_url: str = Field(description="Give it to the provider for incoming texts.")
    status_webhook_url: str = Field(description="The provider's status callback address.")


class SmsSettingsIn(StrictSchema):
    api_base: str = "https://api.twilio.com"
    account_sid: str
    from_number: str = Field(description="The sending number, +<country><number>.")
    token_env: str = Field(
        description="LEADFLOW_SMS_TOKEN_W<workspace id>[_…]: the variable holding the token."
    )
    require_sms_consent: bool = True


class SmsOut(Schema):
    id: int
    sequence_id: int
    step: int
    contact_id: int
    status: str
    to_number: str
    text: str
    reason: str
    provider_id: str
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    receipt: str = Field(description="The provider's last receipt: queued, sent, delivered, …")
    receipt_error: str


class SmsFilters(StrictSchema):
    status: str | None = Field(None, max_length=10)
    limit: int = Field(50, ge=1, le=500)


class SmsInboundOut(Schema):
    id: int
    message_sid: str
    from_number: str
    to_number: str
    body: str
    action: str = Field(description="stop, start, help or reply")
    contact_id: int | None = Field(description="The matching contact; null when none matched.")
    contacts_matched: int
    received_at: dt.datetime


class SmsInboundFilters(StrictSchema):
    action: SmsInboundAction | None = None
    unmatched: bool = False
    limit: int = Field(50, ge=1, le=500)


def _settings_out(request: HttpRequest, config) -> dict:
    urls = sms_webhook_urls(config.workspace_id, request.build_absolute_uri("/"))
    return {
        "require_sms_consent": config.require_sms_consent,
        "inbound_webhook_url": urls["inbound"],
        "status_webhook_url": urls["status"],
        "api_base": config.api_base,
        "account_sid": config.account_sid,
        "from_number": config.from_number,
        "token_env": config.token_env,
        "token_set": services.sms_settings_token_set(config),
        "env_problems": services.sms_settings_secret_problems(config),
    }


@router.get("/nurture/sms-settings", response=SmsSettingsOut, summary="The SMS provider")
def sms_settings_get(request: HttpRequest):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return _settings_out(request, services.sms_settings_get(workspace.pk))


@router.put("/nurture/sms-settings", response=SmsSettingsOut, summary="Set the SMS provider")
def sms_settings_put(request: HttpRequest, payload: SmsSettingsIn):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_WRITE)
    config = services.sms_settings_save(
        workspace=workspace, data=payload.dict(), base_url=request.build_absolute_uri("/")
    )
    return _settings_out(request, config)


@router.get("/nurture/sms", response=list[SmsOut], summary="Texts sent by sequences")
def sms_list(request: HttpRequest, filters: Query[SmsFilters]):
    """Newest first; ``status``: queued, sent, skipped, failed, unknown."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    rows = SmsDelivery.objects.filter(workspace=workspace)
    if filters.status:
        rows = rows.filter(status=filters.status)
    return [
        {
            "id": row.pk,
            "sequence_id": row.sequence_id,
            "step": row.step,
            "contact_id": row.contact_id,
            "status": row.status,
            "to_number": row.to_number,
            "text": row.text,
            "reason": row.reason,
            "provider_id": row.provider_id,
            "queued_at": row.queued_at,
            "sent_at": row.sent_at,
            "receipt": row.receipt,
            "receipt_error": row.receipt_error,
        }
        for row in rows.order_by("-pk")[: filters.limit]
    ]


@router.get("/nurture/sms/inbound", response=list[SmsInboundOut], summary="Texts people sent back")
def sms_inbound_list(request: HttpRequest, filters: Query[SmsInboundFilters]):
    """Newest first: replies, STOP / START / HELP keywords and texts from numbers no
    contact has (``unmatched=true`` lists only those)."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    rows = SmsInbound.objects.filter(workspace=workspace)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.unmatched:
        rows = rows.filter(contact__isnull=True)
    return [
        {
            "id": row.pk,
            "message_sid": row.message_sid,
            "from_number": row.from_number,
            "to_number": row.to_number,
            "body": row.body,
            "action": row.action,
            "contact_id": row.contact_id,
            "contacts_matched": row.contacts_matched,
            "received_at": row.received_at,
        }
        for row in rows.order_by("-pk")[: filters.limit]
    ]
