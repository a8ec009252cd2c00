"""Activities (history) imports: a file with one past activity a row, read into the rows
``tracking.history.history_ingest`` stores (docs/import.md, docs/scoring/history.md).

What the columns can mean (``ACTIVITY_TARGETS``): the contact (``contact_email``,
``contact_phone``, ``contact_id``, or ``external_id.<key>`` for a custom field marked
identifying; a row uses the first of them it has a value for, in that order), the ``type``
(an event type's value or label, e.g. ``email_open`` or "Email opened"; or one type for the
whole file with the ``event_type`` option), ``name``, ``occurred_at`` (ISO 8601 or a local
date written as the ``day_first`` option says), ``url``, ``client_id``; every other column
is a ``property`` of the activity under its header (or ignored: ``""``).

A row without a client id gets one made from its content (contact, type, name, time, url),
so importing the same file twice stores nothing new; two identical rows in one file are
one activity (give a client id column if they are not).
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from leadflow.contacts.importwrite import RowProblem
from leadflow.contacts.models import CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.imports.files import SourceFile, stored_copy
from leadflow.imports.mapping import (
    date_parse,
    day_first_default,
    day_first_detect,
    mapping_check,
    mapping_merge,
)
from leadflow.imports.models import ImportJob, ImportKind, ImportMapping, ImportStatus
from leadflow.tracking.history import MAX_ROWS, history_check, history_ingest
from leadflow.tracking.models import EventType
from leadflow.tracking.services import HISTORY_TYPES

CHUNK_SIZE = MAX_ROWS  # rows a transaction: one history_ingest call
CONTACT_TARGETS = ("contact_id", "contact_email", "contact_phone")
EXTERNAL_PREFIX = "external_id."
ACTIVITY_TARGETS = (
    *CONTACT_TARGETS,
    "type",
    "name",
    "occurred_at",
    "url",
    "client_id",
    "property",
)
# The ingest row's key for each contact target, in the order a row's contact is read.
CONTACT_KEYS = {"contact_id": "contact_id", "contact_email": "email", "contact_phone": "phone"}
SYNONYMS = {
    "contact_email": ["email", "e-mail", "email address", "contact email", "mail"],
    "contact_phone": ["phone", "mobile", "telephone", "phone number", "contact phone"],
    "contact_id": ["contact id", "leadflow id", "leadflow contact id"],
    "type": ["type", "event type", "activity type", "kind", "activity", "event"],
    "name": ["name", "activity name", "event name", "subject", "title"],
    "occurred_at": [
        "timestamp",
        "time",
        "date",
        "occurred at",
        "when",
        "datetime",
        "date time",
        "activity date",
        "event time",
        "event date",
    ],
    "url": ["url", "link", "page", "page url"],
    "client_id": ["id", "activity id", "event id", "client id"],
}
OPTION_KEYS = ("day_first", "day_first_from", "event_type")
PROBLEM_FIELDS = {"id": "client_id", "email": "contact_email", "phone": "contact_phone"}


def _key(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


_SYNONYM_INDEX = {_key(name): target for target, names in SYNONYMS.items() for name in names}
TYPE_INDEX = {
    _key(text): value
    for value, label in EventType.choices
    if value in HISTORY_TYPES
    for text in (value, label)
}


def identifying_fields(workspace: Workspace) -> list[CustomField]:
    return list(CustomField.objects.filter(workspace=workspace, identifying=True))


def activity_mapping_guess(headers: list[str], identifying: list[CustomField]) -> dict[str, str]:
    """{header: target} by names and synonyms; a column naming an identifying custom field
    is its external id; every other column is a property. A target is used once."""
    index = dict(_SYNONYM_INDEX)
    for definition in identifying:
        for name in (definition.key, definition.label):
            index[_key(name)] = f"{EXTERNAL_PREFIX}{definition.key}"
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = index.get(_key(header), "property")
        if target in used:
            target = "property"
        used.add(target)
        mapping[header] = target
    return mapping


def activity_mapping_check(
    mapping: dict[str, str], headers: list[str], identifying: list[CustomField], options: dict
) -> None:
    """ValidationFailed naming every unknown column or target, a target mapped twice, a
    mapping without a contact column or a time column, or without a type (column or
    option)."""
    keys = {definition.key for definition in identifying}
    errors = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if not isinstance(target, str):
            errors.append(FieldError(f"mapping.{header}", "Must be a field name or empty."))
        elif header not in headers:
            errors.append(FieldError(f"mapping.{header}", "No such column in the file."))
        elif target.startswith(EXTERNAL_PREFIX):
            if target.removeprefix(EXTERNAL_PREFIX) not in keys:
                errors.append(
                    FieldError(f"mapping.{header}", "Not a custom field marked identifying.")
                )
            elif any(t.startswith(EXTERNAL_PREFIX) for t in seen):
                errors.append(FieldError(f"mapping.{header}", "One external id column only."))
            seen[target] = header
        elif target and target not in ACTIVITY_TARGETS:
            errors.append(FieldError(f"mapping.{header}", f"Unknown field: {target}."))
        elif target and target != "property" and target in seen:
            errors.append(
                FieldError(f"mapping.{header}", f"{target} is mapped from {seen[target]!r} too.")
            )
        elif target:
            seen[target] = header
    if not any(t in CONTACT_TARGETS or t.startswith(EXTERNAL_PREFIX) for t in seen):
        errors.append(
            FieldError("mapping", "Map a column to the contact's email, phone, id or external id.")
        )
    if "occurred_at" not in seen:
        errors.append(FieldError("mapping", "Map a column to the time of the activity."))
    if "type" not in seen and not options.get("event_type"):
        errors.append(FieldError("mapping", "Map a column to the type, or choose one type."))
    if errors:
        raise ValidationFailed(errors)


def activity_options_clean(
    workspace: Workspace,
    options: dict | None,
    *,
    source: SourceFile | None = None,
    mapping: dict[str, str] | None = None,
) -> dict:
    """``event_type`` (a type for rows without one) and ``day_first`` (given, else read
    from the file's time column, else by the workspace country, as ``day_first_from``
    says); ValidationFailed naming each bad option."""
    options = dict(options or {})
    errors = [
        FieldError(f"options.{key}", "Unknown option.") for key in options if key not in OPTION_KEYS
    ]
    event_type = options.get("event_type") or ""
    if event_type and event_type not in HISTORY_TYPES:
        errors.append(FieldError("options.event_type", "Choose one of the listed types."))
    if options.get("day_first") is not None and not isinstance(options["day_first"], bool):
        errors.append(FieldError("options.day_first", "Must be true or false."))
    if errors:
        raise ValidationFailed(errors)
    day_first, day_first_from = options.get("day_first"), "option"
    if day_first is None or options.get("day_first_from") in ("file", "workspace"):
        day_first, day_first_from = None, "file"
        if source is not None and mapping is not None:
            times = {h: "created_at" for h, t in mapping.items() if t == "occurred_at"}
            day_first = day_first_detect(source, times, [])
        if day_first is None:
            day_first, day_first_from = day_first_default(workspace), "workspace"
    return {"event_type": event_type, "day_first": day_first, "day_first_from": day_first_from}


def external_field_of(mapping: dict[str, str]) -> str | None:
    for target in mapping.values():
        if target.startswith(EXTERNAL_PREFIX):
            return target.removeprefix(EXTERNAL_PREFIX)
    return None


def activity_row(
    headers: list[str], row: list[str], mapping: dict[str, str], options: dict
) -> dict[str, Any]:
    """One row as an activity for ``history_ingest``; ValidationFailed naming the columns
    of a bad type or time."""
    cells: dict[str, str] = {}
    properties: dict[str, str] = {}
    columns: dict[str, str] = {}
    for position, header in enumerate(headers):
        target = mapping.get(header) or ""
        value = row[position].strip() if position < len(row) else ""
        if target == "property":
            if value:
                properties[header] = value
        elif target:
            cells[target] = value
            columns[target] = header
    activity: dict[str, Any] = {"properties": properties}
    for target in (*CONTACT_TARGETS, *[t for t in cells if t.startswith(EXTERNAL_PREFIX)]):
        if cells.get(target):
            activity[CONTACT_KEYS.get(target, "external_id")] = cells[target]
            break
    errors = []
    type_text = cells.get("type") or options.get("event_type") or ""
    activity["type"] = TYPE_INDEX.get(_key(type_text), type_text)
    if activity["type"] not in HISTORY_TYPES:
        message = "Unknown type: use one of " + ", ".join(sorted(HISTORY_TYPES)) + "."
        errors.append(FieldError(columns.get("type", "type"), message))
    if cells.get("occurred_at"):
        try:
            moment = date_parse(cells["occurred_at"], day_first=options.get("day_first", True))
            activity["occurred_at"] = moment.isoformat()
        except ValueError as error:
            errors.append(FieldError(columns["occurred_at"], str(error)))
    else:
        errors.append(FieldError(columns.get("occurred_at", "occurred_at"), "A time is required."))
    for target in ("name", "url"):
        activity[target] = cells.get(target, "")
    if errors:
        raise ValidationFailed(errors)
    contact = [
        (key, activity[key]) for key in (*CONTACT_KEYS.values(), "external_id") if key in activity
    ]
    content = [
        contact,
        activity["type"],
        activity["name"],
        activity["occurred_at"],
        activity["url"],
    ]
    activity["id"] = cells.get("client_id") or (
        "row-" + hashlib.sha256(json.dumps(content).encode()).hexdigest()[:40]
    )
    return activity


def _column(field: str, mapping: dict[str, str]) -> str:
    """The file's column an ingest error's field came from (its field name if none)."""
    target = PROBLEM_FIELDS.get(field, field)
    if field == "external_id":
        target = next((t for t in mapping.values() if t.startswith(EXTERNAL_PREFIX)), field)
    for header, mapped in mapping.items():
        if mapped == target:
            return header
    return field


def _chunk_read(
    headers: list[str], batch: list[list[str]], start: int, mapping: dict, options: dict
) -> tuple[list[dict], list[int], list[RowProblem]]:
    """(activities, their row numbers, rows that cannot be read)."""
    activities, numbers, problems = [], [], []
    for offset, row in enumerate(batch):
        number = start + offset + 2  # the header is row 1
        try:
            activities.append(activity_row(headers, row, mapping, options))
            numbers.append(number)
        except ValidationFailed as failure:
            reasons = [(error.field, error.message) for error in failure.errors]
            problems.append(RowProblem(number=number, values=row, reasons=reasons))
    return activities, numbers, problems


def activities_chunk_write(
    *,
    workspace: Workspace,
    actor: Actor,
    headers: list[str],
    batch: list[list[str]],
    start: int,
    mapping: dict[str, str],
    options: dict,
) -> tuple[int, int, list[RowProblem]]:
    """Store a chunk's rows (at most ``CHUNK_SIZE``, starting at data row ``start``):
    (stored, stored before, rows not stored with their reasons by column)."""
    activities, numbers, problems = _chunk_read(headers, batch, start, mapping, options)
    if not activities:
        return 0, 0, problems
    result = history_ingest(
        workspace=workspace, rows=activities, actor=actor, external_field=external_field_of(mapping)
    )
    reasons: dict[int, list[tuple[str, str]]] = {}
    for error in result.errors:
        reasons.setdefault(error["index"], []).append(
            (_column(error["field"], mapping), error["message"])
        )
    for index, found in reasons.items():
        number = numbers[index]
        problems.append(RowProblem(number=number, values=batch[number - start - 2], reasons=found))
    return result.accepted, result.duplicates, problems


def activity_preview(
    *,
    workspace: Workspace,
    actor: Actor,
    source: SourceFile,
    mapping: dict[str, str],
    options: dict,
    count: int,
) -> list[dict[str, Any]]:
    """The first ``count`` rows as they would be stored: {"row", "values"} or {"row",
    "errors": [[column, reason]]}, the contacts looked up (nothing is stored)."""
    batch = []
    for row in source.rows():
        if len(batch) >= count:
            break
        batch.append(row)
    activities, numbers, problems = _chunk_read(source.headers, batch, 0, mapping, options)
    errors = {problem.number: [list(r) for r in problem.reasons] for problem in problems}
    if activities:
        checked = history_check(
            workspace=workspace,
            rows=activities,
            actor=actor,
            external_field=external_field_of(mapping),
        )
        for error in checked.errors:
            errors.setdefault(numbers[error["index"]], []).append(
                [_column(error["field"], mapping), error["message"]]
            )
    values = dict(zip(numbers, activities, strict=True))
    return [
        {"row": number, "errors": errors[number]}
        if number in errors
        else {"row": number, "values": values[number]}
        for number in range(2, len(batch) + 2)
    ]


def activities_draft_create(
    *,
    workspace: Workspace,
    actor: Actor,
    source: SourceFile,
    path: str | Path,
    filename: str,
    saved: ImportMapping | None = None,
) -> ImportJob:
    """A draft activities import of an uploaded file (the caller, ``import_upload``,
    checked the role and that ``saved`` is an activities mapping): its columns mapped by
    the saved mapping where it knows them, else by name; its options the saved ones."""
    total_rows = sum(1 for _ in source.rows())  # reads the whole file: a bad one fails here
    mapping = activity_mapping_guess(source.headers, identifying_fields(workspace))
    options: dict = {}
    if saved is not None:
        mapping = mapping_merge(source.headers, mapping, saved.mapping, "property")
        options = {key: value for key, value in saved.options.items() if key in OPTION_KEYS}
    options = activity_options_clean(workspace, options, source=source, mapping=mapping)
    return ImportJob.objects.create(
        workspace=workspace,
        created_by=actor.user,
        kind=ImportKind.ACTIVITIES,
        status=ImportStatus.DRAFT,
        path=str(stored_copy(path, source.kind)),
        original_filename=Path(filename).name[:255],
        mapping=mapping,
        options=options,
        total_rows=total_rows,
    )


def activities_configure(
    job: ImportJob,
    source: SourceFile,
    mapping: dict | None,
    options: dict | None,
    *,
    save_as: str = "",
) -> ImportJob:
    """Set an activities draft's mapping (columns not named are ignored) and options,
    checked together (and ``save_as``, the name to keep them under, at most 100
    characters): every problem is reported at once and nothing is saved then."""
    if mapping is None:
        mapping = dict(job.mapping)
    else:
        mapping = {header: mapping.get(header) or "" for header in source.headers} | {
            header: target for header, target in mapping.items() if header not in source.headers
        }
    errors: list[FieldError] = []
    if len(save_as) > 100:
        errors.append(FieldError("save_as", "At most 100 characters."))
    try:
        clean = activity_options_clean(
            job.workspace,
            job.options if options is None else options,
            source=source,
            mapping=mapping,
        )
    except ValidationFailed as failure:
        errors += failure.errors
        clean = {}
    try:
        activity_mapping_check(mapping, source.headers, identifying_fields(job.workspace), clean)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors:
        raise ValidationFailed(errors)
    job.mapping, job.options = mapping, clean
    job.save(update_fields=["mapping", "options"])
    return job


def job_mapping_check(job: ImportJob, headers: list[str]) -> None:
    """A job's mapping checked once more against the file and the workspace's fields (its
    custom fields may have changed since it was mapped), as its kind wants."""
    if job.kind == ImportKind.ACTIVITIES:
        identifying = identifying_fields(job.workspace)
        activity_mapping_check(job.mapping, headers, identifying, job.options or {})
    else:
        mapping_check(
            job.mapping, headers, list(CustomField.objects.filter(workspace=job.workspace))
        )
