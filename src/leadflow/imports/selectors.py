"""Reading imports: a workspace's jobs, their pace, and their problems file."""

from pathlib import Path

from django.http import FileResponse
from django.utils import timezone

from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.imports.models import ImportJob, ImportStatus


def imports_errors_response(job: ImportJob) -> FileResponse:
    """The job's error file as a download (shared by the API and the app)."""
    if not job.error_path or not Path(job.error_path).exists():
        raise NotFound("This import has no rows with problems.")
    return FileResponse(
        open(job.error_path, "rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )


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


def imports_in_progress(workspace: Workspace):
    """The workspace's queued and running imports, oldest first, with who started them."""
    return (
        ImportJob.objects.filter(
            workspace=workspace, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
        )
        .select_related("created_by")
        .order_by("created_at", "id")
    )


def imports_finished(workspace: Workspace):
    """The workspace's imports that ran to the end (status done)."""
    return ImportJob.objects.filter(workspace=workspace, status=ImportStatus.DONE)
