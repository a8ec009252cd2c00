"""REST endpoint for events from elsewhere: ad impressions, social follows and shares,
replies (brand exposure and relationship engagement), in the tracker's batch format."""

from typing import Any

from ninja import Field, Router, Schema

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.tracking import services

router = Router(tags=["events"])


class EventBatchIn(StrictSchema):
    visitor_id: str | None = Field(None, description="Default visitor id of the events.")
    session_id: str | None = Field(None, description="Default session id of the events.")
    events: list[dict[str, Any]] = Field(
        description="Up to 100 events: {id (uuid), type, name, url, referrer, ts (ISO or "
        "ms), props, visitor_id, session_id, session}. Types: pageview, click, "
        "outbound, form_view, custom, identify, impression, follow, share, reply."
    )


class EventBatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[dict[str, Any]]


@router.post("/events", response={202: EventBatchOut}, summary="Send a batch of events")
def events_post(request, payload: EventBatchIn):
    """Stored before the 202; events already stored (same id) are counted as duplicates;
    bad events are reported by index while the good ones are kept."""
    workspace, _ = require_scope(request, ApiScope.EVENTS_WRITE)
    result = services.events_ingest(
        workspace=workspace,
        batch=payload.dict(),
        user_agent=request.headers.get("User-Agent", "api"),
        allowed_types=services.API_TYPES,
    )
    if not result.accepted and not result.duplicates and result.errors:
        raise _rejected(result)
    return json_response(result.as_dict(), status=202)


def _rejected(result: services.IngestResult) -> ValidationFailed:
    return ValidationFailed(
        [
            FieldError(f"events[{error['index']}].{error['field']}", error["message"])
            for error in result.errors
        ]
    )
