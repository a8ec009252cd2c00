"""Contact import from CSV files: reading, column mapping and a set-based, resumable write.

Guarantees:
- the file is decoded whatever its usual encoding (UTF-8 with or without BOM, UTF-16,
  Windows-1252 / Latin-1) and delimiter (, ; tab |); quoted newlines stay inside a cell;
- every row is cleaned by ``contact_input_clean`` like any other entry point; a bad row is
  reported (row, column, reason) in an error CSV next to the file and never half-written;
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
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from leadflow.contacts.importfiles import SourceFile, source_open
from leadflow.contacts.importwrite import (
    ChunkResult,
    ContactsChanged,
    ImportRow,
    PreparedChunk,
    chunk_apply,
    chunk_prepare,
    chunk_write,
)
from leadflow.contacts.inputs import (
    CONTACT_INPUT_FIELDS,
    contact_input_clean,
)
from leadflow.contacts.models import (
    CustomField,
    ImportJob,
    ImportMapping,
    ImportStatus,
    LifecycleStage,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from leadflow.core.models import Membership, Workspace
from leadflow.core.tasks import task_schedule

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2500  # rows a transaction; 2,500 measured a little faster than 1,000
# Files with this many rows left are cleaned a chunk ahead by a helper process.
CLEAN_HELPER_MIN_ROWS = 20_000
# Files with this many rows left are written by a second thread on PostgreSQL while the next
# chunk is prepared (see _run_pipelined).
PIPELINE_MIN_ROWS = 20_000
PREVIEW_ROWS = 5
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
# Targets beyond contact fields: the historical outcome (mapped to a lifecycle stage) and the
# original created date.
SPECIAL_TARGETS = ("outcome", "created_at")
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
        index.setdefault(_header_key(definition.key), f"custom_fields.{definition.key}")
        index.setdefault(_header_key(definition.label), f"custom_fields.{definition.key}")
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


def _row_clean(
    workspace: Workspace,
    headers: list[str],
    row: list[str],
    mapping: dict[str, str],
    options: dict,
    definitions: list[CustomField],
) -> dict[str, Any]:
    """Clean contact input for one row, or ValidationFailed with column names as fields.

    Dates (the created date and custom date fields) may be written as the workspace's
    country writes them (``options["day_first"]``); the outcome becomes the lifecycle stage.
    """
    data, columns, special = _row_data(headers, row, mapping, options)
    day_first = options.get("day_first", True)
    errors: list[FieldError] = []
    custom = data.get("custom_fields") or {}
    for definition in definitions:
        if definition.field_type == "date" and custom.get(definition.key):
            try:
                custom[definition.key] = (
                    date_parse(custom[definition.key], day_first=day_first).date().isoformat()
                )
            except ValueError as error:
                errors.append(FieldError(f"custom_fields.{definition.key}", str(error)))
                del custom[definition.key]
    extra: dict[str, Any] = {}
    if "outcome" in special:
        try:
            extra["lifecycle_stage"] = outcome_stage(special["outcome"])
        except ValueError as error:
            errors.append(FieldError("outcome", str(error)))
    if "created_at" in special:
        try:
            extra["created_at"] = date_parse(special["created_at"], day_first=day_first)
        except ValueError as error:
            errors.append(FieldError("created_at", str(error)))
    clean: dict[str, Any] = {}
    try:
        clean = contact_input_clean(
            workspace=workspace, data=data, partial=True, custom_fields=definitions
        )
    except ValidationFailed as failure:
        errors = failure.errors + errors
    if not errors and not clean.get("email") and not clean.get("phone"):
        errors.append(FieldError("email", "An email or a phone number is required."))
    if errors:
        raise ValidationFailed(
            [FieldError(columns.get(error.field, error.field), error.message) for error in errors]
        )
    return {**clean, **extra}


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
)


def _options_clean(workspace: Workspace, options: dict | None) -> dict:
    """Checked options, every default filled in:

    - ``update_existing`` (true): false adds only new contacts, rows of existing ones skip;
    - ``conflict`` ("file"): "existing" keeps an existing contact's non-empty values and
      fills only its empty fields;
    - ``tags``, ``source``: for every row (source only where the row has none);
    - ``lifecycle_stage``, ``owner_id``: for new contacts;
    - ``day_first``: how dates like 01/02/2024 read (default: by the workspace country).
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
    for key in ("update_existing", "day_first"):
        if options.get(key) is not None and not isinstance(options[key], bool):
            errors.append(FieldError(f"options.{key}", "Must be true or false."))
    if errors:
        raise ValidationFailed(errors)
    day_first = options.get("day_first")
    return {
        "update_existing": options.get("update_existing") is not False,
        "conflict": conflict,
        "day_first": day_first_default(workspace) if day_first is None else day_first,
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
    try:
        for value in values:
            date_parse(value, day_first=day_first)
    except ValueError:
        return "text"
    return "date"


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
    from leadflow.contacts.services import custom_field_create

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
    stored = _stored_copy(path, source.kind)
    return ImportJob.objects.create(
        workspace=workspace,
        created_by=actor.user,
        status=ImportStatus.DRAFT,
        path=str(stored),
        original_filename=Path(filename).name[:255],
        mapping=mapping_for_file(workspace, source.headers, saved),
        options=_options_clean(workspace, _saved_options(workspace, saved)),
        total_rows=sum(1 for _ in source.rows()),
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
            from leadflow.contacts.tasks import contact_import_run

            task_schedule(contact_import_run, job.pk)
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


def import_preview(
    *,
    workspace: Workspace,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    options: dict | None = None,
) -> list[dict[str, Any]]:
    """The first rows as they would be stored: {"row", "values"} or {"row", "errors"}."""
    source = source_open(path)
    definitions = list(CustomField.objects.filter(workspace=workspace))
    mapping = mapping if mapping is not None else mapping_guess(source.headers, definitions)
    options = _options_clean(workspace, options)
    preview = []
    for index, row in enumerate(source.rows()):
        if index >= PREVIEW_ROWS:
            break
        try:
            values = _row_clean(workspace, source.headers, row, mapping, options, definitions)
            preview.append({"row": index + 2, "values": values})
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


def _errors_write(job: ImportJob, failed: list[tuple[int, str, str]]) -> None:
    if not failed:
        return
    path = Path(job.error_path or f"{job.path.removesuffix('.csv')}.errors.csv")
    new_file = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        if new_file:
            writer.writerow(["row", "column", "reason"])
        writer.writerows(failed)
    if not job.error_path:
        job.error_path = str(path)
        ImportJob.objects.filter(pk=job.pk).update(error_path=job.error_path)


def _errors_trim(job: ImportJob) -> None:
    """Drop error rows from chunks that did not commit (a crash after the file was written),
    so a resumed run does not list them twice."""
    if not job.error_path or not Path(job.error_path).exists():
        return
    with open(job.error_path, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    kept = [rows[0], *[row for row in rows[1:] if int(row[0]) < job.next_row + 2]]
    if len(kept) < len(rows):
        with open(job.error_path, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(kept)


def import_job_run(*, job_id: int, chunks: int | None = None, progress=None) -> ImportJob | None:
    """Process a job from its ``next_row`` to the end (or ``chunks`` chunks, for tests).

    Each chunk locks the job row, checks it is still running at the expected position (a
    cancelled job or a second worker stops this one), writes, and advances ``next_row``
    in the same transaction. ``progress(job)`` is called after each chunk.
    """
    job = ImportJob.objects.select_related("workspace", "created_by").filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
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
        _chunk_commit, job_id=job.pk, workspace=workspace, definitions=definitions, actor=actor
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
    failed: list[tuple[int, str, str]],
    workspace: Workspace,
    definitions: list[CustomField],
    actor: Actor,
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
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
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
            written = chunk_apply(job=job, prepared=prepared, actor=actor)
        ImportJob.objects.filter(pk=job.pk).update(
            next_row=position + size,
            rows_done=position + size,
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            skipped_count=F("skipped_count") + result.skipped,
            failed_count=F("failed_count") + len({row for row, _, _ in result.failed}),
        )
        _errors_write(job, result.failed)
    return job, result, written


@dataclass
class _InFlight:
    future: Future
    size: int
    rows: list[ImportRow]
    failed: list[tuple[int, str, str]]
    snapshot: list


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

    def prepare(rows, failed, overlay) -> PreparedChunk:
        return chunk_prepare(
            workspace=workspace,
            job=job,
            rows=rows,
            definitions=definitions,
            actor=commit.keywords["actor"],
            result=ChunkResult(failed=list(failed)),
            lock=False,
            overlay=overlay,
        )

    writer = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
    flight: _InFlight | None = None
    done_chunks = 0
    try:
        while True:
            more = chunks is None or done_chunks + (flight is not None) < chunks
            size, rows, failed = next(cleaned, (0, [], [])) if more else (0, [], [])
            prepared = prepare(rows, failed, flight.snapshot if flight else None) if size else None
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
) -> tuple[list[ImportRow], list[tuple[int, str, str]]]:
    """The chunk's clean rows and its errors (row, column, reason). It reads no database:
    it may run in the helper process."""
    rows: list[ImportRow] = []
    failed: list[tuple[int, str, str]] = []
    for offset, row in enumerate(batch):
        number = start + offset + 2
        try:
            clean = _row_clean(workspace, headers, row, mapping, options, definitions)
        except ValidationFailed as failure:
            failed += [(number, e.field, e.message) for e in failure.errors]
            continue
        rows.append(ImportRow(number=number, clean=clean))
    return rows, failed


def _chunks_cleaned(
    *,
    workspace: Workspace,
    job: ImportJob,
    source: SourceFile,
    definitions: list[CustomField],
    helper: bool,
) -> Iterator[tuple[int, list[ImportRow], list[tuple[int, str, str]]]]:
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
    failed: list[tuple[int, str, str]],
    definitions: list[CustomField],
    actor: Actor,
) -> ChunkResult:
    result = ChunkResult(failed=list(failed))
    arguments = {
        "workspace": workspace,
        "job": job,
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
        result.failed = list(failed)
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
    from leadflow.contacts.models import Activity, ActivityKind
    from leadflow.contacts.services import duplicates_find_among

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
