"""Setting an import up and steering it: the upload (a draft, or started at once), its
mapping and options checked and saved, a preview of the first rows, start, cancel and resume,
saved mappings, and the housekeeping of stale jobs and old drafts. The run itself is in
``imports.run``; a service schedules it by its task's dotted path.

Longer than the house's ~600 lines: one import's life cycle, for both kinds (contacts, and
activities through ``imports.history``), reads best in one place.

Guarantees:
- every option is checked with a clear field error before a job starts, and the mapping
  against the file's headers and the workspace's custom fields (``mapping.mapping_check``);
- the uploaded file is copied under ``LEADFLOW_DATA_DIR/uploads/imports/`` and read from
  there, whatever happens to the upload;
- a running job whose worker vanished (no heartbeat for ``STALE_AFTER``) is marked failed
  when read or by ``leadflow maintain``;
- cell values are stored as text, never evaluated (a cell "=1+1" stays "=1+1").
"""

import datetime as dt
import re
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.contacts.inputs import (
    contact_input_clean,
)
from leadflow.contacts.models import CustomField
from leadflow.contacts.services import custom_field_create
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from leadflow.core.models import Membership, Workspace
from leadflow.core.tasks import task_schedule
from leadflow.imports import history
from leadflow.imports.files import SourceFile, source_open, stored_copy
from leadflow.imports.mapping import (
    day_first_default,
    day_first_detect,
    field_type_guess,
    mapping_check,
    mapping_guess,
    mapping_merge,
    row_clean,
)
from leadflow.imports.models import ImportJob, ImportKind, ImportMapping, ImportStatus

PREVIEW_ROWS = 5
# A running job without a committed chunk for this long has lost its worker (a chunk takes
# seconds; the set-up of a resumed Excel file a minute at most).
STALE_AFTER = dt.timedelta(minutes=10)

# --- the job -------------------------------------------------------------------------------


CONFLICT_SIDES = ("file", "existing")
# What a bad value in an optional cell does: left out of a row that is stored (a warning),
# or the whole row is not stored (an error).
BAD_VALUES = ("drop_value", "fail_row")
# Where the day-first reading of dates came from.
DAY_FIRST_FROM = ("option", "file", "workspace")
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
    return guessed if saved is None else mapping_merge(headers, guessed, saved.mapping, "tags")


def saved_mapping_get(workspace: Workspace, mapping_id: int, kind: str) -> ImportMapping:
    """The workspace's saved mapping ``mapping_id`` for imports of ``kind``; ValidationFailed
    naming ``mapping_id`` for none, or one kept for the other kind."""
    saved = ImportMapping.objects.filter(workspace=workspace, pk=mapping_id).first()
    if saved is None:
        raise ValidationFailed([FieldError("mapping_id", "No such saved mapping.")])
    if saved.kind != kind:
        message = f"This saved mapping is for {saved.get_kind_display().lower()} imports."
        raise ValidationFailed([FieldError("mapping_id", message)])
    return saved


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
    kind: str = ImportKind.CONTACTS,
) -> ImportJob:
    """Keep a copy of an uploaded file as a draft import, its columns mapped by a saved
    mapping or by their names; ``import_job_configure`` and ``import_job_start`` follow.
    ``kind`` "activities" is a file of past activities (``imports.history``), mapped by
    an activities mapping; a saved mapping serves imports of its own kind only."""
    _may_import(actor)
    if kind not in ImportKind.values:
        raise ValidationFailed([FieldError("kind", "Contacts or activities.")])
    source = source_open(path)
    saved = None
    if saved_mapping_id is not None:
        saved = saved_mapping_get(workspace, saved_mapping_id, kind)
    if kind == ImportKind.ACTIVITIES:
        return history.activities_draft_create(
            saved=saved,
            workspace=workspace,
            actor=actor,
            source=source,
            path=path,
            filename=filename,
        )
    total_rows = sum(1 for _ in source.rows())  # reads the whole file: a bad one fails here
    mapping = mapping_for_file(workspace, source.headers, saved)
    options = _options_clean(
        workspace, _saved_options(workspace, saved), source=source, mapping=mapping
    )
    stored = stored_copy(path, source.kind)
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
    if job.kind == ImportKind.ACTIVITIES:
        if new_fields:
            message = "Custom fields are made by contact imports."
            raise ValidationFailed([FieldError("new_fields", message)])
        job = history.activities_configure(job, source, mapping, options, save_as=save_as)
        if save_as.strip():
            import_mapping_save(
                workspace=workspace,
                actor=actor,
                name=save_as,
                mapping=job.mapping,
                options=job.options,
                kind=job.kind,
            )
        return job
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
            kind=job.kind,
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
        history.job_mapping_check(job, source_open(job.path).headers)
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
    kind: str = ImportKind.CONTACTS,
) -> ImportJob:
    """Upload, configure and start in one step (the API and the command line).

    ``mapping=None`` maps the columns by a saved mapping or by name (``mapping_guess``); a
    given mapping is checked against the file's columns. ``schedule=False`` leaves the run
    to the caller (the CLI runs it in the foreground); ``start=False`` keeps a draft,
    configured when a mapping, options, new fields or ``save_as`` are given (else as
    uploaded: mapped by name, checked by ``PATCH`` and at the start). On any error nothing
    is kept: no job, no file, no custom field, no saved mapping.
    """
    with transaction.atomic():
        job = import_upload(
            workspace=workspace,
            actor=actor,
            path=path,
            filename=filename,
            saved_mapping_id=saved_mapping_id,
            kind=kind,
        )
        try:
            if start or mapping is not None or options is not None or new_fields or save_as:
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
            values, warnings = row_clean(
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
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    mapping: dict,
    options: dict | None = None,
    kind: str = ImportKind.CONTACTS,
) -> ImportMapping:
    """Keep (or replace) a named mapping for imports of ``kind``; its options are checked
    like an import's of that kind."""
    _may_import(actor)
    if kind not in ImportKind.values:
        raise ValidationFailed([FieldError("kind", "Contacts or activities.")])
    name = name.strip()
    errors = []
    if not name or len(name) > 100:
        errors.append(FieldError("name", "A name of 1 to 100 characters."))
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        errors.append(FieldError("mapping", 'Must be {"column": "field", ...}.'))
    clean = history.activity_options_clean if kind == ImportKind.ACTIVITIES else _options_clean
    try:
        clean(workspace, options)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors:
        raise ValidationFailed(errors)
    saved, _ = ImportMapping.objects.update_or_create(
        workspace=workspace,
        kind=kind,
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
