"""Background work of the duplicate finder. Tasks take ids, not objects, and are safe to
run twice."""

from django.tasks import task

from leadflow.core.models import Workspace
from leadflow.duplicates import learning, scan


@task()
def duplicates_scan(workspace_id: int) -> int:
    """Scan a whole workspace (the app's "Scan now" button); returns pairs listed."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return scan.duplicates_scan(workspace=workspace).listed


@task()
def weights_refit(workspace_id: int) -> int:
    """Refine a workspace's weights after a decision and re-score its open pairs; returns
    the number of labelled pairs used."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return learning.weights_refit(workspace=workspace).labelled_pairs
