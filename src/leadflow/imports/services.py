"""Contact import from CSV files: reading, column mapping and a set-based, resumable write.

Guarantees:
- the file is decoded whatever its usual encoding (UTF-8 with or without BOM, UTF-16,
  Windows-1252 / Latin-1) and delimiter (, ; tab |); quoted newlines stay inside a cell;
- every row is cleaned by ``contact_input_clean`` like any other entry point. A bad value
  in an optional cell is left out and the row stored without it (a warning); a row whose
  email is bad, that has no usable email or phone, or (with ``bad_values="fail_row"``) any
  bad value is not stored at all (an error). Both are listed in a problems CSV next to the
  file, with the row's own cells, so it can be fixed and imported again;
- any failure of a run marks the job failed with a readable reason; a running job whose
  worker vanished (no heartbeat for ``STALE_AFTER``) is marked failed when read or by
  ``leadflow maintain``;
- rows are written in chunks of ``CHUNK_SIZE``: one lookup of existing contacts and a few
  set-based statements per chunk (``importwrite``), committed in one transaction together
  with the job's ``next_row`` and counts, so a restart resumes without duplicates; large
  files on PostgreSQL are pipelined (``_run_pipelined``);
- cell values are stored as text, never evaluated (a cell "=1+1" stays "=1+1").
"""

import concurrent.futures
import contextlib
import csv
import datetime as dt
import functools
import itertools
import logging
import multiprocessing
import re
import shutil
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.contacts.importwrite import (
    ChunkResult,
    ContactsChanged,
    ImportRow,
    PreparedChunk,
    RowProblem,
    chunk_apply,
    chunk_prepare,
    chunk_write,
)
from leadflow.contacts.inputs import (
    CONTACT_INPUT_FIELDS,
    contact_input_clean,
)
from leadflow.contacts.models import Activity, ActivityKind, CustomField, LifecycleStage
from leadflow.contacts.services import custom_field_create, duplicates_find_among
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from leadflow.core.models import Membership, Workspace
from leadflow.core.tasks import task_schedule
from leadflow.imports.files import SourceFile, source_open
from leadflow.imports.models import ImportJob, ImportMapping, ImportStatus

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2500  # rows a transaction; 2,500 measured a little faster than 1,000
# Files with this many rows left are cleaned a chunk ahead by a helper process.
CLEAN_HELPER_MIN_ROWS = 20_000
# Files with this many rows left are written by a second thread on PostgreSQL while the next
# chunk is prepared (see _run_pipelined).
PIPELINE_MIN_ROWS = 20_000
PREVIEW_ROWS = 5
# A running job without a committed chunk for this long has lost its worker (a chunk takes
# seconds; the set-up of a resumed Excel file a minute at most).
STALE_AFTER = dt.timedelta(minutes=10)
# Rows read to tell how the file writes its dates (31/12 or 12/31).
DATE_SCAN_ROWS = 5000
NOTE_MAX = 10_000
# Contact fields a column can fill (ids are not imported from files).
IMPORT_FIELDS = sorted(CONTACT_INPUT_FIELDS - {"owner_id", "company_id", "custom_fields"})
SYNONYMS = {
    "email": ["email", "e-mail", "email address", "e-mail address", "mail", "emailaddress"],
    "first_name": ["first name", "firstname", "given name", "forename", "first"],
    "last_name": ["last name", "lastname", "surname", "family name", "last"],
    "phone": [
        "phone",
        "mobile",
        "telephone",
        "phone number",
        "mobile phone",
        "tel",
        "cell",
        "mobile number",
    ],
    "company": ["company", "organisation", "organization", "company name", "employer", "account"],
    "job_title": ["job title", "title", "position", "role", "jobtitle"],
    "country": ["country", "country code", "nation"],
    "tags": ["tags", "tag", "labels", "lists"],
    "source": ["source", "lead source", "utm source"],
    "medium": ["medium", "utm medium"],
    "campaign": ["campaign", "utm campaign"],
    "channel": ["channel"],
    "lifecycle_stage": ["lifecycle stage", "stage", "lifecycle"],
    "temperature": ["temperature"],
    "consent_status": ["consent", "consent status"],
    "outcome": ["outcome", "result", "won lost", "deal outcome", "deal status", "converted"],
    "note": ["note", "notes", "comment", "comments", "remarks"],
    "created_at": [
        "created",
        "created at",
        "created date",
        "date created",
        "create date",
        "created on",
        "signup date",
        "sign up date",
        "lead date",
    ],
}
CHOICE_TARGETS = {"lifecycle_stage", "temperature", "consent_status"}
# Targets beyond contact fields: the historical outcome (mapped to a lifecycle stage), the
# original created date and a note for the contact's timeline.
SPECIAL_TARGETS = ("outcome", "created_at", "note")
TARGETS = sorted({*IMPORT_FIELDS, *SPECIAL_TARGETS})
# Historical outcomes of an old system, as lifecycle stages: won deals are customers, lost
# or disqualified leads are disqualified (the predictive score learns from both).
OUTCOME_STAGES = {
    **dict.fromkeys(
        ["won", "closed won", "customer", "converted", "yes", "y", "true", "1", "success", "sale"],
        "customer",
    ),
    **dict.fromkeys(
        [
            "lost",
            "closed lost",
            "disqualified",
            "unqualified",
            "no",
            "n",
            "false",
            "0",
            "rejected",
            "junk",
        ],
        "disqualified",
    ),
}
# Countries that write dates month first (05/01/2024 is May 1st); elsewhere day first.
MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "MH", "PW", "BZ"}
CONFLICT_SIDES = ("file", "existing")
# What a bad value in an optional cell does: left out of a row that is stored (a warning),
# or the whole row is not stored (an error).
BAD_VALUES = ("drop_value", "fail_row")
# Where the day-first reading of dates came from.
DAY_FIRST_FROM = ("option", "file", "workspace")
_LOCAL_DATE = re.compile(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}\b")


def _header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


_SYNONYM_INDEX = {
    _header_key(synonym): target for target, names in SYNONYMS.items() for synonym in names
} | {_header_key(name): name for name in TARGETS}


# --- mapping -------------------------------------------------------------------------------


def mapping_guess(headers: list[str], custom_fields: list[CustomField]) -> dict[str, str]:
    """{header: target} by field names and common synonyms, case-insensitive; "" = ignored.

    A target is used once: the first column that names it wins, later ones are ignored.
    """
    index = dict(_SYNONYM_INDEX)
    for definition in custom_fields:
        for name in (definition.key, definition.label):
            # A custom field named "Notes" keeps its column; other synonyms keep theirs.
            if index.get(_header_key(name)) in (None, "note"):
                index[_header_key(name)] = f"custom_fields.{definition.key}"
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = index.get(_header_key(header), "")
        if target in used:
            target = ""
        used.add(target)
        mapping[header] = target
    return mapping


def mapping_check(
    mapping: dict[str, str], headers: list[str], custom_fields: list[CustomField]
) -> None:
    """ValidationFailed naming every unknown column or target, a field mapped from two
    columns, or a mapping without email and phone."""
    keys = {definition.key for definition in custom_fields}
    errors = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if not isinstance(target, str):
            errors.append(FieldError(f"mapping.{header}", "Must be a field name or empty."))
        elif header not in headers:
            errors.append(FieldError(f"mapping.{header}", "No such column in the file."))
        elif (
            target
            and target not in TARGETS
            and not (
                target.startswith("custom_fields.")
                and target.removeprefix("custom_fields.") in keys
            )
        ):
            errors.append(FieldError(f"mapping.{header}", f"Unknown field: {target}."))
        elif target and target != "tags" and target in seen:
            errors.append(
                FieldError(f"mapping.{header}", f"{target} is mapped from {seen[target]!r} too.")
            )
        elif target:
            seen[target] = header
    if not {"email", "phone"} & set(seen):
        errors.append(FieldError("mapping", "Map a column to email or phone."))
    if errors:
        raise ValidationFailed(errors)


def date_parse(value: str, *, day_first: bool) -> dt.datetime:
    """An aware datetime from ISO 8601 or a local date ("31/12/2024", "12/31/2024 14:05",
    "31.12.24"); ValueError with a reason otherwise. A date without a time is midnight UTC."""
    text = value.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        date_part, _, time_part = text.partition(" ")
        order = ("%d", "%m") if day_first else ("%m", "%d")
        for separator in "/.-":
            for year in ("%Y", "%y"):
                try:
                    day = dt.datetime.strptime(date_part, separator.join([*order, year]))
                except ValueError:
                    continue
                parsed = day
                break
            if parsed:
                break
        if parsed and time_part:
            for layout in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p"):
                try:
                    moment = dt.datetime.strptime(time_part.strip(), layout)
                except ValueError:
                    continue
                parsed = parsed.replace(
                    hour=moment.hour, minute=moment.minute, second=moment.second
                )
                break
            else:
                parsed = None
    if parsed is None:
        style = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
        raise ValueError(f"Not a date: use YYYY-MM-DD or {style}.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed > timezone.now() + dt.timedelta(days=1):
        raise ValueError("The date is in the future.")
    return parsed


def outcome_stage(value: str) -> str:
    """The lifecycle stage of a historical outcome ("won" -> customer, "lost" ->
    disqualified, or a stage name itself); ValueError naming the accepted values."""
    key = _header_key(value)
    if key in OUTCOME_STAGES:
        return OUTCOME_STAGES[key]
    if key in LifecycleStage.values:
        return key
    raise ValueError(
        f"Unknown outcome {value!r}: use won/lost, customer/disqualified, 1/0 or a lifecycle stage."
    )


def day_first_default(workspace: Workspace) -> bool:
    return (workspace.default_country or "").upper() not in MONTH_FIRST_COUNTRIES


# --- rows ----------------------------------------------------------------------------------


def _row_data(
    headers: list[str], row: list[str], mapping: dict[str, str], options: dict
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The row as contact input, {input key: column} to name a bad cell's column, and the
    special targets' raw values ({"outcome": "won", "created_at": "2024-01-31"})."""
    data: dict[str, Any] = {}
    columns: dict[str, str] = {}
    custom: dict[str, Any] = {}
    special: dict[str, str] = {}
    tags: list[str] = list(options.get("tags") or [])
    for position, header in enumerate(headers):
        target = mapping.get(header)
        if not target:
            continue
        value = row[position].strip() if position < len(row) else ""
        if target == "tags":
            tags += [name for name in re.split(r"[,;|]", value) if name.strip()]
            columns["tags"] = header
        elif target in SPECIAL_TARGETS:
            if value:
                special[target] = value
            columns[target] = header
        elif target.startswith("custom_fields."):
            key = target.removeprefix("custom_fields.")
            if value:
                custom[key] = value
            columns[target] = header
        else:
            if target in CHOICE_TARGETS:
                value = value.lower()
            if value or target not in CHOICE_TARGETS:
                data[target] = value
            columns[target] = header
    if options.get("source") and not data.get("source"):
        data["source"] = options["source"]
    if custom:
        data["custom_fields"] = custom
    if tags:
        data["tags"] = tags
    return data, columns, special


def _without(data: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """The row's input less the fields named by errors ("email", "custom_fields.budget")."""
    kept = {key: value for key, value in data.items() if key not in fields}
    if "custom_fields" in kept:
        kept["custom_fields"] = {
            key: value
            for key, value in kept["custom_fields"].items()
            if f"custom_fields.{key}" not in fields
        }
    return kept


def _row_clean(
    workspace: Workspace,
    headers: list[str],
    row: list[str],
    mapping: dict[str, str],
    options: dict,
    definitions: list[CustomField],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean contact input for one row and the values left out of it as (column, reason);
    ValidationFailed, with column names as fields, when the row cannot be stored.

    A bad value in an optional cell (a number, a date, an outcome, a stage, a phone beside a
    good email...) is left out and reported; the row fails only when its email is bad, it
    has no usable email or phone, or ``options["bad_values"]`` is "fail_row" (then every
    problem of the row is named). Dates (the created date and custom date fields) may be
    written as ``options["day_first"]`` says; the outcome becomes the lifecycle stage; a
    note is kept for the contact's timeline.
    """
    data, columns, special = _row_data(headers, row, mapping, options)
    day_first = options.get("day_first", True)
    problems: list[FieldError] = []
    custom = data.get("custom_fields") or {}
    for definition in definitions:
        if definition.field_type == "date" and custom.get(definition.key):
            try:
                custom[definition.key] = (
                    date_parse(custom[definition.key], day_first=day_first).date().isoformat()
                )
            except ValueError as error:
                problems.append(FieldError(f"custom_fields.{definition.key}", str(error)))
                del custom[definition.key]
    extra: dict[str, Any] = {}
    if "outcome" in special:
        try:
            extra["lifecycle_stage"] = outcome_stage(special["outcome"])
        except ValueError as error:
            problems.append(FieldError("outcome", str(error)))
    if "created_at" in special:
        try:
            extra["created_at"] = date_parse(special["created_at"], day_first=day_first)
        except ValueError as error:
            problems.append(FieldError("created_at", str(error)))
    if "note" in special:
        if len(special["note"]) > NOTE_MAX:
            problems.append(FieldError("note", f"At most {NOTE_MAX:,} characters."))
        else:
            extra["note"] = special["note"]
    clean: dict[str, Any] | None = None
    try:
        clean = contact_input_clean(
            workspace=workspace, data=data, partial=True, custom_fields=definitions
        )
    except ValidationFailed as failure:
        problems = failure.errors + problems
        try:  # the row without its bad values
            clean = contact_input_clean(
                workspace=workspace,
                data=_without(data, {error.field for error in failure.errors}),
                partial=True,
                custom_fields=definitions,
            )
        except ValidationFailed as again:
            problems += again.errors
    if clean is None or options.get("bad_values") == "fail_row":
        errors = list(problems)
    else:
        # A mistyped email must not be stored, nor found as someone else; a bad phone is
        # the row's identity when it has no email.
        identity = {"email"} if clean.get("email") else {"email", "phone"}
        errors = [problem for problem in problems if problem.field in identity]
    if not errors and not (clean or {}).get("email") and not (clean or {}).get("phone"):
        errors.append(FieldError("email", "An email or a phone number is required."))
    named = [(columns.get(problem.field, problem.field), problem.message) for problem in problems]
    if errors:
        missing = [(columns.get(e.field, e.field), e.message) for e in errors if e not in problems]
        raise ValidationFailed([FieldError(column, message) for column, message in named + missing])
    return {**clean, **extra}, named


# --- the job -------------------------------------------------------------------------------


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads" / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


OPTION_KEYS = (
    "update_existing",
    "conflict",
    "tags",
    "source",
    "lifecycle_stage",
    "owner_id",
    "day_first",
    "day_first_from",
    "bad_values",
    "backdate_existing",
)


def day_first_detect(
    source: SourceFile, mapping: dict[str, str], definitions: list[CustomField]
) -> bool | None:
    """How the file writes its dates, from the date columns' first ``DATE_SCAN_ROWS`` rows:
    True when a date can only be read day first (31/12/2023) and none only month first,
    False for the reverse (12/31/2023), None when no date tells (or they disagree)."""
    dates = {f"custom_fields.{d.key}" for d in definitions if d.field_type == "date"}
    positions = [
        position
        for position, header in enumerate(source.headers)
        if mapping.get(header) == "created_at" or mapping.get(header) in dates
    ]
    if not positions:
        return None
    day_only = month_only = False
    for row in itertools.islice(source.rows(), DATE_SCAN_ROWS):
        for position in positions:
            match = _LOCAL_DATE.match(row[position]) if position < len(row) else None
            if match:
                first, second = int(match[1]), int(match[2])
                day_only |= first > 12 >= second
                month_only |= second > 12 >= first
        if day_only and month_only:
            return None
    return True if day_only else False if month_only else None


def _options_clean(
    workspace: Workspace,
    options: dict | None,
    *,
    source: SourceFile | None = None,
    mapping: dict[str, str] | None = None,
) -> dict:
    """Checked options, every default filled in:

    - ``update_existing`` (true): false adds only new contacts, rows of existing ones skip;
    - ``conflict`` ("file"): "existing" keeps an existing contact's non-empty values and
      fills only its empty fields;
    - ``tags``, ``source``: for every row (source only where the row has none);
    - ``lifecycle_stage``, ``owner_id``: for new contacts;
    - ``day_first``: how dates like 01/02/2024 read. Not given (or ``day_first_from`` is
      not "option"): from the file's date columns when ``source`` and ``mapping`` are given
      and a date tells (31/12/2023), else by the workspace country; ``day_first_from``
      says which;
    - ``bad_values`` ("drop_value"): "fail_row" refuses a row with any bad value instead
      of storing it without the value;
    - ``backdate_existing`` (false): true lets a row's earlier created date move an
      existing contact's created date back.
    """
    options = dict(options or {})
    errors = [
        FieldError(f"options.{key}", "Unknown option.") for key in options if key not in OPTION_KEYS
    ]
    data = {
        key: options[key]
        for key in ("tags", "source", "lifecycle_stage", "owner_id")
        if options.get(key) not in (None, "")
    }
    try:
        clean = contact_input_clean(workspace=workspace, data=data, partial=True, custom_fields=[])
    except ValidationFailed as failure:
        errors += [FieldError(f"options.{e.field}", e.message) for e in failure.errors]
        clean = {}
    owner_id = clean.get("owner_id")
    if owner_id and not Membership.objects.filter(workspace=workspace, user_id=owner_id).exists():
        errors.append(FieldError("options.owner_id", "Not a member of this workspace."))
    conflict = options.get("conflict") or "file"
    if conflict not in CONFLICT_SIDES:
        errors.append(FieldError("options.conflict", 'Must be "file" or "existing".'))
    bad_values = options.get("bad_values") or "drop_value"
    if bad_values not in BAD_VALUES:
        errors.append(FieldError("options.bad_values", 'Must be "drop_value" or "fail_row".'))
    if options.get("day_first_from") not in (None, *DAY_FIRST_FROM):
        errors.append(FieldError("options.day_first_from", "Must be option, file or workspace."))
    for key in ("update_existing", "day_first", "backdate_existing"):
        if options.get(key) is not None and not isinstance(options[key], bool):
            errors.append(FieldError(f"options.{key}", "Must be true or false."))
    if errors:
        raise ValidationFailed(errors)
    day_first, day_first_from = options.get("day_first"), "option"
    if day_first is None or options.get("day_first_from") in ("file", "workspace"):
        day_first, day_first_from = None, "file"
        if source is not None and mapping is not None:
            definitions = list(CustomField.objects.filter(workspace=workspace))
            day_first = day_first_detect(source, mapping, definitions)
        if day_first is None:
            day_first, day_first_from = day_first_default(workspace), "workspace"
    return {
        "update_existing": options.get("update_existing") is not False,
        "conflict": conflict,
        "day_first": day_first,
        "day_first_from": day_first_from,
        "bad_values": bad_values,
        "backdate_existing": options.get("backdate_existing") is True,
        **clean,
    }


def _stored_copy(path: str | Path, kind: str) -> Path:
    stored = imports_dir() / f"{uuid.uuid4().hex}.{kind}"
    shutil.copyfile(path, stored)
    return stored


def field_type_guess(values: list[str], *, day_first: bool = True) -> str:
    """The custom field type a column's values suggest: number, date, boolean or text."""
    values = [value.strip() for value in values if value.strip()]
    if not values:
        return "text"
    booleans = {"yes", "no", "true", "false", "y", "n"}
    if all(value.lower() in booleans for value in values):
        return "boolean"
    if all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in values):
        return "number"
    for order in (day_first, not day_first):  # 31/12/2023 is a date whatever the default
        try:
            for value in values:
                date_parse(value, day_first=order)
        except ValueError:
            continue
        return "date"
    return "text"


def column_samples(source: SourceFile, count: int = 3, scan: int = 200) -> dict[str, list[str]]:
    """Up to ``count`` non-empty values of each column among the first ``scan`` rows."""
    samples: dict[str, list[str]] = {header: [] for header in source.headers}
    for index, row in enumerate(source.rows()):
        if index >= scan:
            break
        for position, header in enumerate(source.headers):
            value = row[position].strip() if position < len(row) else ""
            if value and len(samples[header]) < count:
                samples[header].append(value)
    return samples


def _new_fields_create(
    *,
    workspace: Workspace,
    actor: Actor,
    source: SourceFile,
    new_fields: dict[str, str],
    day_first: bool,
) -> dict[str, str]:
    """Create a custom field for each {column: type ("" = guess)}; {column: target}."""
    errors = []
    for header, field_type in new_fields.items():
        if header not in source.headers:
            errors.append(FieldError(f"new_fields.{header}", "No such column in the file."))
        elif field_type and field_type not in {"text", "number", "date", "boolean"}:
            errors.append(
                FieldError(f"new_fields.{header}", "Must be text, number, date or boolean.")
            )
    if errors:
        raise ValidationFailed(errors)
    values: dict[str, list[str]] = {header: [] for header in new_fields}
    positions = {header: source.headers.index(header) for header in new_fields}
    for index, row in enumerate(source.rows()):
        if index >= 1000:
            break
        for header, position in positions.items():
            if position < len(row) and row[position].strip():
                values[header].append(row[position])
    taken = set(CustomField.objects.filter(workspace=workspace).values_list("key", flat=True))
    targets = {}
    for header, field_type in new_fields.items():
        key = base = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")[:50] or "field"
        suffix = 2
        while key in taken:
            key, suffix = f"{base[:46]}_{suffix}", suffix + 1
        taken.add(key)
        try:
            definition = custom_field_create(
                workspace=workspace,
                actor=actor,
                data={
                    "key": key,
                    "label": header[:100],
                    "field_type": field_type
                    or field_type_guess(values[header], day_first=day_first),
                },
            )
        except ValidationFailed as failure:
            raise ValidationFailed(
                [FieldError(f"new_fields.{header}", e.message) for e in failure.errors]
            ) from None
        targets[header] = f"custom_fields.{definition.key}"
    return targets


def mapping_for_file(
    workspace: Workspace, headers: list[str], saved: "ImportMapping | None" = None
) -> dict[str, str]:
    """A saved mapping's targets for the columns it knows, guessed ones for the rest."""
    definitions = list(CustomField.objects.filter(workspace=workspace))
    guessed = mapping_guess(headers, definitions)
    if saved is None:
        return guessed
    mapping = {header: saved.mapping.get(header, guessed[header]) for header in headers}
    used = [target for header, target in mapping.items() if header in saved.mapping]
    for header in headers:  # a guess must not repeat a field the saved mapping gives
        if header not in saved.mapping and mapping[header] in used and mapping[header] != "tags":
            mapping[header] = ""
    return mapping


def _may_import(actor: Actor) -> None:
    """Imports change many contacts at once, whoever owns them: members need the roles
    that may also delete contacts (owner, admin, marketer). API keys need contacts:write."""
    membership = actor.membership
    if membership is not None and not (membership.can("write") and membership.can("delete")):
        raise PermissionDenied("Your role does not allow imports.")


@transaction.atomic
def import_upload(
    *,
    workspace: Workspace,
    actor: Actor,
    path: str | Path,
    filename: str,
    saved_mapping_id: int | None = None,
) -> ImportJob:
    """Keep a copy of an uploaded file as a draft import, its columns mapped by a saved
    mapping or by their names; ``import_job_configure`` and ``import_job_start`` follow."""
    _may_import(actor)
    source = source_open(path)
    saved = None
    if saved_mapping_id is not None:
        saved = ImportMapping.objects.filter(workspace=workspace, pk=saved_mapping_id).first()
        if saved is None:
            raise ValidationFailed([FieldError("mapping_id", "No such saved mapping.")])
    total_rows = sum(1 for _ in source.rows())  # reads the whole file: a bad one fails here
    mapping = mapping_for_file(workspace, source.headers, saved)
    options = _options_clean(
        workspace, _saved_options(workspace, saved), source=source, mapping=mapping
    )
    stored = _stored_copy(path, source.kind)
    return ImportJob.objects.create(
        workspace=workspace,
        created_by=actor.user,
        status=ImportStatus.DRAFT,
        path=str(stored),
        original_filename=Path(filename).name[:255],
        mapping=mapping,
        options=options,
        total_rows=total_rows,
    )


def _saved_options(workspace: Workspace, saved: "ImportMapping | None") -> dict | None:
    """A saved mapping's options as they still apply: a default owner who has left the
    workspace is dropped (the mapping page then shows no default owner) rather than
    refusing every upload with the mapping."""
    if saved is None:
        return None
    options = dict(saved.options or {})
    owner_id = options.get("owner_id")
    if owner_id and not Membership.objects.filter(workspace=workspace, user_id=owner_id).exists():
        del options["owner_id"]
    return options


def import_draft_get(*, workspace: Workspace, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(workspace=workspace, pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    if job.status != ImportStatus.DRAFT:
        raise ValidationFailed([FieldError("status", f"The import is {job.status} already.")])
    return job


@transaction.atomic
def import_job_configure(
    *,
    workspace: Workspace,
    actor: Actor,
    job_id: int,
    mapping: dict[str, str] | None = None,
    options: dict | None = None,
    new_fields: dict[str, str] | None = None,
    save_as: str = "",
) -> ImportJob:
    """Set a draft's mapping (columns not named are ignored) and options; create the custom
    fields asked for in ``new_fields`` ({column: type, "" to guess it}) and map those
    columns to them; keep the mapping under ``save_as`` for reuse (replacing one of that
    name). Every problem is reported at once and nothing is changed then."""
    _may_import(actor)
    job = import_draft_get(workspace=workspace, job_id=job_id)
    source = source_open(job.path)
    errors: list[FieldError] = []
    try:
        clean_options = _options_clean(workspace, job.options if options is None else options)
    except ValidationFailed as failure:
        errors += failure.errors
        clean_options = {}
    if mapping is None:
        mapping = dict(job.mapping)
    else:
        mapping = {header: mapping.get(header) or "" for header in source.headers} | {
            header: target for header, target in mapping.items() if header not in source.headers
        }
    new_fields = new_fields or {}
    if new_fields and actor.membership and not actor.membership.can("manage_settings"):
        errors.append(FieldError("new_fields", "Only admins can add custom fields."))
    if len(save_as) > 100:
        errors.append(FieldError("save_as", "At most 100 characters."))
    if not errors and new_fields:
        try:
            mapping |= _new_fields_create(
                workspace=workspace,
                actor=actor,
                source=source,
                new_fields=new_fields,
                day_first=clean_options["day_first"],
            )
        except ValidationFailed as failure:
            errors += failure.errors
    definitions = list(CustomField.objects.filter(workspace=workspace))
    try:
        mapping_check(mapping, source.headers, definitions)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors:
        transaction.set_rollback(True)
        raise ValidationFailed(errors)
    if clean_options["day_first_from"] != "option":  # the dates of the final mapping tell
        clean_options = _options_clean(workspace, clean_options, source=source, mapping=mapping)
    job.mapping, job.options = mapping, clean_options
    job.save(update_fields=["mapping", "options"])
    if save_as.strip():
        import_mapping_save(
            workspace=workspace,
            actor=actor,
            name=save_as,
            mapping=mapping,
            options=clean_options,
        )
    return job


def import_job_start(
    *, workspace: Workspace, actor: Actor, job_id: int, schedule: bool = True
) -> ImportJob:
    """Queue a draft (its mapping checked once more) for the worker."""
    _may_import(actor)
    with transaction.atomic():
        job = import_draft_get(workspace=workspace, job_id=job_id)
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.DRAFT:
            raise ValidationFailed([FieldError("status", f"The import is {job.status} already.")])
        source = source_open(job.path)
        mapping_check(
            job.mapping, source.headers, list(CustomField.objects.filter(workspace=workspace))
        )
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["status"])
        if schedule:
            task_schedule("leadflow.imports.tasks.import_run", job.pk)
    return job


def import_job_create(
    *,
    workspace: Workspace,
    actor: Actor,
    path: str | Path,
    filename: str,
    mapping: dict[str, str] | None = None,
    options: dict | None = None,
    new_fields: dict[str, str] | None = None,
    saved_mapping_id: int | None = None,
    save_as: str = "",
    schedule: bool = True,
    start: bool = True,
) -> ImportJob:
    """Upload, configure and start in one step (the API and the command line).

    ``mapping=None`` maps the columns by a saved mapping or by name (``mapping_guess``); a
    given mapping is checked against the file's columns. ``schedule=False`` leaves the run
    to the caller (the CLI runs it in the foreground); ``start=False`` keeps a configured
    draft. On any error nothing is kept: no job, no file, no custom field, no saved mapping.
    """
    with transaction.atomic():
        job = import_upload(
            workspace=workspace,
            actor=actor,
            path=path,
            filename=filename,
            saved_mapping_id=saved_mapping_id,
        )
        try:
            import_job_configure(
                workspace=workspace,
                actor=actor,
                job_id=job.pk,
                mapping=mapping,
                options=options,
                new_fields=new_fields,
                save_as=save_as,
            )
            if start:
                job = import_job_start(
                    workspace=workspace, actor=actor, job_id=job.pk, schedule=schedule
                )
            else:
                job.refresh_from_db()
        except ValidationFailed:
            Path(job.path).unlink(missing_ok=True)
            raise
    return job


def import_job_cancel(*, workspace: Workspace, job_id: int, actor: Actor) -> ImportJob:
    """Stop a queued or running import after its current chunk (done rows stay), or drop a
    draft."""
    _may_import(actor)
    updated = ImportJob.objects.filter(
        workspace=workspace,
        pk=job_id,
        status__in=[ImportStatus.DRAFT, ImportStatus.QUEUED, ImportStatus.RUNNING],
    ).update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
    job = ImportJob.objects.filter(workspace=workspace, pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    if not updated and job.status != ImportStatus.CANCELLED:
        raise ValidationFailed([FieldError("status", f"The import is {job.status} already.")])
    return job


def import_job_resume(*, workspace: Workspace, actor: Actor, job_id: int) -> ImportJob:
    """Queue a failed import again from the row it stopped at: the rows stored stay and are
    not written twice (the run resumes at ``next_row``); a file that still cannot be read
    fails again with its reason. Only a failed import whose file is kept can resume."""
    _may_import(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(workspace=workspace, pk=job_id).first()
        if job is None:
            raise NotFound("No such import.")
        if job.status != ImportStatus.FAILED:
            message = f"Only a failed import can resume; this one is {job.status}."
            raise ValidationFailed([FieldError("status", message)])
        if not Path(job.path).exists():
            raise ValidationFailed([FieldError("file", "The uploaded file is no longer kept.")])
        job.status, job.message, job.finished_at = ImportStatus.QUEUED, "", None
        job.save(update_fields=["status", "message", "finished_at"])
        task_schedule("leadflow.imports.tasks.import_run", job.pk)
    return job


def import_preview(
    *,
    workspace: Workspace,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    options: dict | None = None,
) -> list[dict[str, Any]]:
    """The first rows as they would be stored: {"row", "values", "warnings"} (the values
    left out, as [column, reason]) or {"row", "errors"} (a row that would not be stored)."""
    source = source_open(path)
    definitions = list(CustomField.objects.filter(workspace=workspace))
    mapping = mapping if mapping is not None else mapping_guess(source.headers, definitions)
    options = _options_clean(workspace, options, source=source, mapping=mapping)
    preview = []
    for index, row in enumerate(source.rows()):
        if index >= PREVIEW_ROWS:
            break
        try:
            values, warnings = _row_clean(
                workspace, source.headers, row, mapping, options, definitions
            )
            preview.append(
                {"row": index + 2, "values": values, "warnings": [list(w) for w in warnings]}
            )
        except ValidationFailed as failure:
            preview.append(
                {"row": index + 2, "errors": [[e.field, e.message] for e in failure.errors]}
            )
    return preview


# --- saved mappings ------------------------------------------------------------------------


def import_mapping_save(
    *, workspace: Workspace, actor: Actor, name: str, mapping: dict, options: dict | None = None
) -> ImportMapping:
    """Keep (or replace) a named mapping; its options are checked like an import's."""
    _may_import(actor)
    name = name.strip()
    errors = []
    if not name or len(name) > 100:
        errors.append(FieldError("name", "A name of 1 to 100 characters."))
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        errors.append(FieldError("mapping", 'Must be {"column": "field", ...}.'))
    try:
        _options_clean(workspace, options)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors:
        raise ValidationFailed(errors)
    saved, _ = ImportMapping.objects.update_or_create(
        workspace=workspace,
        name=name,
        defaults={
            "mapping": mapping,
            "options": options or {},
            "updated_at": timezone.now(),
        },
        create_defaults={
            "mapping": mapping,
            "options": options or {},
            "created_by": actor.user,
        },
    )
    return saved


def import_mapping_delete(*, workspace: Workspace, mapping_id: int) -> None:
    deleted, _ = ImportMapping.objects.filter(workspace=workspace, pk=mapping_id).delete()
    if not deleted:
        raise NotFound("No such saved mapping.")


PROBLEM_COLUMNS = ["Import row", "Import result", "Import problems"]


def _errors_write(job: ImportJob, headers: list[str], problems: list[RowProblem]) -> None:
    """Append the chunk's problem rows to the job's problems file: each row's own cells under
    the file's headers (so the file can be fixed and imported again), then its row number,
    whether it was stored, and the reasons ("Column: reason; ...")."""
    if not problems:
        return
    path = Path(job.error_path or f"{job.path.removesuffix('.csv')}.errors.csv")
    new_file = not path.exists()
    width = len(headers)
    with path.open("a", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        if new_file:
            writer.writerow([*headers, *PROBLEM_COLUMNS])
        for problem in sorted(problems, key=lambda problem: problem.number):
            cells = [*problem.values[:width], *[""] * (width - len(problem.values))]
            writer.writerow(
                [
                    *cells,
                    problem.number,
                    "stored without these values" if problem.stored else "not imported",
                    "; ".join(f"{column}: {reason}" for column, reason in problem.reasons),
                ]
            )
    if not job.error_path:
        job.error_path = str(path)
        ImportJob.objects.filter(pk=job.pk).update(error_path=job.error_path)


def _errors_trim(job: ImportJob) -> None:
    """Drop problem rows from chunks that did not commit (a crash after the file was
    written), so a resumed run does not list them twice."""
    if not job.error_path or not Path(job.error_path).exists():
        return
    with open(job.error_path, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    number = -len(PROBLEM_COLUMNS)  # the row number's position, from the end
    kept = [rows[0], *[row for row in rows[1:] if int(row[number]) < job.next_row + 2]]
    if len(kept) < len(rows):
        with open(job.error_path, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(kept)


def import_job_run(*, job_id: int, chunks: int | None = None, progress=None) -> ImportJob | None:
    """Process a job from its ``next_row`` to the end (or ``chunks`` chunks, for tests).

    Each chunk locks the job row, checks it is still running at the expected position (a
    cancelled job or a second worker stops this one), writes, and advances ``next_row``
    in the same transaction. ``progress(job)`` is called after each chunk.

    Whatever stops the run (a file that cannot be read to its end, a row the database
    refuses, a bug) marks the job failed with a reason a person can act on; the rows of
    committed chunks stay. Only the loss of the database itself leaves the job running,
    until its stale heartbeat marks it (``import_jobs_stale_fail``).
    """
    job = ImportJob.objects.select_related("workspace", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=Coalesce("started_at", Value(now))
    )
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(heartbeat_at=now)
    try:
        return _job_run(job, chunks=chunks, progress=progress)
    except Exception as error:  # the job must not stay "running": see the docstring
        logger.exception("import %s failed", job.pk)
        return _job_fail(job.pk, error) or job


def _failure_reason(error: Exception, row: int) -> str:
    """What stopped a run, in words for the progress page."""
    if isinstance(error, ValidationFailed):
        detail = " ".join(e.message for e in error.errors)
        return f"Stopped at row {row:,}: {detail}"
    text = " ".join(str(error).split())[:300] or type(error).__name__
    if isinstance(error, DatabaseError):
        return (
            f"Stopped at row {row:,}: the database refused the rows from there ({text}). "
            "The rows before it are stored."
        )
    return (
        f"Stopped at row {row:,} by an unexpected error ({type(error).__name__}: {text}). "
        "The rows before it are stored; the details are in the server log."
    )


def _job_fail(job_id: int, error: Exception) -> ImportJob | None:
    """Mark a running (or queued) job failed with the reason ``error`` gives; the job."""
    if connection.in_atomic_block and connection.needs_rollback:
        return None  # a caller's broken transaction: the caller decides
    try:
        job = ImportJob.objects.get(pk=job_id)
        ImportJob.objects.filter(
            pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
        ).update(
            status=ImportStatus.FAILED,
            message=_failure_reason(error, job.next_row + 2),
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
    except Exception:  # the database itself is gone: the stale heartbeat will tell
        logger.exception("import %s: could not record the failure", job_id)
        return None
    return job


def import_jobs_stale_fail(
    *, workspace: Workspace | None = None, job_id: int | None = None, now=None
) -> int:
    """Mark failed every running job (of ``workspace``, or the one ``job_id``) whose worker
    sent no heartbeat for ``STALE_AFTER``: the worker was killed or lost its database.
    A worker that is only slow finds its job failed at its next chunk and stops there.
    Returns how many jobs were marked."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    stale = ImportJob.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    if workspace is not None:
        stale = stale.filter(workspace=workspace)
    if job_id is not None:
        stale = stale.filter(pk=job_id)
    marked = 0
    for pk, rows_done, heartbeat in stale.values_list(
        "pk", "rows_done", Coalesce("heartbeat_at", "started_at")
    ):
        message = (
            f"The worker stopped without finishing (no progress since "
            f"{heartbeat:%Y-%m-%d %H:%M} UTC). The first {rows_done:,} rows are stored; "
            "resume the import to write the rest."
        )
        # Checked again in the statement: a chunk committed meanwhile keeps it running.
        marked += (
            ImportJob.objects.filter(pk=pk, status=ImportStatus.RUNNING)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(status=ImportStatus.FAILED, message=message, finished_at=now)
        )
    return marked


def _job_run(job: ImportJob, *, chunks: int | None, progress) -> ImportJob:
    workspace = job.workspace
    actor = (
        Actor(user=job.created_by, label=f"import {job.pk}")
        if job.created_by
        else Actor.system(f"import {job.pk}")
    )
    try:
        source = source_open(job.path)
    except ValidationFailed as failure:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=failure.errors[0].message,
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    _errors_trim(job)
    definitions = list(CustomField.objects.filter(workspace=workspace))
    position = job.next_row
    left = job.total_rows - position
    cleaned = _chunks_cleaned(
        workspace=workspace,
        job=job,
        source=source,
        definitions=definitions,
        helper=left >= CLEAN_HELPER_MIN_ROWS,
    )
    commit = functools.partial(
        _chunk_commit,
        job_id=job.pk,
        workspace=workspace,
        definitions=definitions,
        actor=actor,
        headers=source.headers,
    )
    try:
        if (
            left >= PIPELINE_MIN_ROWS
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block  # a caller's transaction keeps every chunk
        ):
            return _run_pipelined(
                job=job,
                commit=commit,
                cleaned=cleaned,
                position=position,
                chunks=chunks,
                progress=progress,
            )
        done_chunks = 0
        while chunks is None or done_chunks < chunks:
            size, rows, failed = next(cleaned, (0, [], []))
            job, result, _ = commit(position=position, size=size, rows=rows, failed=failed)
            if result is None:
                break  # finished, cancelled, or another worker is ahead
            position += size
            done_chunks += 1
            if progress is not None:
                job.refresh_from_db()
                progress(job)
    finally:
        cleaned.close()  # stops the helper process
    job.refresh_from_db()
    return job


def _chunk_commit(
    *,
    job_id: int,
    position: int,
    size: int,
    rows: list[ImportRow],
    failed: list[RowProblem],
    workspace: Workspace,
    definitions: list[CustomField],
    actor: Actor,
    headers: list[str],
    prepared: PreparedChunk | None = None,
) -> tuple[ImportJob, ChunkResult | None, dict[int, Any]]:
    """One chunk's transaction: lock the job row, check it is still running at ``position``
    (a cancelled job or a second worker stops this one), write the chunk (``prepared``, or
    prepared here under locks), advance ``next_row`` and the counts. An empty chunk finishes
    the job. Returns the job, the chunk's result (None when nothing was written) and
    {contact id: updated_at} of the contacts written from ``prepared``."""
    with transaction.atomic():
        # Only the job row: locking the workspace row too would hold every other write in
        # the workspace (their foreign key checks) until the chunk commits.
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportStatus.RUNNING or job.next_row != position:
            return job, None, {}
        if not size:
            job.status = ImportStatus.DONE
            job.finished_at = job.heartbeat_at = timezone.now()
            job.save(update_fields=["status", "finished_at", "heartbeat_at"])
            return job, None, {}
        written: dict[int, Any] = {}
        if prepared is None:
            result = _chunk_process(
                workspace=workspace,
                job=job,
                rows=rows,
                failed=failed,
                definitions=definitions,
                actor=actor,
            )
        else:
            result = prepared.result
            written = chunk_apply(prepared=prepared, actor=actor)
        ImportJob.objects.filter(pk=job.pk).update(
            next_row=position + size,
            rows_done=position + size,
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            skipped_count=F("skipped_count") + result.skipped,
            failed_count=F("failed_count") + len(result.failed),
            warning_count=F("warning_count") + len(result.warned),
            heartbeat_at=timezone.now(),
        )
        _errors_write(job, headers, [*result.failed, *result.warned])
    return job, result, written


@dataclass
class _InFlight:
    future: Future
    size: int
    rows: list[ImportRow]
    failed: list[RowProblem]
    snapshot: list
    notes: dict


def _in_writer_thread(commit, **arguments):
    try:
        return commit(**arguments)
    except (IntegrityError, ContactsChanged) as error:
        logger.info(
            "import chunk at row %s written again under locks: %s",
            arguments["position"] + 2,
            error,
        )
        return None  # written again by the caller


def _run_pipelined(*, job, commit, cleaned, position, chunks, progress) -> ImportJob:
    """The chunks of a large file on PostgreSQL, one being written (and committed) by a
    writer thread on its own connection while this thread prepares the next: the lookup,
    resolution, companies and tags of chunk N+1 overlap the statements and commit of
    chunk N (decision 0014).

    Chunk N+1's contacts are read without locks while N is uncommitted and overlaid with
    N's own copies of the contacts it writes; every contact N+1 updates must still have
    the updated_at it was read with, else (another writer changed it) or on a unique
    violation (another writer created one of its new contacts), the chunk's transaction is
    rolled back, the chunk written again the usual way under locks, and the next one
    prepared afresh. Companies and tags found missing are committed as they are prepared.
    """
    workspace, definitions = commit.keywords["workspace"], commit.keywords["definitions"]

    def prepare(rows, failed, overlay, notes_ahead=None) -> PreparedChunk:
        return chunk_prepare(
            workspace=workspace,
            options=job.options or {},
            activity_data={"import_job": job.pk},
            rows=rows,
            definitions=definitions,
            actor=commit.keywords["actor"],
            result=ChunkResult(failed=list(failed)),
            lock=False,
            overlay=overlay,
            notes_ahead=notes_ahead,
        )

    writer = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
    flight: _InFlight | None = None
    done_chunks = 0
    try:
        while True:
            more = chunks is None or done_chunks + (flight is not None) < chunks
            size, rows, failed = next(cleaned, (0, [], [])) if more else (0, [], [])
            prepared = (
                prepare(
                    rows,
                    failed,
                    flight.snapshot if flight else None,
                    flight.notes if flight else None,
                )
                if size
                else None
            )
            if flight is not None:
                outcome = flight.future.result()
                if outcome is None:
                    outcome = commit(
                        position=position, size=flight.size, rows=flight.rows, failed=flight.failed
                    )
                    if prepared is not None:
                        prepared = prepare(rows, failed, None)
                elif prepared is not None:
                    prepared.reread(outcome[2])
                job, result, _ = outcome
                if result is None:
                    return job  # cancelled, or another worker is ahead
                position += flight.size
                done_chunks += 1
                flight = None
                if progress is not None:
                    job.refresh_from_db()
                    progress(job)
            if not more:
                break
            if prepared is None:
                job, _, _ = commit(position=position, size=0, rows=[], failed=[])
                break
            snapshot = prepared.snapshot()  # before the writer thread touches the contacts
            flight = _InFlight(
                future=writer.submit(
                    _in_writer_thread,
                    commit,
                    position=position,
                    size=size,
                    rows=rows,
                    failed=failed,
                    prepared=prepared,
                ),
                size=size,
                rows=rows,
                failed=failed,
                snapshot=snapshot,
                notes=prepared.notes(),
            )
    finally:
        if flight is not None:
            concurrent.futures.wait([flight.future])  # never leave a chunk half-way
        writer.submit(connections.close_all).result()  # the writer thread's connection
        writer.shutdown()
    job.refresh_from_db()
    return job


def _chunk_rows_clean(
    workspace: Workspace,
    headers: list[str],
    batch: list[list[str]],
    start: int,
    mapping: dict[str, str],
    options: dict,
    definitions: list[CustomField],
) -> tuple[list[ImportRow], list[RowProblem]]:
    """The chunk's clean rows (with the values left out of them) and the rows that cannot
    be stored. It reads no database: it may run in the helper process."""
    rows: list[ImportRow] = []
    failed: list[RowProblem] = []
    # A row's cells go along only when the problems file may need them: the helper process
    # sends the rows back pickled, and most rows have no problem.
    required = any(definition.required for definition in definitions)
    for offset, row in enumerate(batch):
        number = start + offset + 2
        try:
            clean, warnings = _row_clean(workspace, headers, row, mapping, options, definitions)
        except ValidationFailed as failure:
            reasons = [(e.field, e.message) for e in failure.errors]
            failed.append(RowProblem(number=number, values=row, reasons=reasons))
            continue
        values = row if warnings or required else []
        rows.append(ImportRow(number=number, clean=clean, values=values, warnings=warnings))
    return rows, failed


def _chunks_cleaned(
    *,
    workspace: Workspace,
    job: ImportJob,
    source: SourceFile,
    definitions: list[CustomField],
    helper: bool,
) -> Iterator[tuple[int, list[ImportRow], list[RowProblem]]]:
    """(rows read, clean rows, errors) for each chunk from the job's ``next_row`` on.

    With ``helper``, a second process cleans the next chunk while this one is written:
    cleaning (email and phone parsing) is about half the work and the write mostly waits
    on the database, so on two cores they overlap (decision 0013).
    """
    reader = source.rows()
    for _ in range(job.next_row):
        next(reader, None)
    arguments = (workspace, source.headers)
    settings_ = (job.mapping, job.options, definitions)

    def batches() -> Iterator[tuple[int, list[list[str]]]]:
        position = job.next_row
        while batch := list(itertools.islice(reader, CHUNK_SIZE)):
            yield position, batch
            position += len(batch)

    if not helper:
        for start, batch in batches():
            yield len(batch), *_chunk_rows_clean(*arguments, batch, start, *settings_)
        return
    context = multiprocessing.get_context("spawn")  # no fork of an open connection
    with ProcessPoolExecutor(1, mp_context=context, initializer=django.setup) as pool:
        pending: deque = deque()
        try:
            for start, batch in batches():
                future = pool.submit(_chunk_rows_clean, *arguments, batch, start, *settings_)
                pending.append((len(batch), future))
                if len(pending) > 1:  # one chunk cleaned ahead
                    size, future = pending.popleft()
                    yield size, *future.result()
            while pending:
                size, future = pending.popleft()
                yield size, *future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _chunk_process(
    *,
    workspace: Workspace,
    job: ImportJob,
    rows: list[ImportRow],
    failed: list[RowProblem],
    definitions: list[CustomField],
    actor: Actor,
) -> ChunkResult:
    result = ChunkResult(failed=list(failed))
    arguments = {
        "workspace": workspace,
        "options": job.options or {},
        "activity_data": {"import_job": job.pk},
        "rows": rows,
        "definitions": definitions,
        "actor": actor,
        "result": result,
    }
    try:
        with transaction.atomic():
            chunk_write(**arguments)
    except IntegrityError:
        # A concurrent writer created one of the contacts after the lookup (the insert
        # waited for it, then hit the unique constraint): look up and write again.
        result.created = result.updated = result.skipped = 0
        result.failed, result.warned = list(failed), []
        chunk_write(**arguments)
    return result


# --- progress ------------------------------------------------------------------------------


def import_job_rate(job: ImportJob) -> float | None:
    """Rows per second since the job started (until it finished); None before it starts."""
    if not job.started_at or not job.rows_done:
        return None
    end = job.finished_at or timezone.now()
    seconds = max((end - job.started_at).total_seconds(), 0.001)
    return round(job.rows_done / seconds, 1)


def import_job_list(workspace: Workspace, *, include_drafts: bool = False):
    jobs = ImportJob.objects.filter(workspace=workspace).select_related("created_by")
    if not include_drafts:
        jobs = jobs.exclude(status=ImportStatus.DRAFT)
    return jobs.order_by("-created_at", "-id")


DRAFT_MAX_AGE = dt.timedelta(days=2)


def import_drafts_prune(now: dt.datetime | None = None) -> int:
    """Delete drafts (uploaded, never started) older than two days, with their files."""
    cutoff = (now or timezone.now()) - DRAFT_MAX_AGE
    stale = ImportJob.objects.filter(
        status__in=[ImportStatus.DRAFT, ImportStatus.CANCELLED],
        rows_done=0,
        created_at__lt=cutoff,
    )
    paths = list(stale.values_list("path", flat=True))
    deleted, _ = stale.delete()
    for path in paths:
        Path(path).unlink(missing_ok=True)
    return deleted


def import_duplicates_find(*, job_id: int, batch: int = 1000) -> int:
    """After an import: list possible duplicates (same phone, same name at the same
    company) of every contact it created or changed, ``batch`` contacts per pair of
    queries, as every other entry point does per contact. Returns pairs added."""
    job = ImportJob.objects.select_related("workspace").filter(pk=job_id).first()
    if job is None:
        return 0
    ids = sorted(
        set(
            Activity.objects.filter(
                workspace=job.workspace,
                kind=ActivityKind.CONTACT_IMPORTED,
                data__import_job=job.pk,
            ).values_list("contact_id", flat=True)
        )
    )
    return sum(
        duplicates_find_among(workspace=job.workspace, contact_ids=ids[start : start + batch])
        for start in range(0, len(ids), batch)
    )


@contextlib.contextmanager
def uploaded_file_path(upload) -> Iterator[str]:
    """A path to read an uploaded file from: Django's own temporary file for a large upload,
    else a copy of the small in-memory one, deleted afterwards (``import_upload`` keeps its
    own copy)."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(dir=imports_dir(), suffix=".upload", delete=False) as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        yield out.name
    finally:
        Path(out.name).unlink(missing_ok=True)
