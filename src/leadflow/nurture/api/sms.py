"""Text messages over the REST API: the workspace's SMS provider
(``/api/v1/nurture/sms-settings``, ``settings:read`` / ``settings:write``) and the texts
sequences sent (``/api/v1/nurture/sms``, ``contacts:read``)."""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.nurture.models import SmsDelivery
from leadflow.nurture.services import sms as services

router = Router(tags=["nurture sms"])


class SmsSettingsOut(Schema):
    api_base: str
    account_sid: str
    from_number: str
    token_env: str
    token_set: bool = Field(description="The variable token_env names is set on the server.")


class SmsSettingsIn(StrictSchema):
    api_base: str = "https://api.twilio.com"
    account_sid: str
    from_number: str = Field(description="The sending number, +<country><number>.")
    token_env: str = Field(description="LEADFLOW_SMS_TOKEN_…: the variable holding the token.")


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


class SmsFilters(StrictSchema):
    status: str | None = Field(None, max_length=10)
    limit: int = Field(50, ge=1, le=500)


def _settings_out(config) -> dict:
    return {
        "api_base": config.api_base,
        "account_sid": config.account_sid,
        "from_number": config.from_number,
        "token_env": config.token_env,
        "token_set": services.sms_settings_token_set(config),
    }


@router.get("/nurture/sms-settings", response=SmsSettingsOut, summary="The SMS provider")
def sms_settings_get(request: HttpRequest):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return _settings_out(services.sms_settings_get(workspace.pk))


@router.put("/nurture/sms-settings", response=SmsSettingsOut, summary="Set the SMS provider")
def sms_settings_put(request: HttpRequest, payload: SmsSettingsIn):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_WRITE)
    return _settings_out(services.sms_settings_save(workspace=workspace, data=payload.dict()))


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
        }
        for row in rows.order_by("-pk")[: filters.limit]
    ]
