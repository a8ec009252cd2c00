"""Scoring's background jobs: rescoring contacts that tracking saw active, a workspace's
full recompute (rules changed, the daily decay refresh)."""

from django.db import transaction
from django.tasks import task

from leadflow.scoring import services


@task()
def contacts_rescore(workspace_id: int, contact_ids: list[int]) -> int:
    """Rescore these contacts of the workspace (safe to run twice: it recomputes)."""
    with transaction.atomic():
        services.contacts_rescore(workspace_id=workspace_id, contact_ids=contact_ids)
    return len(contact_ids)


@task()
def workspace_rescore(workspace_id: int) -> int:
    """Recompute every contact of the workspace."""
    services.workspace_rescore(workspace_id=workspace_id)
    return workspace_id
