"""Writes for tracking: event ingestion, visitor identification, retention.

``events_ingest`` validates a batch, keeps the good events and reports the bad ones by
index, and stores everything with set-based SQL in one transaction before the caller
answers 202. A retried batch stores nothing twice (the client's event id is unique).
"""

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.models import ActivityKind, Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.tracking.channels import classify
from leadflow.tracking.models import ChannelRule, Event, EventType, Visitor, VisitSession

MAX_EVENTS = 100
PAST_WINDOW = dt.timedelta(days=7)
FUTURE_WINDOW = dt.timedelta(minutes=10)
MAX_PROPERTIES_BYTES = 4096
MAX_KEY = 64
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS = ("gclid", "fbclid", "msclkid", "li_fat_id")
PUBLIC_TYPES = {"pageview", "click", "outbound", "form_view", "custom", "identify"}
API_TYPES = PUBLIC_TYPES | {"impression", "follow", "share", "reply"}


@dataclass
class CleanEvent:
    event_id: uuid.UUID
    visitor_key: str
    session_key: str
    event_type: str
    name: str
    url: str
    referrer: str
    properties: dict
    occurred_at: dt.datetime
    session: dict | None


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    identified: int = 0

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.errors),
            "errors": self.errors,
        }


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ValueError("must be text")
    text = str(value)
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters")
    return text


def _timestamp(value: Any, now: dt.datetime) -> dt.datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    elif isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    else:
        raise ValueError("a time (ISO 8601 or milliseconds since 1970) is required")
    if not now - PAST_WINDOW <= moment <= now + FUTURE_WINDOW:
        raise ValueError("outside the accepted window (the last 7 days)")
    return moment


def _session_context(raw: Any) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError("session must be an object")
    utm = raw.get("utm") or {}
    clicks = raw.get("click_ids") or {}
    if not isinstance(utm, Mapping) or not isinstance(clicks, Mapping):
        raise ValueError("utm and click_ids must be objects")
    return {
        "landing_page": _text(raw.get("landing_page"), 2000),
        "referrer": _text(raw.get("referrer"), 2000),
        "utm": {key: _text(utm[key], 200) for key in UTM_KEYS if utm.get(key)},
        "click_ids": {key: _text(clicks[key], 200) for key in CLICK_IDS if clicks.get(key)},
    }


def event_clean(
    raw: Any, *, index: int, now: dt.datetime, defaults: Mapping[str, Any], allowed_types: set[str]
) -> tuple[CleanEvent | None, list[dict]]:
    """One event checked; returns it, or the errors naming its index and field."""

    def error(name: str, message: str) -> dict:
        return {"index": index, "field": name, "message": message}

    if not isinstance(raw, Mapping):
        return None, [error("event", "Each event is an object.")]
    errors = []
    known = {
        "id",
        "type",
        "name",
        "url",
        "referrer",
        "ts",
        "props",
        "visitor_id",
        "session_id",
        "session",
    }
    errors += [error(key, "Unknown field.") for key in raw if key not in known]
    values: dict[str, Any] = {}
    try:
        values["event_id"] = uuid.UUID(str(raw.get("id")))
    except ValueError:
        errors.append(error("id", "A UUID made by the client is required."))
    if raw.get("type") not in allowed_types:
        errors.append(error("type", f"One of: {', '.join(sorted(allowed_types))}."))
    for name, key, limit in (
        ("name", "name", 200),
        ("url", "url", 2000),
        ("referrer", "referrer", 2000),
    ):
        try:
            values[name] = _text(raw.get(key), limit)
        except ValueError as problem:
            errors.append(error(key, str(problem).capitalize() + "."))
    for key in ("visitor_id", "session_id"):
        value = raw.get(key, defaults.get(key))
        if not isinstance(value, str) or not 8 <= len(value) <= MAX_KEY:
            errors.append(error(key, "An id of 8 to 64 characters is required."))
        values[key] = value
    try:
        values["occurred_at"] = _timestamp(raw.get("ts"), now)
    except ValueError as problem:
        errors.append(error("ts", str(problem).capitalize() + "."))
    properties = raw.get("props") or {}
    if not isinstance(properties, Mapping):
        errors.append(error("props", "Must be an object."))
    elif len(json.dumps(properties, default=str)) > MAX_PROPERTIES_BYTES:
        errors.append(error("props", f"At most {MAX_PROPERTIES_BYTES} bytes of JSON."))
    try:
        session = _session_context(raw.get("session"))
    except ValueError as problem:
        errors.append(error("session", str(problem).capitalize() + "."))
        session = None
    if raw.get("type") == "identify":
        from leadflow.core.validation import email_normalise

        try:
            properties = dict(properties)
            properties["email"] = email_normalise(str(properties.get("email") or ""))
        except ValidationFailed:
            errors.append(error("props.email", "identify needs a valid email."))
    if errors:
        return None, errors
    return CleanEvent(
        event_id=values["event_id"],
        visitor_key=values["visitor_id"],
        session_key=values["session_id"],
        event_type=raw["type"],
        name=values["name"],
        url=values["url"],
        referrer=values["referrer"],
        properties=dict(properties),
        occurred_at=values["occurred_at"],
        session=session,
    ), []


def events_ingest(
    *,
    workspace: Workspace,
    batch: Any,
    user_agent: str = "",
    allowed_types: set[str] = PUBLIC_TYPES,
) -> IngestResult:
    """Validate a batch and store its good events; see the module docstring."""
    if not isinstance(batch, Mapping):
        raise ValidationFailed([FieldError("body", "A JSON object is required.")])
    events = batch.get("events")
    if not isinstance(events, list) or not events:
        raise ValidationFailed([FieldError("events", "A non-empty list of events.")])
    if len(events) > MAX_EVENTS:
        raise ValidationFailed([FieldError("events", f"At most {MAX_EVENTS} events.")])
    now = timezone.now()
    defaults = {"visitor_id": batch.get("visitor_id"), "session_id": batch.get("session_id")}
    result = IngestResult()
    good: list[CleanEvent] = []
    for index, raw in enumerate(events):
        event, errors = event_clean(
            raw, index=index, now=now, defaults=defaults, allowed_types=allowed_types
        )
        result.errors += errors
        if event:
            good.append(event)
    if good:
        with transaction.atomic():
            _store(workspace, good, user_agent[:500], now, result)
    return result


def _store(
    workspace: Workspace,
    events: list[CleanEvent],
    user_agent: str,
    now: dt.datetime,
    result: IngestResult,
) -> None:
    visitors = _visitors_ensure(workspace, {event.visitor_key for event in events}, user_agent, now)
    sessions = _sessions_ensure(workspace, events, visitors)
    rows = [
        (
            workspace.pk,
            str(event.event_id),
            visitors[event.visitor_key][0],
            sessions[event.session_key],
            visitors[event.visitor_key][1],
            event.event_type,
            event.name,
            event.url,
            event.referrer,
            json.dumps(event.properties),
            event.occurred_at,
            now,
        )
        for event in events
    ]
    marks = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    marks = marks.replace("%s, %s, %s)", f"%s{cast}, %s, %s)")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (workspace_id, event_id, visitor_id, session_id, "  # noqa: S608
            "contact_id, event_type, name, url, referrer, properties, occurred_at, "
            f"received_at) VALUES {marks} ON CONFLICT DO NOTHING RETURNING event_id",
            [value for row in rows for value in row],
        )
        stored = {str(uuid.UUID(str(row[0]))) for row in cursor.fetchall()}
    result.accepted = len(stored)
    result.duplicates = len(events) - len(stored)
    fresh = [event for event in events if str(event.event_id) in stored]
    _sessions_touch(workspace, fresh, sessions)
    for event in fresh:
        if event.event_type == EventType.IDENTIFY:
            visitor_pk = visitors[event.visitor_key][0]
            _identify_by_email(workspace, visitor_pk, event.properties)
            result.identified += 1


def _visitors_ensure(
    workspace: Workspace, keys: set[str], user_agent: str, now: dt.datetime
) -> dict[str, tuple[int, int | None]]:
    Visitor.objects.bulk_create(
        [
            Visitor(
                workspace=workspace,
                visitor_key=key,
                first_seen_at=now,
                last_seen_at=now,
                user_agent=user_agent,
            )
            for key in keys
        ],
        ignore_conflicts=True,
    )
    Visitor.objects.filter(workspace=workspace, visitor_key__in=keys).update(last_seen_at=now)
    return {
        key: (pk, contact_id)
        for pk, key, contact_id in Visitor.objects.filter(
            workspace=workspace, visitor_key__in=keys
        ).values_list("pk", "visitor_key", "contact_id")
    }


def _sessions_ensure(
    workspace: Workspace, events: list[CleanEvent], visitors: dict[str, tuple[int, int | None]]
) -> dict[str, int]:
    # The visit's origin comes from its earliest event that carries the session context
    # (lf.js sends it with the first event of a session), else from its earliest event.
    first: dict[str, CleanEvent] = {}
    for event in sorted(events, key=lambda e: (e.session is None, e.occurred_at)):
        first.setdefault(event.session_key, event)
    keys = set(first)
    existing = dict(
        VisitSession.objects.filter(workspace=workspace, session_key__in=keys).values_list(
            "session_key", "pk"
        )
    )
    missing = keys - set(existing)
    if missing:
        rules = list(ChannelRule.objects.filter(workspace=workspace))
        new = []
        for key in missing:
            event = first[key]
            context = event.session or {
                "landing_page": event.url,
                "referrer": event.referrer,
                "utm": {},
                "click_ids": {},
            }
            attribution = classify(
                utm=context["utm"],
                click_ids=context["click_ids"],
                referrer=context["referrer"],
                landing_page=context["landing_page"],
                workspace_rules=rules,
            )
            visitor_pk, contact_id = visitors[event.visitor_key]
            new.append(
                VisitSession(
                    workspace=workspace,
                    visitor_id=visitor_pk,
                    session_key=key,
                    contact_id=contact_id,
                    started_at=event.occurred_at,
                    last_event_at=event.occurred_at,
                    landing_page=context["landing_page"],
                    referrer=context["referrer"],
                    click_ids=context["click_ids"],
                    channel=attribution.channel,
                    source=attribution.source,
                    medium=attribution.medium,
                    campaign=attribution.campaign,
                    **{key_: context["utm"].get(key_, "") for key_ in UTM_KEYS},
                )
            )
        VisitSession.objects.bulk_create(new, ignore_conflicts=True)
        existing = dict(
            VisitSession.objects.filter(workspace=workspace, session_key__in=keys).values_list(
                "session_key", "pk"
            )
        )
    return existing


def _sessions_touch(
    workspace: Workspace, events: list[CleanEvent], sessions: dict[str, int]
) -> None:
    """Set-based: each session's last event time and page-view count."""
    from django.db.models import Case, F, IntegerField, Value, When
    from django.db.models.functions import Greatest

    latest: dict[int, dt.datetime] = {}
    views: dict[int, int] = {}
    for event in events:
        pk = sessions[event.session_key]
        latest[pk] = max(latest.get(pk, event.occurred_at), event.occurred_at)
        views[pk] = views.get(pk, 0) + (event.event_type == EventType.PAGEVIEW)
    if not latest:
        return
    VisitSession.objects.filter(pk__in=latest).update(
        last_event_at=Greatest(
            F("last_event_at"),
            Case(*[When(pk=pk, then=Value(moment)) for pk, moment in latest.items()]),
        ),
        pageviews=F("pageviews")
        + Case(
            *[When(pk=pk, then=Value(count)) for pk, count in views.items()],
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


def _identify_by_email(workspace: Workspace, visitor_pk: int, properties: dict) -> None:
    from leadflow.contacts.services import contact_upsert

    data = {"email": properties["email"]}
    for key in ("first_name", "last_name", "company", "phone"):
        if isinstance(properties.get(key), str) and properties[key].strip():
            data[key] = properties[key].strip()
    try:
        result = contact_upsert(
            workspace=workspace, actor=Actor.system("tracker identify"), data=data
        )
    except ValidationFailed:
        data = {"email": properties["email"]}
        result = contact_upsert(
            workspace=workspace, actor=Actor.system("tracker identify"), data=data
        )
    visitor = Visitor.objects.get(pk=visitor_pk)
    visitor_link(workspace=workspace, visitor=visitor, contact=result.contact, reason="identify")


# --- identity ------------------------------------------------------------------------------


def visitor_link(*, workspace: Workspace, visitor: Visitor, contact: Contact, reason: str) -> bool:
    """Link a browser to the contact it identified as; its earlier sessions and events
    join the contact's history, and the contact's first and last touch come from them.

    The shared-computer rule: a visitor linked to another contact is re-linked to this one
    for what comes next, but nothing already recorded moves and the two contacts are never
    merged. Returns True when the link changed.
    """
    if visitor.contact_id == contact.pk:
        return False
    previous = visitor.contact_id
    now = timezone.now()
    Visitor.objects.filter(pk=visitor.pk).update(contact=contact, identified_at=now)
    visitor.contact_id = contact.pk
    if previous is None:
        VisitSession.objects.filter(visitor_id=visitor.pk, contact__isnull=True).update(
            contact=contact
        )
        Event.objects.filter(
            workspace=workspace, visitor_id=visitor.pk, contact_id__isnull=True
        ).update(contact_id=contact.pk)
    _attribution_update(workspace, contact)
    from leadflow.contacts.services import activity_record

    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.VISITOR_LINKED,
        actor=Actor.system(reason),
        data={
            "visitor": visitor.visitor_key,
            "reason": reason,
            "previous_contact_id": previous,
            "sessions": VisitSession.objects.filter(visitor_id=visitor.pk, contact=contact).count(),
        },
    )
    return True


def visitor_link_by_key(
    *, workspace: Workspace, visitor_key: str, contact: Contact, reason: str
) -> None:
    """The same, from the visitor id a form embed sent along with a submission."""
    if not visitor_key or not 8 <= len(visitor_key) <= MAX_KEY:
        return
    visitor, _ = Visitor.objects.get_or_create(workspace=workspace, visitor_key=visitor_key)
    visitor_link(workspace=workspace, visitor=visitor, contact=contact, reason=reason)


def _attribution_update(workspace: Workspace, contact: Contact) -> None:
    """First touch from the contact's first visit (when it has none yet), last touch from
    its latest visit."""
    sessions = VisitSession.objects.filter(workspace=workspace, contact=contact)
    first = sessions.order_by("started_at", "id").first()
    last = sessions.order_by("-started_at", "-id").first()
    if first is None:
        return
    changes = {}
    # A visit before the contact existed is an earlier touch than whatever created it.
    if not contact.first_touch_channel or first.started_at <= contact.created_at:
        changes.update(
            first_touch_source=first.source,
            first_touch_medium=first.medium,
            first_touch_campaign=first.campaign,
            first_touch_channel=first.channel,
        )
    changes.update(
        last_touch_source=last.source,
        last_touch_medium=last.medium,
        last_touch_campaign=last.campaign,
        last_touch_channel=last.channel,
    )
    Contact.objects.filter(pk=contact.pk).update(**changes)
    for key, value in changes.items():
        setattr(contact, key, value)


# --- retention --------------------------------------------------------------------------------


def events_prune(*, now: dt.datetime | None = None) -> int:
    """Delete each workspace's events older than its retention period (set-based), then
    drop whole monthly partitions nobody keeps any more. Returns rows deleted."""
    from leadflow.tracking import partitions

    now = now or timezone.now()
    deleted = 0
    for workspace_id, days in Workspace.objects.values_list("pk", "event_retention_days"):
        cutoff = now - dt.timedelta(days=days)
        deleted += Event.objects.filter(workspace_id=workspace_id, occurred_at__lt=cutoff).delete()[
            0
        ]
    longest = max(Workspace.objects.values_list("event_retention_days", flat=True), default=0)
    partitions.drop_before(now - dt.timedelta(days=longest))
    return deleted


def events_move_to_contact(workspace: Workspace, from_id: int, to_id: int) -> int:
    """When two contacts merge, the merged one's tracked events follow (set-based)."""
    return Event.objects.filter(workspace=workspace, contact_id=from_id).update(contact_id=to_id)
