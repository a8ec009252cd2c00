"""Core's own API routes: the API key's workspace and its settings."""

from ninja import Field, Router, Schema

from leadflow.core import services
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import ApiScope

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
