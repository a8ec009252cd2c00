"""Scoring's background jobs: rescoring contacts that tracking saw active, a workspace's
full recompute (rules changed, the daily decay refresh), training a conversion model and
scoring a workspace with it."""

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


@task()
def model_train(workspace_id: int, force: bool = False, model_id: int | None = None) -> int:
    """Train a new conversion model version for the workspace (the queued ``model_id``, if
    given; safe to run twice: a version already trained is left alone). Returns its id, or
    0 when there are not enough outcomes (the queued version is marked failed)."""
    from leadflow.core.models import Workspace
    from leadflow.scoring.services.training import NotEnoughOutcomes
    from leadflow.scoring.services.training import model_train as train

    workspace = Workspace.objects.get(pk=workspace_id)
    try:
        return train(workspace=workspace, force=force, model_id=model_id).pk
    except NotEnoughOutcomes:
        return 0


@task()
def predictions_write(workspace_id: int) -> int:
    """Score every contact of the workspace with its active model (nothing without one)."""
    services.predictions_write(workspace_id=workspace_id)
    return workspace_id
