"""Reading imports: a workspace's jobs, their pace, and their problems file."""

from pathlib import Path

from django.http import FileResponse

from leadflow.core.errors import NotFound
from leadflow.imports.models import ImportJob


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
