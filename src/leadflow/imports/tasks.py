"""Background work for imports. Tasks take ids, not objects, and are safe to run twice."""

from django.tasks import task

from leadflow.imports.run import import_job_run


@task()
def import_run(job_id: int) -> str:
    """Run an import job from where it stopped (see run.import_job_run); returns its
    status (the duplicate finder reads the rows it wrote from the activity log). Safe to run twice:
    the job row is locked per chunk and checked for its position."""
    job = import_job_run(job_id=job_id)
    return job.status if job is not None else "missing"
