"""The history import: a workspace's past activities, from its old tools, stored as tracked
events of known contacts so scoring and training can learn from them (docs/scoring/history.md).

``history_ingest`` takes rows (the API's ``POST /activities/bulk`` and the import app's
activities import both call it) and guarantees:

- each row names its contact by LeadFlow id, email, phone (normalised as contacts store
  them) or an external id (the value of a custom field marked identifying); a row whose
  contact is not in the workspace, or whose values are bad, is an error naming its index
  and field, never a silent drop, and the good rows are stored;
- a row's client ``id`` makes it idempotent: a UUID is the event id, anything else becomes
  ``uuid5(HISTORY_NAMESPACE, "<workspace id>:<id>")``, so a retried call or an imported file
  imported again stores nothing new (the rows are counted as duplicates);
- times of any age the workspace keeps events for (its retention, up to ten years) are kept
  as given (the tracker's 7-day window is for browsers only), up to ``FUTURE_WINDOW``
  ahead; an older one is a row error rather than a row retention would delete later;
- set-based: on PostgreSQL one statement finds every contact of a batch, keeps the first
  row of each client id, stores the ids (``ON CONFLICT DO NOTHING`` on the primary key of
  ``tracking_eventid``) and the events of the ids that went in, and names the rows whose
  contact it did not find (``_POSTGRES_STORE``); on SQLite one query finds the contacts
  (``contacts_resolve``, the same look-up) and two statements store the events
  (``services.event_rows_insert``). After the commit the listeners of
  ``tracking.listeners`` hear the contacts (scoring rescores them).
"""

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.models import Contact, CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, PermissionDenied, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.validation import email_normalise, phone_normalise, text_problem
from leadflow.tracking.listeners import events_announce
from leadflow.tracking.services import (
    FUTURE_WINDOW,
    HISTORY_TYPES,
    MAX_PROPERTIES_BYTES,
    NOT_WELL_FORMED,
    UNSTORABLE,
    event_rows_insert,
    properties_problem,
)

MAX_ROWS = 1000
MAX_CLIENT_ID = 200
# Fixed forever: a client id that is not a UUID is hashed under it (with the workspace id).
HISTORY_NAMESPACE = uuid.UUID("6f1c3a52-8e0b-4c57-9a57-5b1d1f0c7a31")
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CONTACT_KEYS = ("contact_id", "email", "phone", "external_id")
ROW_KEYS = {"id", "type", "name", "url", "occurred_at", "properties", *CONTACT_KEYS}
MAX_CONTACT_ID = 2**63 - 1


@dataclass
class HistoryResult:
    """What a call stored: rows stored, rows stored before (same client id), and one error
    per bad field of the rows not stored ({"index", "field", "message"})."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    contact_ids: set[int] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}


def history_event_id(workspace_id: int, client_id: str) -> uuid.UUID:
    """The event id of a client id: the UUID itself, else a UUID made from it."""
    if len(client_id) in (32, 36, 38, 45):  # the lengths a UUID may be written in
        try:
            return uuid.UUID(client_id)
        except ValueError:
            pass
    return uuid.uuid5(HISTORY_NAMESPACE, f"{workspace_id}:{client_id}")


_NAMESPACE_BYTES = HISTORY_NAMESPACE.bytes


def history_event_id_text(workspace_id: int, client_id: str) -> str:
    """``str(history_event_id(...))``, three times faster: the UUID 5 (RFC 4122: SHA-1 of
    the namespace and the name, version and variant bits set) written straight as text."""
    if len(client_id) in (32, 36, 38, 45):
        try:
            return str(uuid.UUID(client_id))
        except ValueError:
            pass
    digest = bytearray(
        hashlib.sha1(  # UUID 5 is SHA-1 by definition (RFC 4122), not a security use
            _NAMESPACE_BYTES + f"{workspace_id}:{client_id}".encode(), usedforsecurity=False
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def external_field_get(workspace: Workspace, key: str | None) -> CustomField | None:
    """The identifying custom field named ``key`` (None for no key); ValidationFailed
    when the workspace has none of that key, or it is not identifying."""
    if not key:
        return None
    definition = CustomField.objects.filter(workspace=workspace, key=key, identifying=True).first()
    if definition is None:
        raise ValidationFailed(
            [FieldError("external_field", "No identifying custom field has this key.")]
        )
    return definition


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
        return value  # the common case, without text_problem's encoding
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    if len(value) > limit:
        raise ValueError(f"At most {limit} characters.")
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _moment(value: Any, now: dt.datetime, retention_days: int) -> dt.datetime:
    """The row's time, checked against retention (``now - retention_days``, not before
    1970) and ``FUTURE_WINDOW``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("A time in ISO 8601 (2024-05-31T14:05:00Z) is required.")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Not a time in ISO 8601 (2024-05-31T14:05:00Z).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment < max(EARLIEST, now - dt.timedelta(days=retention_days)):
        # Retention would delete it at the next maintenance: refused now, never dropped
        # silently later (decision 0022).
        raise ValueError(
            f"Older than this workspace keeps events ({retention_days:,} days): raise the "
            "retention (Settings → Tracking & sites, up to 3,650 days) to import it."
        )
    if moment > now + FUTURE_WINDOW:
        raise ValueError("In the future.")
    return moment


def _contact_key(
    raw: Mapping, workspace: Workspace, external: CustomField | None
) -> tuple[str, Any]:
    """(how, value) of the row's contact: the first given of id, email, phone, external id."""
    how = next((key for key in CONTACT_KEYS if raw.get(key) not in (None, "")), None)
    if how is None:
        raise ValidationFailed(
            [FieldError("contact", "Name the contact: contact_id, email, phone or external_id.")]
        )
    value = raw[how]
    if how == "contact_id":
        if isinstance(value, str) and value.isascii() and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_CONTACT_ID:
            raise ValidationFailed([FieldError("contact_id", "A contact id (a whole number).")])
        return how, value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationFailed([FieldError(how, "Must be text.")])
    value = str(value).strip()
    if problem := text_problem(value):
        raise ValidationFailed([FieldError(how, problem)])
    if how == "email":
        return how, email_normalise(value)
    if how == "phone":
        return how, phone_normalise(value, default_country=workspace.default_country or "")
    if external is None:
        raise ValidationFailed(
            [
                FieldError(
                    "external_id", "Say which identifying custom field it is (external_field)."
                )
            ]
        )
    if len(value) > 500:
        raise ValidationFailed([FieldError("external_id", "At most 500 characters.")])
    return how, value


_FLAT = (str, int, bool, type(None))


def _properties_problem(properties: Any) -> str | None:
    """Why a row's properties cannot be stored (``properties_problem``, then at most
    ``MAX_PROPERTIES_BYTES`` of JSON), or None. A flat object of text, whole numbers,
    booleans and nulls (what a file's columns become) is checked without the walk, and
    without encoding it when even its longest JSON (every character a 12-character
    escape) fits."""
    if type(properties) is not dict and not isinstance(properties, Mapping):
        return "Must be an object."
    if not properties:
        return None
    texts = []
    if type(properties) is dict:
        for key, value in properties.items():
            kind = type(value)
            if type(key) is not str or kind not in _FLAT:
                texts = None
                break
            texts.append(key)
            if kind is str:
                texts.append(value)
            elif value is not None:
                texts.append(str(value))
    if texts:
        text = "".join(texts)
        if UNSTORABLE.search(text):
            return NOT_WELL_FORMED.capitalize() + "."
        if 12 * len(text) + 12 * len(properties) + 2 <= MAX_PROPERTIES_BYTES:
            return None
    elif problem := properties_problem(properties):
        return problem
    if len(json.dumps(properties, default=str)) > MAX_PROPERTIES_BYTES:
        return f"At most {MAX_PROPERTIES_BYTES} bytes of JSON."
    return None


@dataclass
class _Row:
    index: int
    contact: tuple[str, Any]
    values: dict  # event_id as text, event_type, name, url, occurred_at, properties


def _row_clean(
    raw: Any,
    index: int,
    *,
    workspace: Workspace,
    external: CustomField | None,
    now: dt.datetime,
) -> tuple[_Row | None, list[dict]]:
    def error(name: str, message: str) -> dict:
        return {"index": index, "field": name, "message": message}

    if type(raw) is not dict and not isinstance(raw, Mapping):
        return None, [error("activity", "Each activity is an object.")]
    errors = []
    if not ROW_KEYS.issuperset(raw):
        errors = [error(str(key), "Unknown field.") for key in raw if key not in ROW_KEYS]
    values: dict[str, Any] = {}
    client_id = raw.get("id")
    if isinstance(client_id, int) and not isinstance(client_id, bool):
        client_id = str(client_id)
    if not isinstance(client_id, str) or not client_id.strip():
        errors.append(error("id", "A client id (text, unique per activity) is required."))
    elif len(client_id) > MAX_CLIENT_ID or text_problem(client_id):
        errors.append(error("id", f"Well-formed text of at most {MAX_CLIENT_ID} characters."))
    else:
        values["event_id"] = history_event_id_text(workspace.pk, client_id.strip())
    if raw.get("type") not in HISTORY_TYPES:
        errors.append(error("type", f"One of: {', '.join(sorted(HISTORY_TYPES))}."))
    for name, limit in (("name", 200), ("url", 2000)):
        try:
            values[name] = _text(raw.get(name), limit)
        except ValueError as problem:
            errors.append(error(name, str(problem)))
    try:
        values["occurred_at"] = _moment(raw.get("occurred_at"), now, workspace.event_retention_days)
    except ValueError as problem:
        errors.append(error("occurred_at", str(problem)))
    properties = raw.get("properties")
    properties = {} if properties is None else properties
    if problem := _properties_problem(properties):
        errors.append(error("properties", problem))
    contact: tuple[str, Any] = ("", None)
    try:
        contact = _contact_key(raw, workspace, external)
    except ValidationFailed as failure:
        errors += [error(problem.field, problem.message) for problem in failure.errors]
    if errors:
        return None, errors
    values["event_type"] = raw["type"]
    values["properties"] = properties if type(properties) is dict else dict(properties)
    return _Row(index=index, contact=contact, values=values), []


def _among(column: str, values: list) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _found_sql(
    workspace: Workspace, keys: Iterable[tuple[str, Any]], external: CustomField | None
) -> tuple[str, list]:
    """A query of (how, key as text, contact id, whether it has no email) for every contact
    of the workspace that one of the keys names: a ``UNION ALL`` of one look-up a way of
    naming (on its index, but the external id's); ("", []) for no key."""
    wanted: dict[str, list] = {how: [] for how in CONTACT_KEYS}
    for how, value in set(keys):
        wanted[how].append(value)
    table = Contact._meta.db_table
    parts, params = [], []
    for how, column in (("contact_id", "id"), ("email", "email"), ("phone", "phone")):
        if wanted[how]:
            condition, values = _among(column, wanted[how])
            key = "CAST(id AS TEXT)" if how == "contact_id" else column
            parts.append(
                f"SELECT %s, {key}, id, email IS NULL FROM {table} "  # noqa: S608
                f"WHERE workspace_id = %s AND {condition}"
            )
            params += [how, workspace.pk, *values]
    if wanted["external_id"] and external is not None:
        if connection.vendor == "postgresql":
            value_sql, path = "custom_fields ->> %s", external.key
        else:
            value_sql, path = "CAST(json_extract(custom_fields, %s) AS TEXT)", f'$."{external.key}"'
        condition, values = _among(value_sql, wanted["external_id"])
        parts.append(
            f"SELECT %s, {value_sql}, id, email IS NULL FROM {table} "  # noqa: S608
            f"WHERE workspace_id = %s AND {condition}"
        )
        params += ["external_id", path, workspace.pk, path, *values]
    return " UNION ALL ".join(parts), params


def contacts_resolve(
    workspace: Workspace, keys: Iterable[tuple[str, Any]], external: CustomField | None
) -> dict[tuple[str, Any], int]:
    """{(how, value): contact id} for the keys found in the workspace, in one query. A phone
    shared by several contacts finds the one known only by phone first, then the oldest (as
    ``contact_upsert`` does); an external id shared by several, the oldest. (On
    PostgreSQL ``history_ingest`` runs the same look-up and ranking inside its insert.)"""
    sql, params = _found_sql(workspace, keys, external)
    if not sql:
        return {}
    found: dict[tuple[str, Any], tuple[bool, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for how, key, pk, no_email in cursor.fetchall():
            value = int(key) if how == "contact_id" else key
            rank = (not no_email if how == "phone" else False, pk)
            if (how, value) not in found or rank < found[(how, value)]:
                found[(how, value)] = rank
    return {key: rank[1] for key, rank in found.items()}


def _unknown_contact(row: _Row) -> dict:
    how = row.contact[0]
    message = (
        "No contact of this workspace has this id."
        if how == "contact_id"
        else f"No contact of this workspace has this {how.replace('_', ' ')}."
    )
    return {"index": row.index, "field": how, "message": message}


def _checked(
    workspace: Workspace, rows: list[Any], actor: Actor, external_field: str | None
) -> tuple[HistoryResult, list[_Row], CustomField | None, dt.datetime]:
    """The batch's rows checked one by one (no query but the external field's): the result
    with their errors, and the good rows."""
    membership = actor.membership
    if membership is not None and not membership.can("write"):
        raise PermissionDenied("Your role does not allow importing activities.")
    if not isinstance(rows, list):
        raise ValidationFailed([FieldError("activities", "A list of activities.")])
    if len(rows) > MAX_ROWS:
        raise ValidationFailed([FieldError("activities", f"At most {MAX_ROWS:,} activities.")])
    external = external_field_get(workspace, external_field)
    now = timezone.now()
    result = HistoryResult()
    good: list[_Row] = []
    for index, raw in enumerate(rows):
        row, errors = _row_clean(raw, index, workspace=workspace, external=external, now=now)
        if row is None:
            result.errors += errors
        else:
            good.append(row)
    return result, good, external, now


def _prepared(
    workspace: Workspace, rows: list[Any], actor: Actor, external_field: str | None
) -> tuple[HistoryResult, dict[str, dict], dt.datetime]:
    """The batch checked and its contacts found: the result with the rows' errors (and
    repeated ids counted as duplicates), and the events to store by id."""
    result, good, external, now = _checked(workspace, rows, actor, external_field)
    contacts = contacts_resolve(workspace, (row.contact for row in good), external)
    fresh: dict[str, dict] = {}
    for row in good:
        contact_id = contacts.get(row.contact)
        if contact_id is None:
            result.errors.append(_unknown_contact(row))
            continue
        event = {
            **row.values,
            "contact_id": contact_id,
            "visitor_id": None,
            "session_id": None,
            "referrer": "",
        }
        if event["event_id"] in fresh:
            result.duplicates += 1  # the same client id twice in one batch: the first wins
        else:
            fresh[event["event_id"]] = event
    result.errors.sort(key=lambda error: error["index"])
    return result, fresh, now


# PostgreSQL: one statement finds the contacts (the look-up of ``_found_sql``, ranked as
# ``contacts_resolve`` ranks), keeps the first row of each client id, stores the ids
# (ON CONFLICT DO NOTHING: an id stored before stores nothing) and the events of the ids
# that went in, and answers what it stored and which rows named no contact.
_POSTGRES_STORE = """WITH found (how, lookup, contact_id, no_email) AS ({found}),
best AS (SELECT DISTINCT ON (how, lookup) how, lookup, contact_id FROM found
    ORDER BY how, lookup, how = 'phone' AND NOT no_email, contact_id),
e AS MATERIALIZED (SELECT e.*, best.contact_id FROM jsonb_to_recordset(%s::jsonb) AS
    e(idx int, how text, lookup text, event_id uuid, event_type text, name text, url text,
    properties jsonb, occurred_at timestamptz)
    LEFT JOIN best ON best.how = e.how AND best.lookup = e.lookup),
r AS MATERIALIZED (SELECT DISTINCT ON (event_id) * FROM e WHERE contact_id IS NOT NULL
    ORDER BY event_id, idx),
fresh AS (INSERT INTO tracking_eventid (workspace_id, event_id, occurred_at)
    SELECT %s, event_id, occurred_at FROM r ORDER BY event_id
    ON CONFLICT DO NOTHING RETURNING event_id),
stored AS (INSERT INTO tracking_event (workspace_id, event_id, visitor_id, session_id,
    contact_id, event_type, name, url, referrer, properties, occurred_at, received_at)
    SELECT %s, r.event_id, NULL, NULL, r.contact_id, r.event_type, r.name, r.url, '',
    r.properties, r.occurred_at, %s FROM r JOIN fresh USING (event_id)
    RETURNING contact_id)
SELECT (SELECT count(*) FROM stored), (SELECT array_agg(DISTINCT contact_id) FROM stored),
    (SELECT array_agg(idx) FROM e WHERE contact_id IS NULL)"""


def _postgres_store(
    workspace: Workspace,
    result: HistoryResult,
    good: list[_Row],
    external: CustomField | None,
    now: dt.datetime,
) -> None:
    found, params = _found_sql(workspace, (row.contact for row in good), external)
    found = found or "SELECT '', '', 0, true WHERE false"
    payload = []
    for row in good:
        event = row.values
        event["idx"] = row.index
        event["how"], event["lookup"] = row.contact[0], str(row.contact[1])
        event["occurred_at"] = event["occurred_at"].isoformat()
        payload.append(event)
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTGRES_STORE.format(found=found),
            [*params, json.dumps(payload), workspace.pk, workspace.pk, now],
        )
        result.accepted, contact_ids, missing = cursor.fetchone()
    result.contact_ids = set(contact_ids or ())
    by_index = {row.index: row for row in good}
    result.errors += [_unknown_contact(by_index[index]) for index in missing or ()]
    result.duplicates = len(good) - len(missing or ()) - result.accepted


def history_check(
    *,
    workspace: Workspace,
    rows: list[Any],
    actor: Actor,
    external_field: str | None = None,
) -> HistoryResult:
    """What ``history_ingest`` would say of the rows' fields and contacts, storing nothing
    (the import's preview): the result's errors."""
    return _prepared(workspace, rows, actor, external_field)[0]


def history_ingest(
    *,
    workspace: Workspace,
    rows: list[Any],
    actor: Actor,
    external_field: str | None = None,
) -> HistoryResult:
    """Store the good rows of a batch (at most ``MAX_ROWS``) as events of their contacts;
    see the module docstring. ValidationFailed for a batch that is not a list, is too
    long, or names an external field the workspace has not marked identifying."""
    if connection.vendor == "postgresql":
        result, good, external, now = _checked(workspace, rows, actor, external_field)
        if good:
            with transaction.atomic():
                _postgres_store(workspace, result, good, external, now)
                events_announce(workspace_id=workspace.pk, contact_ids=result.contact_ids)
            result.errors.sort(key=lambda error: error["index"])
        return result
    result, fresh, now = _prepared(workspace, rows, actor, external_field)
    if fresh:
        events = [{**event, "event_id": uuid.UUID(event["event_id"])} for event in fresh.values()]
        with transaction.atomic():
            stored = event_rows_insert(workspace_id=workspace.pk, rows=events, now=now)
            result.contact_ids = {row["contact_id"] for row in events if row["event_id"] in stored}
            result.accepted = len(stored)
            events_announce(workspace_id=workspace.pk, contact_ids=result.contact_ids)
        result.duplicates += len(fresh) - result.accepted
    return result
