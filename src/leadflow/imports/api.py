"""REST endpoints for imports (/api/v1/imports) and saved mappings.

``POST /imports`` takes a multipart upload (CSV or .xlsx) of contacts, or (``kind``
activities) of past activities of known contacts (``imports.history``), and starts the
import at once, or keeps it as a draft (``draft=true``) to map with ``PATCH``, check with
``/preview`` and start with ``/start``. Progress is read from ``GET /imports/{id}``; rows
that failed are in ``/imports/{id}/errors.csv``. A saved mapping has a kind too and serves
imports of that kind.
"""

import datetime as dt
import json
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile
from pydantic import ValidationError as PydanticValidationError

from leadflow.contacts.selectors import cursor_paginate
from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.imports import files as import_files
from leadflow.imports import history as import_history
from leadflow.imports import mapping as import_mapping
from leadflow.imports import selectors as import_selectors
from leadflow.imports import services as imports
from leadflow.imports.models import ImportJob, ImportKind, ImportMapping

router = Router(tags=["imports"])
# The operation ids the schema had when this module was leadflow.contacts.imports_api: kept,
# so clients generated from the schema keep their method names.
OPERATION_ID = "leadflow_contacts_imports_api_{}"
WRITE, READ = ApiScope.CONTACTS_WRITE, ApiScope.CONTACTS_READ
Conflict = Literal["file", "existing"]
BadValues = Literal["drop_value", "fail_row"]
DayFirstFrom = Literal["option", "file", "workspace"]
Kind = Literal["contacts", "activities"]
UPLOAD_FIELDS = {"mapping", "options", "new_fields", "mapping_id", "save_as", "draft", "kind"}


class ImportOptions(StrictSchema):
    update_existing: bool = True
    conflict: Conflict = "file"
    tags: list[str] = []
    source: str = ""
    lifecycle_stage: str = ""
    owner_id: int | None = None
    # null: read from the file's dates (31/12/2023 can only be day first), else by the
    # workspace's country; day_first_from says which (sent back as read, it stays automatic)
    day_first: bool | None = None
    day_first_from: DayFirstFrom | None = None
    # drop_value: a bad value in an optional cell is left out of the stored row (a warning);
    # fail_row: the row is not stored (an error)
    bad_values: BadValues = "drop_value"
    # true: an earlier created date in the file moves an existing contact's back
    backdate_existing: bool = False


class ActivityImportOptions(StrictSchema):
    """The options of an activities import (``imports.history``)."""

    # the type of rows without one (a column mapped to "type" wins): email_open, call...
    event_type: str = ""
    # how dates like 01/02/2024 read; null: from the file's time column, else by the
    # workspace's country (day_first_from says which)
    day_first: bool | None = None
    day_first_from: DayFirstFrom | None = None


OPTIONS_BY_KIND = (
    "The options of the import's kind. Contacts: update_existing, conflict (file | "
    "existing), tags, source, lifecycle_stage, owner_id, day_first, day_first_from, "
    "bad_values (drop_value | fail_row), backdate_existing. Activities: event_type, "
    "day_first, day_first_from. An option of the other kind is refused (422 naming it)."
)


class ImportOut(Schema):
    id: int
    kind: str
    status: str
    original_filename: str
    mapping: dict[str, str]
    options: dict[str, Any]
    total_rows: int
    rows_done: int
    created_count: int
    updated_count: int
    skipped_count: int
    failed_count: int
    warning_count: int
    rows_per_second: float | None
    message: str
    has_errors: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_rows_per_second(job: ImportJob) -> float | None:
        return import_selectors.import_job_rate(job)

    @staticmethod
    def resolve_has_errors(job: ImportJob) -> bool:
        return bool(job.error_path)


class ImportPage(Schema):
    items: list[ImportOut]
    next_cursor: str | None


class ImportConfigureIn(StrictSchema):
    mapping: dict[str, str] | None = None
    options: dict[str, Any] | None = Field(None, description=OPTIONS_BY_KIND)
    new_fields: dict[str, Literal["", "text", "number", "date", "boolean"]] = {}
    save_as: str = ""


class PreviewRow(Schema):
    row: int
    values: dict[str, Any] | None = None
    warnings: list[list[str]] | None = None
    errors: list[list[str]] | None = None


class ColumnOut(Schema):
    header: str
    target: str
    samples: list[str]


class PreviewOut(Schema):
    columns: list[ColumnOut]
    rows: list[PreviewRow]


class MappingIn(StrictSchema):
    name: str
    kind: Kind = "contacts"
    mapping: dict[str, str]
    options: dict[str, Any] | None = Field(None, description=OPTIONS_BY_KIND)


class MappingOut(Schema):
    id: int
    kind: str
    name: str
    mapping: dict[str, str]
    options: dict[str, Any]
    updated_at: dt.datetime


def _json_form(value: str | None, name: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise ValidationFailed([FieldError(name, "Must be JSON.")]) from None


def _options(options: Any, kind: str = ImportKind.CONTACTS) -> dict | None:
    """Options as the import's kind reads them (ImportOptions or ActivityImportOptions);
    ValidationFailed naming each bad one (``options.<name>``)."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise ValidationFailed([FieldError("options", "Must be an object.")])
    schema = ActivityImportOptions if kind == ImportKind.ACTIVITIES else ImportOptions
    try:
        options = schema(**options)
    except PydanticValidationError as error:
        raise ValidationFailed(
            [
                FieldError(".".join(["options", *map(str, problem["loc"])]), problem["msg"])
                for problem in error.errors()
            ]
        ) from None
    dumped = options.model_dump(exclude_defaults=True)
    if isinstance(options, ImportOptions):
        dumped["update_existing"] = options.update_existing
    return dumped


def _check_new_fields(request: HttpRequest, new_fields: dict | None) -> None:
    if new_fields and ApiScope.SETTINGS_WRITE not in request.auth.scopes:
        raise ValidationFailed(
            [FieldError("new_fields", "Adding custom fields needs the settings:write scope.")]
        )


def _job(workspace, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(workspace=workspace, pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


@router.post(
    "/imports",
    response={201: ImportOut},
    summary="Upload a CSV or Excel file and import it (or keep it as a draft)",
    operation_id=OPERATION_ID.format("import_create"),
)
def import_create(
    request: HttpRequest,
    file: File[UploadedFile],
    mapping: Form[str | None] = None,
    options: Form[str | None] = None,
    new_fields: Form[str | None] = None,
    mapping_id: Form[int | None] = None,
    save_as: Form[str] = "",
    draft: Form[bool] = False,
    kind: Form[Kind] = "contacts",
):
    """Multipart fields: ``file``; optional ``kind`` (contacts, the default, or activities:
    past activities of known contacts, docs/scoring/history.md), ``mapping`` (JSON
    {"column": "field"}; columns not named are ignored; without it columns are mapped by
    ``mapping_id``'s saved mapping, which must be of the same kind, or by their names),
    ``options`` (JSON, ImportOptions or for activities ActivityImportOptions),
    ``new_fields`` (JSON {"column": "text|number|date|boolean|"} creates custom fields;
    contacts only), ``save_as`` and ``draft``. The import runs in the background worker;
    poll ``GET /imports/{id}``."""
    workspace, actor = require_scope(request, WRITE)
    unknown = sorted(set(request.POST) - UPLOAD_FIELDS) + sorted(set(request.FILES) - {"file"})
    if unknown:
        raise ValidationFailed([FieldError(name, "Unknown field.") for name in unknown])
    mapping_value = _json_form(mapping, "mapping")
    options_value = _options(_json_form(options, "options"), kind)
    new_fields_value = _json_form(new_fields, "new_fields") or {}
    if mapping_value is not None and not isinstance(mapping_value, dict):
        raise ValidationFailed([FieldError("mapping", 'Must be {"column": "field", ...}.')])
    if not isinstance(new_fields_value, dict):
        raise ValidationFailed([FieldError("new_fields", 'Must be {"column": "type", ...}.')])
    _check_new_fields(request, new_fields_value)
    with import_files.uploaded_file_path(file) as path:
        job = imports.import_job_create(
            workspace=workspace,
            actor=actor,
            path=path,
            filename=file.name or "upload",
            mapping=mapping_value,
            options=options_value,
            new_fields=new_fields_value,
            saved_mapping_id=mapping_id,
            save_as=save_as,
            start=not draft,
            kind=kind,
        )
    return Status(201, job)


@router.get(
    "/imports",
    response=ImportPage,
    summary="List imports, newest first",
    operation_id=OPERATION_ID.format("import_list"),
)
def import_list(request: HttpRequest, cursor: str | None = None, limit: int = 50):
    workspace, _ = require_scope(request, READ)
    imports.import_jobs_stale_fail(workspace=workspace)
    limit = max(1, min(limit, 200))
    queryset = import_selectors.import_job_list(workspace, include_drafts=True)
    page = cursor_paginate(queryset, sort="-created_at", cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/imports/{job_id}",
    response=ImportOut,
    summary="An import and its progress",
    operation_id=OPERATION_ID.format("import_get"),
)
def import_get(request: HttpRequest, job_id: int):
    """A running import whose worker sent no heartbeat for ten minutes is marked failed
    here (``message`` says so)."""
    workspace, _ = require_scope(request, READ)
    imports.import_jobs_stale_fail(workspace=workspace, job_id=job_id)
    return _job(workspace, job_id)


@router.patch(
    "/imports/{job_id}",
    response=ImportOut,
    summary="Map and set options of a draft",
    operation_id=OPERATION_ID.format("import_configure"),
)
def import_configure(request: HttpRequest, job_id: int, payload: ImportConfigureIn):
    workspace, actor = require_scope(request, WRITE)
    _check_new_fields(request, payload.new_fields)
    kind = _job(workspace, job_id).kind
    return imports.import_job_configure(
        workspace=workspace,
        actor=actor,
        job_id=job_id,
        mapping=payload.mapping,
        options=_options(payload.options, kind),
        new_fields=payload.new_fields,
        save_as=payload.save_as,
    )


@router.get(
    "/imports/{job_id}/preview",
    response=PreviewOut,
    summary="The columns with sample values and the first rows as they will be stored",
    operation_id=OPERATION_ID.format("import_preview"),
)
def import_preview(request: HttpRequest, job_id: int):
    """For an activities import each row's values are the activity as it will be stored
    (its contact looked up: an unknown one is an error of the row)."""
    workspace, actor = require_scope(request, READ)
    job = _job(workspace, job_id)
    source = import_files.source_open(job.path)
    samples = import_mapping.column_samples(source)
    if job.kind == ImportKind.ACTIVITIES:
        rows = import_history.activity_preview(
            workspace=workspace,
            actor=actor,
            source=source,
            mapping=job.mapping,
            options=job.options,
            count=imports.PREVIEW_ROWS,
        )
    else:
        rows = imports.import_preview(
            workspace=workspace, path=job.path, mapping=job.mapping, options=job.options
        )
    return {
        "columns": [
            {"header": header, "target": job.mapping.get(header, ""), "samples": samples[header]}
            for header in source.headers
        ],
        "rows": rows,
    }


@router.post(
    "/imports/{job_id}/start",
    response=ImportOut,
    summary="Start a draft import",
    operation_id=OPERATION_ID.format("import_start"),
)
def import_start(request: HttpRequest, job_id: int):
    workspace, actor = require_scope(request, WRITE)
    return imports.import_job_start(workspace=workspace, actor=actor, job_id=job_id)


@router.post(
    "/imports/{job_id}/resume",
    response=ImportOut,
    summary="Queue a failed import again from the row it stopped at (stored rows stay)",
    operation_id=OPERATION_ID.format("import_resume"),
)
def import_resume(request: HttpRequest, job_id: int):
    workspace, actor = require_scope(request, WRITE)
    return imports.import_job_resume(workspace=workspace, actor=actor, job_id=job_id)


@router.post(
    "/imports/{job_id}/cancel",
    response=ImportOut,
    summary="Cancel an import after its current chunk (written rows stay), or drop a draft",
    operation_id=OPERATION_ID.format("import_cancel"),
)
def import_cancel(request: HttpRequest, job_id: int):
    workspace, actor = require_scope(request, WRITE)
    return imports.import_job_cancel(workspace=workspace, job_id=job_id, actor=actor)


@router.get(
    "/imports/{job_id}/errors.csv",
    summary="The rows with problems (CSV): each row's own cells, then its row number, "
    "whether it was stored and the reasons",
    response={200: None},
    operation_id=OPERATION_ID.format("import_errors"),
)
def import_errors(request: HttpRequest, job_id: int):
    workspace, _ = require_scope(request, READ)
    job = _job(workspace, job_id)
    return import_selectors.imports_errors_response(job)


@router.get(
    "/import-mappings",
    response=list[MappingOut],
    summary="Saved import mappings",
    operation_id=OPERATION_ID.format("mapping_list"),
)
def mapping_list(request: HttpRequest, kind: Kind | None = None):
    """Every saved mapping, or those of one ``kind``."""
    workspace, _ = require_scope(request, READ)
    mappings = ImportMapping.objects.filter(workspace=workspace)
    return list(mappings.filter(kind=kind) if kind else mappings)


@router.post(
    "/import-mappings",
    response={201: MappingOut},
    summary="Save a mapping (replaces one of the same name)",
    operation_id=OPERATION_ID.format("mapping_save"),
)
def mapping_save(request: HttpRequest, payload: MappingIn):
    workspace, actor = require_scope(request, WRITE)
    saved = imports.import_mapping_save(
        workspace=workspace,
        actor=actor,
        name=payload.name,
        mapping=payload.mapping,
        options=_options(payload.options, payload.kind),
        kind=payload.kind,
    )
    return Status(201, saved)


@router.delete(
    "/import-mappings/{mapping_id}",
    response={204: None},
    summary="Delete a saved mapping",
    operation_id=OPERATION_ID.format("mapping_delete"),
)
def mapping_delete(request: HttpRequest, mapping_id: int):
    workspace, _ = require_scope(request, WRITE)
    imports.import_mapping_delete(workspace=workspace, mapping_id=mapping_id)
    return Status(204, None)
