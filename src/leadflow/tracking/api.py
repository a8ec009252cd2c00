"""REST endpoints for events from elsewhere: ad impressions, social follows and shares,
replies (brand exposure and relationship engagement), in the tracker's batch format; and the
history import of past activities of known contacts (``tracking.history``)."""

from typing import Any

from ninja import Field, Router, Schema

from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.tracking import history, services

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


class ActivitiesIn(StrictSchema):
    activities: list[Any] = Field(
        max_length=history.MAX_ROWS,
        description="Up to 1,000 past activities, each {id (client id: a UUID or any text "
        "up to 200 characters, unique per activity), one of contact_id / email / phone / "
        "external_id, type, name, occurred_at (ISO 8601, any age), url, properties "
        "(object)}. Types: " + ", ".join(sorted(services.HISTORY_TYPES)) + ".",
    )
    external_field: str | None = Field(
        None,
        description="Key of the identifying custom field that external_id values are "
        "matched against.",
    )


class ActivityErrorOut(Schema):
    index: int
    field: str
    message: str


class ActivitiesOut(Schema):
    accepted: int
    duplicates: int
    errors: list[ActivityErrorOut]


@router.post(
    "/activities/bulk",
    response={200: ActivitiesOut},
    tags=["activities"],
    summary="Import up to 1,000 past activities of known contacts",
)
def activities_bulk(request, payload: ActivitiesIn):
    """Each activity is stored as a tracked event of its contact with its original time.
    Activities whose client id was stored before count as duplicates (a retry stores
    nothing twice); an activity with a bad field or an unknown contact is reported by
    index and field while the others are stored. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, ApiScope.CONTACTS_WRITE)

    def produce():
        result = history.history_ingest(
            workspace=workspace,
            rows=payload.activities,
            actor=actor,
            external_field=payload.external_field,
        )
        return json_response(result.as_dict(), status=200)

    return idempotent(request, workspace, produce)
