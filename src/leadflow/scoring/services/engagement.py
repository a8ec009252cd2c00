"""Engagement points: rules over activities and tracked events, the ledger, decay.

(Stub of the interface; filled in by the engagement work.)"""

import datetime as dt
from collections.abc import Iterable


def engagement_rebuild(
    *, workspace_id: int, contact_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> None:
    """Rebuild the ledger (``ScorePoint``) of these contacts (all the workspace's when
    None) from the source rows, set-based, one statement per rule."""


def engagement_scores_write(
    *, workspace_id: int, contact_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> None:
    """Copy each contact's decayed sum of points at ``now`` onto
    ``Contact.engagement_score`` (through ``contacts.services.contact_scores_write``)."""


def engagement_rules_default_install(workspace_id: int) -> None:
    """Create the default engagement rules of a new workspace (docs/scoring.md), once."""
