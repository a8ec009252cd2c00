"""Scoring some contacts, or a whole workspace, in order: the engagement points (the
ledger), then the decayed score, fit grade, temperature and funnel section in one write
(``refresh``), the conversion probability, and the MQL rule last (it may name any of
them). The activity subscriber and tracking's event
listener call ``contacts_rescore`` for the contacts they heard about; a change of rules,
the daily decay refresh and ``leadflow scoring rescore`` call ``workspace_rescore``."""

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from leadflow.core.models import Workspace
from leadflow.scoring.models import ScoringProfile
from leadflow.scoring.services.ledger import engagement_rebuild, ledger_rebuild_apart
from leadflow.scoring.services.lifecycle import mql_rule_apply
from leadflow.scoring.services.refresh import scores_refresh
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
    scores_refresh(workspace_id=workspace_id, contact_ids=ids, now=now)
    predictions_write(workspace_id=workspace_id, contact_ids=ids)
    _mql_rule(workspace_id, ids)


def workspace_rescore(
    *, workspace_id: int, now: dt.datetime | None = None, from_scratch: bool = False
) -> int:
    """Recompute every contact of the workspace, set-based, in one transaction. The
    ledger is rebuilt for the rules changed since it was last built (all of them the first
    time, or ``from_scratch``); returns how many rules were rebuilt.

    Called outside any transaction (the job, the CLI) on PostgreSQL, the rebuilt rules'
    INSERTs are shared with a second connection (``ledger.ledger_rebuild_apart``); inside
    one (a test's, a caller's) a second connection would not see its uncommitted rows."""
    now = now or timezone.now()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with ledger_rebuild_apart(workspace_id) as built:
            return _workspace_rescore(workspace_id, now, from_scratch, apart=(built,))
    return _workspace_rescore(workspace_id, now, from_scratch, apart=None)


def _workspace_rescore(
    workspace_id: int, now: dt.datetime, from_scratch: bool, apart: tuple[dict | None] | None
) -> int:
    with transaction.atomic():
        rebuilt = engagement_rebuild(
            workspace_id=workspace_id, now=now, changed_only=not from_scratch, apart=apart
        )
        scores_refresh(workspace_id=workspace_id, now=now)
        predictions_write(workspace_id=workspace_id)
        _mql_rule(workspace_id, None)
        ScoringProfile.objects.filter(workspace_id=workspace_id).update(recomputed_at=now)
    return rebuilt


def _mql_rule(workspace_id: int, contact_ids: list[int] | None) -> None:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
    mql_rule_apply(workspace=workspace, profile=profile, contact_ids=contact_ids)
