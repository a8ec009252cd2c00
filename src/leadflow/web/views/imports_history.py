"""The mapping page and preview of an activities (history) import: the same pages as a
contact import's (``web.views.imports`` hands a draft of kind "activities" to these), with
the targets of ``imports.history``: the contact, the type, the time... and properties."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leadflow.core.errors import ValidationFailed
from leadflow.imports import files as import_files
from leadflow.imports import history
from leadflow.imports import mapping as import_mapping
from leadflow.imports import services as imports
from leadflow.imports.models import ImportJob
from leadflow.tracking.models import EventType
from leadflow.tracking.services import HISTORY_TYPES

TARGET_LABELS = {
    "contact_email": "Contact's email",
    "contact_phone": "Contact's phone",
    "contact_id": "Contact's LeadFlow id",
    "type": "Type of activity",
    "name": "Name (subject, campaign, page title)",
    "occurred_at": "Time it happened",
    "url": "URL",
    "client_id": "Activity id (makes re-imports safe)",
}


def type_choices() -> list[tuple[str, str]]:
    return [(value, label) for value, label in EventType.choices if value in HISTORY_TYPES]


def target_groups(identifying) -> list:
    contact = [(t, TARGET_LABELS[t]) for t in history.CONTACT_TARGETS]
    contact += [
        (f"{history.EXTERNAL_PREFIX}{d.key}", f"External id: {d.label}") for d in identifying
    ]
    activity = [(t, TARGET_LABELS[t]) for t in ("type", "name", "occurred_at", "url", "client_id")]
    return [
        ("", [("", "— Ignore this column —"), ("property", "A property of the activity")]),
        ("Contact", contact),
        ("Activity", activity),
    ]


def posted(request: HttpRequest, headers: list[str]) -> tuple[dict, dict]:
    """(mapping, options) from the form."""
    mapping = {
        header: request.POST.get(f"target_{index}", "") for index, header in enumerate(headers)
    }
    day_first = request.POST.get("day_first", "")
    options = {
        "event_type": request.POST.get("event_type", ""),
        "day_first": {"day": True, "month": False}.get(day_first),
    }
    return mapping, options


def _context(request: HttpRequest, job: ImportJob, **extra) -> dict:
    source = import_files.source_open(job.path)
    samples = import_mapping.column_samples(source)
    mapping = extra.pop("mapping", job.mapping)
    errors = extra.pop("errors", {})
    options = extra.pop("options", job.options)
    columns = [
        {
            "index": index,
            "header": header,
            "target": mapping.get(header, ""),
            "samples": samples[header],
            "errors": errors.get(f"column_{index}", []),
        }
        for index, header in enumerate(source.headers)
    ]
    day_first = options.get("day_first")
    return {
        "job": job,
        "columns": columns,
        "groups": target_groups(history.identifying_fields(request.workspace)),
        "options": options,
        "day_first_choice": (
            "auto"
            if day_first is None or options.get("day_first_from") in ("file", "workspace")
            else "day"
            if day_first
            else "month"
        ),
        "types": type_choices(),
        "errors": errors,
        "save_as": extra.pop("save_as", ""),
        **extra,
    }


def mapping_page(request: HttpRequest, job: ImportJob, error_lists) -> HttpResponse:
    """GET: the mapping page; POST: save it (and start with action=start)."""
    if request.method == "GET":
        return render(request, "web/imports/activities_mapping.html", _context(request, job))
    headers = import_files.source_open(job.path).headers
    mapping, options = posted(request, headers)
    save_as = request.POST.get("save_as", "").strip()
    try:
        imports.import_job_configure(
            workspace=request.workspace,
            actor=request.actor,
            job_id=job.pk,
            mapping=mapping,
            options=options,
            save_as=save_as,
        )
        if request.POST.get("action") == "start":
            imports.import_job_start(
                workspace=request.workspace, actor=request.actor, job_id=job.pk
            )
            return redirect("import_detail", request.workspace.slug, job.pk)
    except ValidationFailed as failure:
        context = _context(
            request,
            job,
            mapping=mapping,
            options=options,
            save_as=save_as,
            errors=error_lists(failure, headers),
        )
        return render(request, "web/imports/activities_mapping.html", context, status=422)
    messages.success(request, f"Mapping saved as {save_as}." if save_as else "Mapping saved.")
    return redirect("import_detail", request.workspace.slug, job.pk)


def preview(request: HttpRequest, job: ImportJob, problem_text) -> HttpResponse:
    """The first rows as the posted mapping would store them (an htmx fragment); the
    contacts are looked up, nothing is stored."""
    source = import_files.source_open(job.path)
    mapping, options = posted(request, source.headers)
    problems: list[str] = []
    rows: list[dict] = []
    try:
        identifying = history.identifying_fields(request.workspace)
        options = history.activity_options_clean(
            request.workspace, options, source=source, mapping=mapping
        )
        history.activity_mapping_check(mapping, source.headers, identifying, options)
        rows = history.activity_preview(
            workspace=request.workspace,
            actor=request.actor,
            source=source,
            mapping=mapping,
            options=options,
            count=imports.PREVIEW_ROWS,
        )
    except ValidationFailed as failure:
        problems = [problem_text(error) for error in failure.errors]
    labels = dict(EventType.choices)
    for row in rows:
        values = row.get("values")
        if values:
            contact = next(
                (values[k] for k in ("contact_id", "email", "phone", "external_id") if k in values),
                "",
            )
            properties = ", ".join(f"{k}: {v}" for k, v in values["properties"].items())
            row["cells"] = [
                contact,
                labels.get(values["type"], values["type"]),
                values["name"],
                values["occurred_at"].replace("T", " ")[:16],
                values["url"],
                properties,
            ]
    return render(
        request,
        "web/imports/activities_mapping.html#preview",
        {
            "job": job,
            "headers": ["Contact", "Type", "Name", "Time (UTC)", "URL", "Properties"],
            "rows": rows,
            "problems": problems,
        },
    )
