"""Contact imports in the app: upload, map columns (with a live preview), options, start,
then a progress page that follows the background worker until the import ends.

A new upload is a draft ``ImportJob``; the mapping page edits it and "Start import"
queues it. The columns are named by position in the form (``target_<n>``), so any header
text is safe in a form field name. Writes go through ``imports.services`` only.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts.models import CustomField, CustomFieldType, LifecycleStage
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.imports import files as import_files
from leadflow.imports import mapping as import_mapping
from leadflow.imports import selectors as import_selectors
from leadflow.imports import services as imports
from leadflow.imports.models import ImportJob, ImportKind, ImportMapping, ImportStatus
from leadflow.web.access import workspace_view
from leadflow.web.forms import tag_names_from_text
from leadflow.web.views import imports_history

NEW_FIELD = "__new__"
FIELD_LABELS = {
    "email": "Email",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "job_title": "Job title",
    "country": "Country",
    "street_address": "Street address",
    "city": "City",
    "region": "Region / state",
    "postal_code": "Postal code",
    "date_of_birth": "Date of birth",
    "source": "Source",
    "medium": "Medium",
    "campaign": "Campaign",
    "channel": "Channel",
    "lifecycle_stage": "Lifecycle stage",
    "temperature": "Temperature",
    "consent_status": "Consent status",
}
FINISHED = {ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED}


def _may_import(request: HttpRequest) -> bool:
    """Imports change many contacts at once, whoever owns them: owners, admins and
    marketers (the roles that may also delete contacts), not sales or viewers. The same
    roles read a file's rows (the mapping page's samples, the preview, the problems
    file): those are every row of the file, whoever owns the contacts (docs/permissions.md)."""
    return request.membership.can("write") and request.membership.can("delete")


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(workspace=request.workspace, pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


def target_groups(definitions: list[CustomField], *, can_add_fields: bool) -> list:
    """[(group label, [(value, label)])] for each column's select."""
    groups = [
        ("", [("", "— Ignore this column —")]),
        ("Contact", [(name, label) for name, label in FIELD_LABELS.items()]),
        ("Company", [("company", "Company name")]),
        ("Lists", [("tags", "Tags (split on , ; |)")]),
        (
            "History",
            [
                ("outcome", "Outcome (won / lost), sets the lifecycle stage"),
                ("outcome_at", "Outcome date (when won or lost)"),
                ("created_at", "Original created date"),
                ("note", "Note on the timeline"),
            ],
        ),
    ]
    custom = [(f"custom_fields.{d.key}", d.label) for d in definitions]
    if can_add_fields:
        custom.append((NEW_FIELD, "+ New custom field…"))
    if custom:
        groups.append(("Custom fields", custom))
    return groups


# --- list and upload -----------------------------------------------------------------------


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Past imports, drafts among them (uploaded, still to map and start), and the upload
    form (CSV or Excel, optionally a saved mapping). Imports whose worker vanished are
    marked failed first."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not _may_import(request):
            return HttpResponse("Your role does not allow this.", status=403)
        upload = request.FILES.get("file")
        saved_id = request.POST.get("mapping_id", "")
        if upload is None:
            errors["file"] = ["Choose a CSV or Excel file."]
        else:
            try:
                with import_files.uploaded_file_path(upload) as path:
                    job = imports.import_upload(
                        workspace=request.workspace,
                        actor=request.actor,
                        path=path,
                        filename=upload.name,
                        saved_mapping_id=int(saved_id) if saved_id.isdigit() else None,
                        kind=request.POST.get("kind") or ImportKind.CONTACTS,
                    )
            except ValidationFailed as failure:
                for error in failure.errors:
                    errors.setdefault(error.field, []).append(error.message)
            else:
                return redirect("import_detail", request.workspace.slug, job.pk)
        status = 422
    imports.import_jobs_stale_fail(workspace=request.workspace)
    jobs = list(import_selectors.import_job_list(request.workspace, include_drafts=True)[:50])
    for job in jobs:
        job.rate = import_selectors.import_job_rate(job)
    return render(
        request,
        "web/imports/list.html",
        {
            "jobs": jobs,
            "saved_mappings": ImportMapping.objects.filter(workspace=request.workspace),
            "errors": errors,
        },
        status=status,
    )


# --- mapping -------------------------------------------------------------------------------


def _posted(request: HttpRequest, headers: list[str]) -> tuple[dict, dict, dict, str]:
    """(mapping, options, new fields, save as) from the mapping form."""
    mapping: dict[str, str] = {}
    new_fields: dict[str, str] = {}
    for index, header in enumerate(headers):
        target = request.POST.get(f"target_{index}", "")
        if target == NEW_FIELD:
            new_fields[header] = request.POST.get(f"type_{index}", "")
            mapping[header] = ""
        else:
            mapping[header] = target
    day_first = request.POST.get("day_first", "")
    owner = request.POST.get("owner_id", "")
    backdate = request.POST.get("backdate_existing") == "on"
    options = {
        "update_existing": request.POST.get("existing", "update") == "update",
        "conflict": request.POST.get("conflict", "file"),
        "tags": tag_names_from_text(request.POST.get("tags", "")),
        "source": request.POST.get("source", "").strip(),
        "lifecycle_stage": request.POST.get("lifecycle_stage", ""),
        "owner_id": int(owner) if owner.isdigit() else None,
        "day_first": {"day": True, "month": False}.get(day_first),
        "bad_values": "fail_row" if request.POST.get("bad_values") == "fail_row" else "drop_value",
        "backdate_existing": backdate,
    }
    return mapping, options, new_fields, request.POST.get("save_as", "").strip()


def _mapping_context(request: HttpRequest, job: ImportJob, **extra) -> dict:
    source = import_files.source_open(job.path)
    samples = import_mapping.column_samples(source)
    definitions = list(CustomField.objects.filter(workspace=request.workspace))
    mapping = extra.pop("mapping", job.mapping)
    new_fields = extra.pop("new_fields", {})
    errors = extra.pop("errors", {})
    columns = [
        {
            "index": index,
            "header": header,
            "target": NEW_FIELD if header in new_fields else mapping.get(header, ""),
            "new_type": new_fields.get(header, ""),
            "samples": samples[header],
            "errors": errors.get(f"column_{index}", []),
        }
        for index, header in enumerate(source.headers)
    ]
    options = extra.pop("options", job.options)
    return {
        "job": job,
        "columns": columns,
        "groups": target_groups(
            definitions, can_add_fields=request.membership.can("manage_settings")
        ),
        "options": options,
        "day_first_choice": _day_first_choice(options),
        "tags_text": ", ".join(options.get("tags") or []),
        "stage_choices": LifecycleStage.choices,
        "members": core_selectors.member_users(request.workspace),
        "errors": errors,
        "field_types": [
            (value, label)
            for value, label in CustomFieldType.choices
            if value in {"text", "number", "date", "boolean"}
        ],
        "save_as": extra.pop("save_as", ""),
        **extra,
    }


def _day_first_choice(options: dict) -> str:
    """ "auto" (read from the file, else the workspace country), "day" or "month"."""
    if options.get("day_first") is None or options.get("day_first_from") in ("file", "workspace"):
        return "auto"
    return "day" if options["day_first"] else "month"


def _error_lists(failure: ValidationFailed, headers: list[str]) -> dict:
    """{"column_<n>" | option name | "general": [messages]} for the mapping form."""
    positions = {header: index for index, header in enumerate(headers)}
    errors: dict[str, list[str]] = {}
    for error in failure.errors:
        name = error.field
        for prefix in ("mapping.", "new_fields."):
            if name.startswith(prefix) and name.removeprefix(prefix) in positions:
                name = f"column_{positions[name.removeprefix(prefix)]}"
        name = name.removeprefix("options.")
        if name in {"mapping", "new_fields"}:
            name = "general"
        errors.setdefault(name, []).append(error.message)
    return errors


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A draft: the mapping page (POST saves it, and starts the import with action=start).
    Any other import: its progress and summary."""
    imports.import_jobs_stale_fail(workspace=request.workspace, job_id=job_id)
    job = _job(request, job_id)
    if job.status != ImportStatus.DRAFT:
        if request.method == "POST":
            return HttpResponse("This import has started already.", status=409)
        return render(request, "web/imports/progress.html", _progress_context(job))
    if not _may_import(request):
        return HttpResponse("Your role does not allow this.", status=403)
    if job.kind == ImportKind.ACTIVITIES:
        return imports_history.mapping_page(request, job, _error_lists)
    if request.method == "GET":
        return render(request, "web/imports/mapping.html", _mapping_context(request, job))
    if not _may_import(request):
        return HttpResponse("Your role does not allow this.", status=403)
    headers = import_files.source_open(job.path).headers
    mapping, options, new_fields, save_as = _posted(request, headers)
    try:
        imports.import_job_configure(
            workspace=request.workspace,
            actor=request.actor,
            job_id=job.pk,
            mapping=mapping,
            options=options,
            new_fields=new_fields,
            save_as=save_as,
        )
        if request.POST.get("action") == "start":
            imports.import_job_start(
                workspace=request.workspace, actor=request.actor, job_id=job.pk
            )
            return redirect("import_detail", request.workspace.slug, job.pk)
    except ValidationFailed as failure:
        context = _mapping_context(
            request,
            job,
            mapping=mapping,
            options=options,
            new_fields=new_fields,
            save_as=save_as,
            errors=_error_lists(failure, headers),
        )
        return render(request, "web/imports/mapping.html", context, status=422)
    messages.success(request, "Mapping saved.")
    return redirect("import_detail", request.workspace.slug, job.pk)


@workspace_view("read")
@require_POST
def import_preview(request: HttpRequest, job_id: int) -> HttpResponse:
    """The first rows as the posted (unsaved) mapping would store them (an htmx fragment).
    Columns bound for a new custom field show their raw values (the field does not exist
    yet)."""
    if not _may_import(request):
        return HttpResponse("Your role does not allow this.", status=403)
    job = _job(request, job_id)
    if job.kind == ImportKind.ACTIVITIES:
        return imports_history.preview(request, job, _problem_text)
    source = import_files.source_open(job.path)
    mapping, options, new_fields, _ = _posted(request, source.headers)
    problems: list[str] = []
    previews: list[dict] = []
    try:
        definitions = list(CustomField.objects.filter(workspace=request.workspace))
        import_mapping.mapping_check(mapping, source.headers, definitions)
        previews = imports.import_preview(
            workspace=request.workspace, path=job.path, mapping=mapping, options=options
        )
    except ValidationFailed as failure:
        problems = [_problem_text(error) for error in failure.errors]
    raw = list(zip(range(imports.PREVIEW_ROWS), source.rows(), strict=False))
    headers = [header for header in source.headers if mapping.get(header) or header in new_fields]
    rows = []
    for (_, cells), preview in zip(raw, previews, strict=False):
        values = preview.get("values") or {}
        rows.append(
            {
                "number": preview["row"],
                "errors": preview.get("errors") or [],
                "warnings": preview.get("warnings") or [],
                "cells": [
                    _display(values, mapping[header])
                    if header not in new_fields
                    else _cell(cells, source.headers.index(header))
                    for header in headers
                ],
            }
        )
    return render(
        request,
        "web/imports/mapping.html#preview",
        {
            "job": job,
            "headers": headers,
            "rows": rows,
            "problems": problems,
            "tags": options["tags"],
            "source": options["source"],
        },
    )


def _cell(cells: list[str], position: int) -> str:
    return cells[position].strip() if position < len(cells) else ""


def _display(values: dict, target: str) -> str:
    """A stored value as text for the preview table."""
    if target == "tags":
        return ", ".join(values.get("tags") or [])
    if target == "outcome":
        stage = values.get("lifecycle_stage", "")
        return f"{values['outcome']} ({stage})" if values.get("outcome") else stage
    if target == "note":
        return values.get("note", "")
    if target in ("created_at", "outcome_at"):
        moment = values.get(target)
        return moment.isoformat(sep=" ", timespec="minutes") if moment else ""
    if target.startswith("custom_fields."):
        value = (values.get("custom_fields") or {}).get(target.removeprefix("custom_fields."))
        return "" if value is None else str(value)
    value = values.get(target)
    return "" if value is None else str(value)


def _problem_text(error: FieldError) -> str:
    field = error.field
    for prefix in ("mapping.", "options.", "new_fields."):
        field = field.removeprefix(prefix)
    return f"{field}: {error.message}" if field not in {"mapping", ""} else error.message


# --- progress ------------------------------------------------------------------------------


def _progress_context(job: ImportJob) -> dict:
    total = max(job.total_rows, 1)
    return {
        "job": job,
        "rate": import_selectors.import_job_rate(job),
        "percent": min(100, round(100 * job.rows_done / total)),
        "finished": job.status in FINISHED,
    }


@workspace_view("read")
@require_safe
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress card alone, polled by the progress page until the import ends (or its
    worker is found gone: the job is then marked failed)."""
    imports.import_jobs_stale_fail(workspace=request.workspace, job_id=job_id)
    job = _job(request, job_id)
    return render(request, "web/imports/progress.html#progress", _progress_context(job))


@workspace_view("write", also=("delete",))
@require_POST
def import_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = imports.import_job_cancel(workspace=request.workspace, job_id=job_id, actor=request.actor)
    if job.rows_done:
        messages.info(request, f"Import cancelled; {job.rows_done} rows were written before.")
    else:
        messages.info(request, "Import cancelled.")
    return redirect("import_list", request.workspace.slug)


@workspace_view("write", also=("delete",))
@require_POST
def import_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    """Queue a failed import again from the row it stopped at."""
    imports.import_job_resume(workspace=request.workspace, actor=request.actor, job_id=job_id)
    messages.info(request, "Import resumed from the row it stopped at.")
    return redirect("import_detail", request.workspace.slug, job_id)


@workspace_view("read")
@require_safe
def import_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rows with problems, with their own cells: for the roles that may import."""
    if not _may_import(request):
        return HttpResponse("Your role does not allow this.", status=403)
    return import_selectors.imports_errors_response(_job(request, job_id))


@workspace_view("write", also=("delete",))
@require_POST
def import_mapping_delete(request: HttpRequest, mapping_id: int) -> HttpResponse:
    imports.import_mapping_delete(workspace=request.workspace, mapping_id=mapping_id)
    messages.success(request, "Saved mapping deleted.")
    return redirect("import_list", request.workspace.slug)
