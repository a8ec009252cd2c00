"""Nurture over the API: the workspace's pacing of marketing messages (the cap across every
sequence and broadcast, quiet hours in the contact's zone, the pause after ignored
messages). Read with ``settings:read``, changed with ``settings:write``."""

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.nurture.selectors.pacing import pacing_settings_get
from leadflow.nurture.services.pacing import pacing_settings_update

router = Router(tags=["nurture"])


class PacingOut(Schema):
    cap_messages: int
    cap_days: int
    quiet_enabled: bool
    quiet_start: dt.time
    quiet_end: dt.time
    time_zone: str
    pause_after_ignored: int


class PacingPatch(StrictSchema):
    cap_messages: int | None = None
    cap_days: int | None = None
    quiet_enabled: bool | None = None
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    time_zone: str | None = None
    pause_after_ignored: int | None = None


@router.get("/nurture/pacing", response=PacingOut, summary="Pacing of marketing messages")
def pacing_get(request: HttpRequest):
    """At most ``cap_messages`` marketing messages to one person in any ``cap_days`` days
    (0: no cap), none during quiet hours (``quiet_start``-``quiet_end``, wall clock in the
    contact's zone: their phone's, else their country's, else ``time_zone``), and a pause
    for a person who ignored ``pause_after_ignored`` messages in a row (0: never).
    Transactional messages are exempt."""
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return pacing_settings_get(workspace.pk)


@router.patch("/nurture/pacing", response=PacingOut, summary="Change the pacing")
def pacing_update(request: HttpRequest, payload: PacingPatch):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    changes = payload.dict(exclude_unset=True)
    nulls = [key for key, value in changes.items() if value is None]
    if nulls:
        raise ValidationFailed([FieldError(key, "Cannot be null.") for key in nulls])
    return pacing_settings_update(
        workspace_id=workspace.pk, actor=actor, changes=changes, now=timezone.now()
    )
