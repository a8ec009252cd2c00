"""Scoring some contacts, or a whole workspace, in order: engagement points and the decayed
score, the fit grade, the conversion probability, then what is derived from them
(temperature, funnel section, the MQL rule). The activity subscriber and tracking's event
listener call ``contacts_rescore`` for the contacts they heard about; a change of rules,
the daily decay refresh and ``leadflow scoring rescore`` call ``workspace_rescore``."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from leadflow.scoring.models import ScoringProfile
from leadflow.scoring.services.engagement import engagement_rebuild, engagement_scores_write
from leadflow.scoring.services.fit import fit_grades_write
from leadflow.scoring.services.lifecycle import lifecycle_apply
from leadflow.scoring.services.training import predictions_write


def contacts_rescore(
    *, workspace_id: int, contact_ids: Iterable[int], now: dt.datetime | None = None
) -> None:
    """Recompute everything scoring knows about these contacts, in the caller's
    transaction (the subscriber's delivery, or a task's own)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    now = now or timezone.now()
    engagement_rebuild(workspace_id=workspace_id, contact_ids=ids, now=now)
    engagement_scores_write(workspace_id=workspace_id, contact_ids=ids, now=now)
    fit_grades_write(workspace_id=workspace_id, contact_ids=ids)
    predictions_write(workspace_id=workspace_id, contact_ids=ids)
    lifecycle_apply(workspace_id=workspace_id, contact_ids=ids)


def workspace_rescore(*, workspace_id: int, now: dt.datetime | None = None) -> None:
    """Recompute every contact of the workspace, set-based, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        engagement_rebuild(workspace_id=workspace_id, now=now)
        engagement_scores_write(workspace_id=workspace_id, now=now)
        fit_grades_write(workspace_id=workspace_id)
        predictions_write(workspace_id=workspace_id)
        lifecycle_apply(workspace_id=workspace_id)
        ScoringProfile.objects.filter(workspace_id=workspace_id).update(recomputed_at=now)
