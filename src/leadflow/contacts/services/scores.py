"""The scores a contact carries, written set-based for the scoring app.

Scoring keeps its rules, points and models in its own tables and copies the results onto
the contact (engagement score, fit grade, conversion probability, temperature, funnel
section), so the contact list filters and sorts by them with no join. This is the one
door it writes them through: contacts never imports scoring.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from leadflow.contacts.models import Contact

SCORE_COLUMNS = frozenset(
    {"engagement_score", "fit_grade", "conversion_probability", "temperature", "funnel_section"}
)
# Contact ids per UPDATE statement (SQLite's bound-parameter limit, plan size on PostgreSQL).
IDS_PER_STATEMENT = 5000


def contact_scores_write(
    *,
    workspace_id: int,
    values: dict[str, Any],
    contact_ids: Iterable[int] | None = None,
    where: Q | None = None,
) -> int:
    """Set the score columns in ``values`` (plain values or expressions evaluated per row:
    ``Subquery``, ``Case``...) on the workspace's contacts: every one, those in
    ``contact_ids``, and/or those matching ``where``. Only the score columns may be written
    (``SCORE_COLUMNS``); ``updated_at`` is left alone (a new score is not an edit). One
    UPDATE per 5,000 ids; returns how many rows were updated."""
    unknown = set(values) - SCORE_COLUMNS
    if unknown:
        raise ValueError(f"Not a score column: {', '.join(sorted(unknown))}")
    if not values:
        return 0
    contacts = Contact.objects.filter(workspace_id=workspace_id)
    if where is not None:
        contacts = contacts.filter(where)
    if contact_ids is None:
        return contacts.update(**values)
    ids = sorted(set(contact_ids))
    updated = 0
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = ids[start : start + IDS_PER_STATEMENT]
        updated += contacts.filter(pk__in=chunk).update(**values)
    return updated
