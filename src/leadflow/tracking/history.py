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
- set-based: one query finds every contact of a batch, one statement (two on SQLite)
  stores its events with their ids (``services.event_rows_insert``); after the commit the
  listeners of ``tracking.listeners`` hear the contacts (scoring rescores them).
"""

import datetime as dt
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
    event_rows_store,
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
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    if len(value) > limit:
        raise ValueError(f"At most {limit} characters.")
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _moment(value: Any, now: dt.datetime, retention_days: int) -> dt.datetime:
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
    given = [key for key in CONTACT_KEYS if raw.get(key) not in (None, "")]
    if not given:
        raise ValidationFailed(
            [FieldError("contact", "Name the contact: contact_id, email, phone or external_id.")]
        )
    how, value = given[0], raw[given[0]]
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


def _properties_problem_fast(properties: Mapping) -> str | None:
    """``properties_problem``, without its walk for the common case: a flat object of
    text, whole numbers, booleans and nulls (what a file's columns become)."""
    if type(properties) is dict and all(type(value) in _FLAT for value in properties.values()):
        texts = [key for key in properties if type(key) is str]
        texts += [value for value in properties.values() if type(value) is str]
        return NOT_WELL_FORMED.capitalize() + "." if UNSTORABLE.search("".join(texts)) else None
    return properties_problem(properties)


@dataclass
class _Row:
    index: int
    contact: tuple[str, Any]
    values: dict


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

    if not isinstance(raw, Mapping):
        return None, [error("activity", "Each activity is an object.")]
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
        values["event_id"] = history_event_id(workspace.pk, client_id.strip())
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
    if not isinstance(properties, Mapping):
        errors.append(error("properties", "Must be an object."))
    elif problem := _properties_problem_fast(properties):
        errors.append(error("properties", problem))
    elif len(json.dumps(properties, default=str)) > MAX_PROPERTIES_BYTES:
        errors.append(error("properties", f"At most {MAX_PROPERTIES_BYTES} bytes of JSON."))
    contact: tuple[str, Any] = ("", None)
    try:
        contact = _contact_key(raw, workspace, external)
    except ValidationFailed as failure:
        errors += [error(problem.field, problem.message) for problem in failure.errors]
    if errors:
        return None, errors
    values.update(event_type=raw["type"], properties=dict(properties))
    return _Row(index=index, contact=contact, values=values), []


def _among(column: str, values: list) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def contacts_resolve(
    workspace: Workspace, keys: Iterable[tuple[str, Any]], external: CustomField | None
) -> dict[tuple[str, Any], int]:
    """{(how, value): contact id} for the keys found in the workspace, in one query. A phone
    shared by several contacts finds the one known only by phone first, then the oldest (as
    ``contact_upsert`` does); an external id shared by several, the oldest."""
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
    if not parts:
        return {}
    found: dict[tuple[str, Any], tuple[bool, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for how, key, pk, no_email in cursor.fetchall():
            value = int(key) if how == "contact_id" else key
            rank = (not no_email if how == "phone" else False, pk)
            if (how, value) not in found or rank < found[(how, value)]:
                found[(how, value)] = rank
    return {key: rank[1] for key, rank in found.items()}


def _prepared(
    workspace: Workspace, rows: list[Any], actor: Actor, external_field: str | None
) -> tuple[HistoryResult, dict[uuid.UUID, dict], dt.datetime]:
    """The batch checked and its contacts found: the result with the rows' errors (and
    repeated ids counted as duplicates), and the events to store by id."""
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
        result.errors += errors
        if row is not None:
            good.append(row)
    contacts = contacts_resolve(workspace, (row.contact for row in good), external)
    fresh: dict[uuid.UUID, dict] = {}
    for row in good:
        contact_id = contacts.get(row.contact)
        if contact_id is None:
            how = row.contact[0]
            message = (
                "No contact of this workspace has this id."
                if how == "contact_id"
                else f"No contact of this workspace has this {how.replace('_', ' ')}."
            )
            result.errors.append({"index": row.index, "field": how, "message": message})
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
    result, fresh, now = _prepared(workspace, rows, actor, external_field)
    if fresh:
        with transaction.atomic():
            result.accepted, result.contact_ids = event_rows_store(
                workspace_id=workspace.pk, rows=list(fresh.values()), now=now
            )
            events_announce(workspace_id=workspace.pk, contact_ids=result.contact_ids)
        result.duplicates += len(fresh) - result.accepted
    return result
