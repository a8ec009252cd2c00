"""Bounces and complaints over the API: the list (``contacts:read``: they are about
people's addresses), the workspace's bounce settings and webhook URLs (``settings:read`` /
``settings:write``), the mailbox's test button. Addresses never appear: a bounce names its
address's SHA-256 and its contact while that contact exists."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.models import ApiScope
from leadflow.nurture.selectors.bounces import bounce_list
from leadflow.nurture.services.bounce_mailbox import mailbox_check
from leadflow.nurture.services.bounce_settings import (
    bounce_secret_problems,
    bounce_settings_get,
    bounce_settings_save,
    webhook_token_rotate,
    webhook_urls,
)

router = Router(tags=["bounces"])
READ, WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE
KindValue = Literal["hard", "soft", "complaint"]


class BounceOut(Schema):
    id: int
    kind: KindValue
    address_hash: str = Field(description="SHA-256 (hex) of the trimmed, lower-cased address.")
    contact_id: int | None
    delivery_id: int | None
    message_id: int | None = Field(description="The message of the delivery it is about.")
    status_code: str = Field(description="The enhanced status code (5.1.1), when given.")
    diagnostic: str
    source: str = Field(description="mailbox, smtp, or webhook:<provider>.")
    suppressed: bool = Field(description="Whether this bounce put the address on the list.")
    received_at: dt.datetime


class BouncePage(Schema):
    items: list[BounceOut]
    next_cursor: str | None


class BounceSettingsOut(Schema):
    mailbox_kind: Literal["none", "imap", "maildir"]
    host: str
    port: int
    tls_mode: Literal["none", "starttls", "ssl"]
    username: str
    password_env: str
    folder: str
    maildir_name: str
    soft_bounce_limit: int
    mailgun_key_env: str
    last_checked_at: dt.datetime | None
    last_error: str
    webhook_urls: dict[str, str] = Field(
        description="The URL to give each provider (secret: it authenticates the posts)."
    )
    env_problems: dict[str, str] = Field(
        description="For each name above that is not this workspace's own (saved before names "
        "were scoped): it reads as not set; the message says what to rename the variable to."
    )


class BounceSettingsPatch(StrictSchema):
    mailbox_kind: Literal["none", "imap", "maildir"] | None = None
    host: str | None = Field(None, max_length=253)
    port: int | None = None
    tls_mode: Literal["none", "starttls", "ssl"] | None = None
    username: str | None = Field(None, max_length=254)
    password_env: str | None = Field(
        None, max_length=100, description="LEADFLOW_IMAP_PASSWORD_W<workspace id>[_…]"
    )
    folder: str | None = Field(None, max_length=200)
    maildir_name: str | None = Field(None, max_length=100)
    soft_bounce_limit: int | None = None
    mailgun_key_env: str | None = Field(
        None, max_length=100, description="LEADFLOW_MAILGUN_KEY_W<workspace id>[_…]"
    )


class MailboxTestOut(Schema):
    waiting: int = Field(description="Emails in the mailbox not read yet.")


def _bounce_out(row) -> dict:
    return {
        **{name: getattr(row, name) for name in (
            "id", "kind", "address_hash", "contact_id", "delivery_id", "status_code",
            "diagnostic", "source", "suppressed", "received_at",
        )},
        "message_id": row.delivery.message_id if row.delivery_id else None,
    }  # fmt: skip


def _settings_out(request: HttpRequest, workspace) -> dict:
    found = bounce_settings_get(workspace)
    return {
        **{name: getattr(found, name) for name in BounceSettingsOut.model_fields
           if name not in ("webhook_urls", "env_problems")},
        "webhook_urls": webhook_urls(workspace, request.build_absolute_uri("/")),
        "env_problems": bounce_secret_problems(found),
    }  # fmt: skip


@router.get("/nurture/bounces", response=BouncePage, summary="Bounces and complaints")
def bounces_list(
    request: HttpRequest,
    kind: KindValue | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
):
    """Newest first, keyset-paginated (``next_cursor``)."""
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    page = cursor_paginate(
        bounce_list(workspace, kind=kind), sort="-received_at", cursor=cursor, limit=limit
    )
    return {"items": [_bounce_out(row) for row in page.items], "next_cursor": page.next_cursor}


@router.get("/nurture/bounces/settings", response=BounceSettingsOut, summary="Bounce settings")
def bounces_settings_get(request: HttpRequest):
    """The bounce mailbox (its password is the environment variable ``password_env``
    names, never stored), the soft-bounce limit, and the webhook URL of each provider."""
    workspace, _ = require_scope(request, READ)
    return _settings_out(request, workspace)


@router.patch(
    "/nurture/bounces/settings", response=BounceSettingsOut, summary="Change bounce settings"
)
def bounces_settings_patch(request: HttpRequest, payload: BounceSettingsPatch):
    workspace, actor = require_scope(request, WRITE)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    bounce_settings_save(workspace=workspace, data=changes, actor=actor)
    return _settings_out(request, workspace)


@router.post(
    "/nurture/bounces/settings/test", response=MailboxTestOut, summary="Test the bounce mailbox"
)
def bounces_mailbox_test(request: HttpRequest):
    """Opens the mailbox now and counts what waits; 422 (field ``mailbox``) with the
    server's words when it cannot be read."""
    workspace, _ = require_scope(request, WRITE)
    return {"waiting": mailbox_check(workspace=workspace)}


@router.post(
    "/nurture/bounces/webhooks/rotate",
    response=BounceSettingsOut,
    summary="New webhook URLs (the old ones stop working)",
)
def bounces_webhooks_rotate(request: HttpRequest):
    workspace, actor = require_scope(request, WRITE)
    webhook_token_rotate(workspace=workspace, actor=actor)
    return _settings_out(request, workspace)
