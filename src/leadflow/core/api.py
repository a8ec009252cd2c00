"""Core's own API routes: the API key's workspace and its settings, and members' in-app
notifications."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from leadflow.core import notifications, services
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import ApiScope, Notification, User

router = Router(tags=["workspace"])


class WorkspaceOut(Schema):
    name: str
    slug: str
    default_country: str
    sales_sees_all_leads: bool
    public_key: str = Field(
        description="For the tracker and embeds: it may only write "
        "capture data, from the allowed origins."
    )
    allowed_origins: list[str]
    respect_privacy_signals: bool
    tracking_requires_consent: bool
    event_retention_days: int


class WorkspacePatch(StrictSchema):
    name: str | None = None
    default_country: str | None = None
    sales_sees_all_leads: bool | None = None
    allowed_origins: list[str] | None = Field(
        None, description="Sites such as https://www.example.com; an empty list accepts any."
    )
    respect_privacy_signals: bool | None = None
    tracking_requires_consent: bool | None = None
    event_retention_days: int | None = Field(None, ge=1, le=3650)


@router.get("/workspace", response=WorkspaceOut, summary="The API key's workspace")
def workspace_get(request):
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    return workspace


@router.patch("/workspace", response=WorkspaceOut, summary="Change workspace settings")
def workspace_patch(request, payload: WorkspacePatch):
    workspace, actor = require_scope(request, ApiScope.SETTINGS_WRITE)
    # Given settings change; one given as null is an error (no setting can be empty).
    changes = payload.dict(exclude_unset=True)
    nulls = [
        FieldError(name, "May not be null.") for name, value in changes.items() if value is None
    ]
    if nulls:
        raise ValidationFailed(nulls)
    return services.workspace_update(workspace=workspace, actor=actor, **changes)


# --- in-app notifications -----------------------------------------------------------------------
# An API key is not a person: it reads a member's notifications by ``user_id`` (an integration
# that forwards them to chat, say) and marks any of the workspace's notifications read.


class NotificationOut(Schema):
    id: int
    user_id: int
    kind: str
    title: str
    body: str
    link: str
    contact_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    unread: int


def _member(workspace, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, memberships__workspace=workspace).first()
    if user is None:
        raise ValidationFailed([FieldError("user_id", "Not a member of this workspace.")])
    return user


@router.get(
    "/notifications",
    response=NotificationPage,
    tags=["notifications"],
    summary="A member's notifications, newest first",
)
def notification_list(
    request,
    user_id: int,
    unread: bool = False,
    limit: int = Query(50, ge=1, le=200),
):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    user = _member(workspace, user_id)
    rows = notifications.notification_list(workspace, user, unread=unread)[:limit]
    return {
        "items": list(rows),
        "unread": notifications.notification_unread_count(workspace, user),
    }


class UnreadOut(Schema):
    unread: int


@router.get(
    "/notifications/unread-count",
    response=UnreadOut,
    tags=["notifications"],
    summary="How many of a member's notifications are unread",
)
def notification_unread(request, user_id: int):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_READ)
    return {
        "unread": notifications.notification_unread_count(workspace, _member(workspace, user_id))
    }


@router.post(
    "/notifications/{notification_id}/read",
    response=NotificationOut,
    tags=["notifications"],
    summary="Mark one notification read",
)
def notification_read(request, notification_id: int):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_WRITE)
    row = Notification.objects.filter(workspace=workspace, pk=notification_id).first()
    if row is None:
        raise NotFound("No such notification.")
    notifications.notification_mark_read(workspace=workspace, user=row.user, notification_id=row.pk)
    row.refresh_from_db()
    return row


class ReadAllIn(StrictSchema):
    user_id: int


@router.post(
    "/notifications/read-all",
    response=UnreadOut,
    tags=["notifications"],
    summary="Mark all of a member's notifications read",
)
def notification_read_all(request, payload: ReadAllIn):
    workspace, _ = require_scope(request, ApiScope.CONTACTS_WRITE)
    user = _member(workspace, payload.user_id)
    notifications.notifications_mark_all_read(workspace=workspace, user=user)
    return {"unread": 0}
