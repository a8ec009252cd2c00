"""Writes for tracking: event ingestion, visitor identification, retention.

``events_ingest`` validates a batch, keeps the good events and reports the bad ones by
index, and stores everything with set-based SQL in one transaction before the caller
answers 202. A retried batch stores nothing twice (the client's event id is unique).

Longer than the house's ~600 lines: ingestion, identification and retention share the
visitor and visit upserts that make ingestion one statement per table (decision 0011).
"""

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record, contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.patterns import pattern_problem
from leadflow.core.publickit import UTM_KEYS
from leadflow.core.services import audit_record
from leadflow.core.validation import email_normalise
from leadflow.tracking import partitions, selectors
from leadflow.tracking.channels import classify, workspace_rules
from leadflow.tracking.kinds import VISITOR_LINKED
from leadflow.tracking.listeners import events_announce
from leadflow.tracking.models import (
    Channel,
    ChannelRule,
    Event,
    EventId,
    EventType,
    Visitor,
    VisitSession,
)

MAX_EVENTS = 100
PAST_WINDOW = dt.timedelta(days=7)
FUTURE_WINDOW = dt.timedelta(minutes=10)
MAX_PROPERTIES_BYTES = 4096
MAX_PROPERTIES_DEPTH = 16
MAX_KEY = 64
CLICK_IDS = ("gclid", "fbclid", "msclkid", "li_fat_id")
PUBLIC_TYPES = {"pageview", "click", "outbound", "form_view", "custom", "identify"}
API_TYPES = PUBLIC_TYPES | {"impression", "follow", "share", "reply"}
# The history import (tracking.history) takes any type but identify, which links a browser.
HISTORY_TYPES = set(EventType.values) - {"identify"}


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


# What no database column can hold: NUL, and half of a surrogate pair (a browser that cut
# an emoji in two). json.loads joins escaped pairs, so any surrogate left is a lone one.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
NOT_WELL_FORMED = "must be well-formed text (no null character, no lone surrogate)"


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ValueError("must be text")
    text = str(value)
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters")
    if UNSTORABLE.search(text):
        raise ValueError(NOT_WELL_FORMED)
    return text


def properties_problem(properties: Mapping) -> str | None:
    """Why these properties cannot be stored as JSON (every key and text well-formed,
    numbers finite, nesting bounded), or None. Walked without recursion."""
    stack: list[tuple[Any, int]] = [(properties, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list):
            if depth > MAX_PROPERTIES_DEPTH:
                return f"At most {MAX_PROPERTIES_DEPTH} levels of nesting."
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and UNSTORABLE.search(key):
                    return NOT_WELL_FORMED.capitalize() + "."
                stack.append((item, depth + 1))
        elif isinstance(value, str) and UNSTORABLE.search(value):
            return NOT_WELL_FORMED.capitalize() + "."
        elif isinstance(value, float) and not math.isfinite(value):
            return "Numbers must be finite."
    return None


def _timestamp(value: Any, now: dt.datetime) -> dt.datetime:
    required = "a time (ISO 8601 or milliseconds since 1970) is required"
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        elif isinstance(value, str):
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
        else:
            raise ValueError(required)
    except (OverflowError, OSError):  # 1e308, or a year the platform cannot hold
        raise ValueError(required) from None
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
        elif UNSTORABLE.search(value):
            errors.append(error(key, NOT_WELL_FORMED.capitalize() + "."))
        values[key] = value
    try:
        values["occurred_at"] = _timestamp(raw.get("ts"), now)
    except ValueError as problem:
        errors.append(error("ts", str(problem).capitalize() + "."))
    properties = raw.get("props") or {}
    if not isinstance(properties, Mapping):
        errors.append(error("props", "Must be an object."))
    elif problem := properties_problem(properties):
        errors.append(error("props", problem))
    elif len(json.dumps(properties, default=str)) > MAX_PROPERTIES_BYTES:
        errors.append(error("props", f"At most {MAX_PROPERTIES_BYTES} bytes of JSON."))
    try:
        session = _session_context(raw.get("session"))
    except ValueError as problem:
        errors.append(error("session", str(problem).capitalize() + "."))
        session = None
    if raw.get("type") == "identify" and isinstance(properties, Mapping):
        properties = dict(properties)
        if isinstance(properties.get("token"), str) and 0 < len(properties["token"]) <= 500:
            pass  # a tracked link's signed token, checked against the workspace when stored
        else:
            try:
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
    """Four statements whatever the batch size: visitors, visits, events (with their ids;
    two statements on SQLite), visit counters. An id repeated within the batch is stored
    once, from its first event."""
    received = len(events)
    first: dict[uuid.UUID, CleanEvent] = {}
    for event in events:
        first.setdefault(event.event_id, event)
    events = list(first.values())
    visitors = _visitors_upsert(workspace, {event.visitor_key for event in events}, user_agent, now)
    sessions = _sessions_upsert(workspace, events, visitors)
    stored = _events_insert(workspace, events, visitors, sessions, now)
    result.accepted = len(stored)
    result.duplicates = received - len(stored)
    fresh = [event for event in events if event.event_id in stored]
    _sessions_touch(fresh, sessions)
    # Known contacts did something on the site: listeners (scoring) hear it after commit.
    events_announce(
        workspace_id=workspace.pk,
        contact_ids={visitors[event.visitor_key][1] for event in fresh},
    )
    for event in fresh:
        if event.event_type == EventType.IDENTIFY:
            visitor_pk = visitors[event.visitor_key][0]
            _identify_by_email(workspace, visitor_pk, event.properties)
            result.identified += 1


def _values(rows: list[tuple]) -> tuple[str, list]:
    """A multi-row VALUES list and its flat parameters."""
    width = len(rows[0])
    marks = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(rows))
    return marks, [value for row in rows for value in row]


def _visitors_upsert(
    workspace: Workspace, keys: set[str], user_agent: str, now: dt.datetime
) -> dict[str, tuple[int, int | None]]:
    """Create the visitors not seen before and note when each was last seen; returns
    key -> (id, contact id)."""
    marks, params = _values([(workspace.pk, key, now, now, user_agent) for key in keys])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_visitor (workspace_id, visitor_key, first_seen_at, "  # noqa: S608
            f"last_seen_at, user_agent) VALUES {marks} "
            "ON CONFLICT (workspace_id, visitor_key) DO UPDATE "
            "SET last_seen_at = excluded.last_seen_at RETURNING visitor_key, id, contact_id",
            params,
        )
        return {key: (pk, contact_id) for key, pk, contact_id in cursor.fetchall()}


def _sessions_upsert(
    workspace: Workspace, events: list[CleanEvent], visitors: dict[str, tuple[int, int | None]]
) -> dict[str, int]:
    """Create the visits not seen before, with where they came from; an existing visit
    keeps its origin. Returns key -> id."""
    # A visit's origin comes from its earliest event that carries the session context
    # (lf.js sends it with the first event of a session), else from its earliest event.
    first: dict[str, CleanEvent] = {}
    for event in sorted(events, key=lambda e: (e.session is None, e.occurred_at)):
        first.setdefault(event.session_key, event)
    rules = workspace_rules(workspace.pk)
    rows = []
    for key, event in first.items():
        context = event.session or {
            "landing_page": event.url,
            "referrer": event.referrer,
            "utm": {},
            "click_ids": {},
        }
        touch = classify(
            utm=context["utm"],
            click_ids=context["click_ids"],
            referrer=context["referrer"],
            landing_page=context["landing_page"],
            workspace_rules=rules,
        )
        visitor_pk, contact_id = visitors[event.visitor_key]
        rows.append(
            (
                workspace.pk,
                visitor_pk,
                key,
                contact_id,
                event.occurred_at,
                event.occurred_at,
                context["landing_page"],
                context["referrer"],
                *[context["utm"].get(name, "") for name in UTM_KEYS],
                json.dumps(context["click_ids"]),
                touch.channel,
                touch.source,
                touch.medium,
                touch.campaign,
                0,
            )
        )
    marks, params = _values(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_visitsession (workspace_id, visitor_id, session_key, "  # noqa: S608
            "contact_id, started_at, last_event_at, landing_page, referrer, utm_source, "
            "utm_medium, utm_campaign, utm_term, utm_content, click_ids, channel, source, "
            f"medium, campaign, pageviews) VALUES {marks} "
            "ON CONFLICT (workspace_id, session_key) DO UPDATE "
            "SET session_key = excluded.session_key RETURNING session_key, id",
            params,
        )
        return dict(cursor.fetchall())


def _events_insert(
    workspace: Workspace,
    events: list[CleanEvent],
    visitors: dict[str, tuple[int, int | None]],
    sessions: dict[str, int],
    now: dt.datetime,
) -> set[uuid.UUID]:
    """The whole batch from a single JSON parameter; returns the ids stored (the others
    were stored before, whatever their times: a retried batch)."""
    rows = [
        {
            "event_id": event.event_id,
            "visitor_id": visitors[event.visitor_key][0],
            "session_id": sessions[event.session_key],
            "contact_id": visitors[event.visitor_key][1],
            "event_type": event.event_type,
            "name": event.name,
            "url": event.url,
            "referrer": event.referrer,
            "properties": event.properties,
            "occurred_at": event.occurred_at,
        }
        for event in events
    ]
    return event_rows_insert(workspace_id=workspace.pk, rows=rows, now=now)


EVENT_COLUMNS = (
    "event_id",
    "visitor_id",
    "session_id",
    "contact_id",
    "event_type",
    "name",
    "url",
    "referrer",
    "properties",
    "occurred_at",
)


# One statement: the ids go into tracking_eventid first (its primary key decides, in id
# order so two batches sharing ids cannot deadlock), and only the events whose id went in
# are stored. A concurrent batch with the same id waits for this one's commit and then
# stores nothing.
_POSTGRES_WITH = (
    "WITH e AS MATERIALIZED (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS "
    "e(event_id uuid, visitor_id bigint, session_id bigint, contact_id bigint, "
    "event_type text, name text, url text, referrer text, properties jsonb, "
    "occurred_at timestamptz)), fresh AS (INSERT INTO tracking_eventid "
    "(workspace_id, event_id, occurred_at) SELECT %s, event_id, occurred_at FROM e "
    "ORDER BY event_id ON CONFLICT DO NOTHING RETURNING event_id)"
)
_POSTGRES_EVENTS = (
    "INSERT INTO tracking_event (workspace_id, event_id, visitor_id, session_id, contact_id, "
    "event_type, name, url, referrer, properties, occurred_at, received_at) SELECT %s, "
    "e.event_id, e.visitor_id, e.session_id, e.contact_id, e.event_type, e.name, e.url, "
    "e.referrer, e.properties, e.occurred_at, %s FROM e JOIN fresh USING (event_id)"
)


def event_rows_insert(*, workspace_id: int, rows: list[dict], now: dt.datetime) -> set[uuid.UUID]:
    """Store events given as {column: value} (``EVENT_COLUMNS``; ``event_id`` a UUID,
    ``occurred_at`` an aware datetime) with their ids, in one statement on PostgreSQL and
    two on SQLite; returns the ids stored. An id stored before (whatever its time) stores
    nothing: the caller counts it as a duplicate. Ids must be unique within ``rows``."""
    postgres = connection.vendor == "postgresql"
    rows = [
        {
            **row,
            "event_id": str(row["event_id"]) if postgres else row["event_id"].hex,
            "occurred_at": (
                row["occurred_at"].isoformat()
                if postgres
                else str(row["occurred_at"].astimezone(dt.UTC).replace(tzinfo=None))
            ),
        }
        for row in rows
    ]
    if not rows:
        return set()
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                f"{_POSTGRES_WITH} {_POSTGRES_EVENTS} RETURNING event_id",
                [json.dumps(rows), workspace_id, workspace_id, now],
            )
            return {row[0] for row in cursor.fetchall()}
    # SQLite (one writer at a time): the ids first, then the events whose id went in.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_eventid (workspace_id, event_id, occurred_at) SELECT %s, "
            "json_extract(value, '$.event_id'), json_extract(value, '$.occurred_at') "
            "FROM json_each(%s) WHERE true ON CONFLICT DO NOTHING RETURNING event_id",
            [workspace_id, json.dumps(rows)],
        )
        fresh = {row[0] for row in cursor.fetchall()}
        rows = [row for row in rows if row["event_id"] in fresh]
        if not rows:
            return set()
        fields = ", ".join(f"json_extract(value, '$.{name}')" for name in EVENT_COLUMNS[:8])
        columns = f"workspace_id, {', '.join(EVENT_COLUMNS)}, received_at"
        cursor.execute(
            f"INSERT INTO tracking_event ({columns}) SELECT %s, {fields}, "  # noqa: S608
            "json(json_extract(value, '$.properties')), json_extract(value, "
            "'$.occurred_at'), %s FROM json_each(%s)",
            [workspace_id, now, json.dumps(rows)],
        )
    return {uuid.UUID(row["event_id"]) for row in rows}


def _sessions_touch(events: list[CleanEvent], sessions: dict[str, int]) -> None:
    """Each visit's last event time and page-view count, from new events only (a retried
    batch counts nothing twice). One short UPDATE per visit in the batch (usually one)."""
    latest: dict[int, dt.datetime] = {}
    views: dict[int, int] = {}
    for event in events:
        pk = sessions[event.session_key]
        latest[pk] = max(latest.get(pk, event.occurred_at), event.occurred_at)
        views[pk] = views.get(pk, 0) + (event.event_type == EventType.PAGEVIEW)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        for pk, moment in latest.items():
            cursor.execute(
                f"UPDATE tracking_visitsession SET last_event_at = {greatest}(last_event_at, "  # noqa: S608
                "%s), pageviews = pageviews + %s WHERE id = %s",
                [moment, views[pk], pk],
            )


LINK_SALT = "leadflow.tracking.link"
LINK_MAX_AGE = 180 * 24 * 3600


def contact_link_token(contact: Contact) -> str:
    """A signed token naming a contact, for links sent to that person (emails): lf.js reads
    it from the `lf_c` URL parameter and the browser that opens the link is linked to them."""
    return signing.dumps(
        {"w": contact.workspace_id, "c": contact.pk}, salt=LINK_SALT, compress=False
    )


def _contact_from_link_token(workspace: Workspace, token: str) -> Contact | None:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("w") != workspace.pk:
        return None
    return Contact.objects.filter(workspace=workspace, pk=data.get("c")).first()


def _identify_by_email(workspace: Workspace, visitor_pk: int, properties: dict) -> None:
    if "token" in properties and "email" not in properties:
        contact = _contact_from_link_token(workspace, properties["token"])
        if contact is not None:  # a forged or foreign token links nobody
            visitor = Visitor.objects.get(pk=visitor_pk)
            visitor_link(workspace=workspace, visitor=visitor, contact=contact, reason="link")
        return

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

    activity_record(
        workspace=workspace,
        contact=contact,
        kind=VISITOR_LINKED,
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
    *, workspace: Workspace, visitor_key: str, contact_id: int, reason: str
) -> None:
    """The same, from the visitor id a form embed sent along with a submission.

    A browser never seen before has no history to move: it is created already linked, in
    one statement. A known one goes through ``visitor_link``.
    """
    if not visitor_key or not 8 <= len(visitor_key) <= MAX_KEY:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_visitor (workspace_id, visitor_key, contact_id, "
            "first_seen_at, last_seen_at, identified_at, user_agent) "
            "VALUES (%s, %s, %s, %s, %s, %s, '') "
            "ON CONFLICT (workspace_id, visitor_key) DO NOTHING RETURNING id",
            [workspace.pk, visitor_key, contact_id, now, now, now],
        )
        if cursor.fetchone() is not None:
            return
    visitor = Visitor.objects.get(workspace=workspace, visitor_key=visitor_key)
    contact = Contact.objects.get(pk=contact_id)
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
    """Delete each workspace's events older than its retention period and their ids (so
    an id is unique among the events kept), set-based, then drop whole monthly partitions
    nobody keeps any more. Returns events deleted."""
    now = now or timezone.now()
    deleted = 0
    for workspace_id, days in Workspace.objects.values_list("pk", "event_retention_days"):
        cutoff = now - dt.timedelta(days=days)
        old = {"workspace_id": workspace_id, "occurred_at__lt": cutoff}
        with transaction.atomic():
            deleted += Event.objects.filter(**old).delete()[0]
            EventId.objects.filter(**old).delete()
    longest = max(Workspace.objects.values_list("event_retention_days", flat=True), default=0)
    partitions.drop_before(now - dt.timedelta(days=longest))
    return deleted


def events_move_to_contact(workspace: Workspace, from_id: int, to_id: int) -> int:
    """When two contacts merge, the merged one's tracked events follow (set-based)."""
    return Event.objects.filter(workspace=workspace, contact_id=from_id).update(contact_id=to_id)


# --- channel rules ----------------------------------------------------------------------------

RULE_PATTERNS = ("utm_source", "utm_medium", "referrer_domain")
RULE_FIELDS = ("channel", *RULE_PATTERNS, "click_id", "position")
MAX_RULE_POSITION = 10_000


def _channel_rule_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as stored, or ValidationFailed naming every bad field. Patterns must compile
    (they are matched case-insensitively against whole values) and a rule needs at least
    one condition: a rule without any would put every visit in its channel."""
    errors = [FieldError(key, "Unknown field.") for key in data if key not in RULE_FIELDS]
    clean: dict[str, Any] = {}
    channel = str(data.get("channel") or "")
    if channel not in Channel.values:
        errors.append(FieldError("channel", "Choose one of the listed channels."))
    clean["channel"] = channel
    for name in RULE_PATTERNS:
        pattern = str(data.get(name) or "").strip()
        if len(pattern) > 200:
            errors.append(FieldError(name, "At most 200 characters."))
        else:
            problem = pattern and pattern_problem(pattern)
            if problem:
                errors.append(FieldError(name, problem))
        clean[name] = pattern
    click_id = str(data.get("click_id") or "")
    if click_id and click_id not in CLICK_IDS:
        errors.append(FieldError("click_id", f"One of: {', '.join(CLICK_IDS)}."))
    clean["click_id"] = click_id
    position = data.get("position", 0)
    if isinstance(position, str) and _is_small_number(position.strip()):
        position = int(position)
    if (
        not isinstance(position, int)
        or isinstance(position, bool)
        or not 0 <= position <= MAX_RULE_POSITION
    ):
        errors.append(FieldError("position", f"A whole number, 0 to {MAX_RULE_POSITION}."))
    clean["position"] = position
    if not errors and not any(clean[name] for name in (*RULE_PATTERNS, "click_id")):
        errors.append(
            FieldError(
                "__all__", "Give at least one condition: a source, medium, referrer or click id."
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return clean


def _is_small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


@transaction.atomic
def channel_rule_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> ChannelRule:
    """Add a workspace channel rule. It is checked before the built-in table, lowest
    position first, for visits that start from now on (recorded visits keep their channel).
    """
    clean = _channel_rule_clean(data)
    rule = ChannelRule.objects.create(workspace=workspace, **clean)
    audit_record(
        workspace=workspace, actor=actor, action="channel_rule.created", obj=rule, changes=clean
    )
    return rule


@transaction.atomic
def channel_rule_update(
    *, workspace: Workspace, rule_id: int, data: Mapping[str, Any], actor: Actor
) -> ChannelRule:
    """Change a rule of this workspace (another workspace's id is NotFound); the audit
    entry names each changed setting as [old, new]."""
    rule = selectors.channel_rule_get(workspace, rule_id)
    clean = _channel_rule_clean({**{name: getattr(rule, name) for name in RULE_FIELDS}, **data})
    diff = {
        name: [getattr(rule, name), value]
        for name, value in clean.items()
        if getattr(rule, name) != value
    }
    if diff:
        for name, (_, value) in diff.items():
            setattr(rule, name, value)
        rule.save(update_fields=list(diff))
        audit_record(
            workspace=workspace, actor=actor, action="channel_rule.updated", obj=rule, changes=diff
        )
    return rule


@transaction.atomic
def channel_rule_delete(*, workspace: Workspace, rule_id: int, actor: Actor) -> None:
    """Delete a rule of this workspace; visits it classified keep their channel."""
    rule = selectors.channel_rule_get(workspace, rule_id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="channel_rule.deleted",
        obj=rule,
        changes={name: getattr(rule, name) for name in RULE_FIELDS},
    )
    rule.delete()
