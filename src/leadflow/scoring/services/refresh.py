"""Every score column of a contact written at once: the decayed engagement score, the fit
grade, the temperature that follows from the score and the funnel section that follows
from the stage and the temperature.

One ``UPDATE ... FROM`` per call (per 5,000 ids when ids are given) through
``contacts.services.contact_scores_write_select``, touching only the contacts whose values
change: on a million contacts, every whole-table write costs about as much as the rest of
the rescore together, so the four columns share one new row version instead of four.
The conversion probability is written by the predictions (``training.predictions_write``)
and the MQL rule runs after both (``lifecycle.mql_rule_apply``): the rule may name any of
these columns."""

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_scores_write_select
from leadflow.core.models import Workspace
from leadflow.scoring.models import ScoringProfile
from leadflow.scoring.services.engagement import decayed_totals
from leadflow.scoring.services.fit import fit_grade_expression
from leadflow.scoring.services.lifecycle import funnel_sql, temperature_sql

COLUMNS = ("engagement_score", "fit_grade", "temperature", "funnel_section")
IDS_PER_STATEMENT = 5000


def scores_refresh(
    *,
    workspace_id: int,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Write the engagement score (points decayed to ``now``), fit grade, temperature and
    funnel section of these contacts (all the workspace's when None) from the ledger, the
    profile and the fit rules. Returns how many contacts changed."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    now = now or timezone.now()
    profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
    ids = None if contact_ids is None else sorted(set(contact_ids))
    chunks = (
        [None]
        if ids is None
        else [ids[i : i + IDS_PER_STATEMENT] for i in range(0, len(ids), IDS_PER_STATEMENT)]
    )
    grade = fit_grade_expression(workspace, profile, in_select=True)
    totals = decayed_totals(workspace_id, now)
    temperature, temperature_params = temperature_sql("scored.score", profile)
    section, section_params = funnel_sql("hot.lifecycle_stage", "hot.temperature")
    changed = 0
    for chunk in chunks:
        contacts = Contact.objects.filter(workspace_id=workspace_id)
        points = totals
        if chunk is not None:
            contacts = contacts.filter(pk__in=chunk)
            points = totals.filter(contact_id__in=chunk)
        base_sql, base_params = (
            contacts.order_by()
            .annotate(grade=grade)
            .values("id", "lifecycle_stage", "grade")
            .query.sql_with_params()
        )
        points_sql, points_params = points.query.sql_with_params()
        # Innermost out: each contact with its grade and its score (0 without points),
        # then its temperature, then its section.
        # Some contacts: the ledger's sums computed once (a CTE), whatever the plan: joined
        # as a subquery, a workspace whose statistics lag (a new one taking in leads) was
        # planned as a nested loop that summed the ledger again for every contact (minutes
        # per delivery batch). The whole workspace: joined as a subquery, the update runs
        # in the contacts' physical order (through a CTE it took 70 s instead of 48 s on a
        # million contacts).
        total = "total" if chunk is not None else f"({points_sql}) total"
        scored = (
            "SELECT base.id, base.lifecycle_stage, base.grade, "  # noqa: S608 - compiled SQL
            "COALESCE(total.value, 0.0) AS score "
            f"FROM ({base_sql}) base LEFT JOIN {total} ON total.contact_id = base.id"
        )
        hot = (
            "SELECT scored.id, scored.lifecycle_stage, scored.grade, scored.score, "  # noqa: S608
            f"{temperature} AS temperature FROM ({scored}) scored"
        )
        select = (
            "SELECT hot.id, hot.score AS engagement_score, hot.grade AS fit_grade, "  # noqa: S608
            f"hot.temperature, {section} AS funnel_section FROM ({hot}) hot"
        )
        params = [*section_params, *temperature_params, *base_params]
        if chunk is None:
            params += points_params
        else:
            select = f"WITH total AS MATERIALIZED ({points_sql}) {select}"
            params = [*points_params, *params]
        changed += contact_scores_write_select(
            workspace_id=workspace_id, columns=COLUMNS, select=(select, params), ids=chunk
        )
    return changed
