"""Background work for contacts. Tasks take ids, not objects, and are safe to run twice."""

from django.tasks import task

from leadflow.contacts import services
from leadflow.core.models import Workspace


@task()
def contact_find_duplicates(workspace_id: int, contact_id: int) -> int:
    """List possible duplicates of one contact for review (see services.duplicates_find_for)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return services.duplicates_find_for(workspace=workspace, contact_id=contact_id)
