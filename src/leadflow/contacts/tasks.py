"""Background work for contacts. Tasks take ids, not objects, and are safe to run twice."""

from django.tasks import task

from leadflow.contacts import services
from leadflow.contacts.imports import import_duplicates_find, import_job_run
from leadflow.core.models import Workspace


@task()
def contact_find_duplicates(workspace_id: int, contact_id: int) -> int:
    """List possible duplicates of one contact for review (see services.duplicates_find_for)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return services.duplicates_find_for(workspace=workspace, contact_id=contact_id)


@task()
def contact_import_run(job_id: int) -> str:
    """Run an import job from where it stopped (see imports.import_job_run); returns its
    status, then lists possible duplicates among the contacts it touched. Safe to run twice:
    the job row is locked per chunk and checked for its position."""
    job = import_job_run(job_id=job_id)
    if job is not None and job.status == "done":
        import_duplicates_find(job_id=job.pk)
    return job.status if job is not None else "missing"
