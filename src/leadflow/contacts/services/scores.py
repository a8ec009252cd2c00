"""The scores a contact carries, written set-based for the scoring app.

Scoring keeps its rules, points and models in its own tables and copies the results onto
the contact (engagement score, fit grade, conversion probability, temperature, funnel
section), so the contact list filters and sorts by them with no join. This is the one
door it writes them through: contacts never imports scoring.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Value, When

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


def contact_scores_write_from(
    *,
    workspace_id: int,
    column: str,
    rows: QuerySet,
    default: Any,
    contact_ids: Iterable[int] | None = None,
) -> int:
    """Set one score column from ``rows``: a queryset of ``contact_id`` and ``value`` (at
    most one row per contact, e.g. an aggregate grouped by contact) that the caller has
    already limited to the workspace and to ``contact_ids``. A contact with a row gets its
    value, the others ``default``; a contact whose value would not change is not rewritten.
    One ``UPDATE ... FROM`` the contacts left-joined to the rows (a correlated subquery per
    contact is far slower on a million contacts), per 5,000 ids; returns how many rows
    were updated."""
    if column not in SCORE_COLUMNS:
        raise ValueError(f"Not a score column: {column}")
    table = connection.ops.quote_name(Contact._meta.db_table)
    name = connection.ops.quote_name(column)
    ids = None if contact_ids is None else sorted(set(contact_ids))
    chunks = (
        [None]
        if ids is None
        else [
            ids[start : start + IDS_PER_STATEMENT]
            for start in range(0, len(ids), IDS_PER_STATEMENT)
        ]
    )
    updated = 0
    for chunk in chunks:
        scoped = rows if chunk is None else rows.filter(contact_id__in=chunk)
        sql, params = scoped.query.sql_with_params()
        only, only_params = "", []
        if chunk is not None:
            only = f" AND scored.id IN ({', '.join(['%s'] * len(chunk))})"
            only_params = list(chunk)
        # The contacts joined to their rows (or to none): one statement, hash joins.
        value = "COALESCE(given.value, %s)"
        statement = (
            f"UPDATE {table} SET {name} = {value} FROM {table} AS scored "  # noqa: S608
            f"LEFT JOIN ({sql}) given ON given.contact_id = scored.id "
            f"WHERE {table}.id = scored.id AND scored.workspace_id = %s{only} "
            f"AND {table}.{name} IS DISTINCT FROM {value}"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [default, *params, workspace_id, *only_params, default])
            updated += cursor.rowcount
    return updated


def contact_scores_write_each(*, workspace_id: int, column: str, values: Mapping[int, Any]) -> int:
    """Set one score column to a value per contact (``{contact_id: value}``, e.g. each
    contact's conversion probability) on the workspace's contacts among them, set-based:
    one ``UPDATE ... FROM unnest(...)`` per 5,000 contacts on PostgreSQL, a ``CASE`` by id
    elsewhere. ``updated_at`` is left alone. Returns how many rows were updated."""
    if column not in SCORE_COLUMNS:
        raise ValueError(f"Not a score column: {column}")
    items = sorted(values.items())
    updated = 0
    for start in range(0, len(items), IDS_PER_STATEMENT):
        chunk = items[start : start + IDS_PER_STATEMENT]
        ids = [pk for pk, _ in chunk]
        if connection.vendor == "postgresql":
            field = Contact._meta.get_field(column)
            cast = field.db_type(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Contact._meta.db_table} AS c SET {field.column} = v.value "  # noqa: S608
                    f"FROM unnest(%s::bigint[], %s::{cast}[]) AS v(id, value) "
                    "WHERE c.id = v.id AND c.workspace_id = %s",
                    [ids, [value for _, value in chunk], workspace_id],
                )
                updated += cursor.rowcount
            continue
        case = Case(*(When(pk=pk, then=Value(value)) for pk, value in chunk), default=F(column))
        updated += Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).update(
            **{column: case}
        )
    return updated


def contact_scores_write_select(
    *,
    workspace_id: int,
    columns: Sequence[str],
    select: tuple[str, Sequence[Any]],
    ids: Sequence[int] | None = None,
) -> int:
    """Set several score columns at once from ``select``: ``(sql, params)`` of a SELECT whose
    output columns are ``id`` (a contact id) and one column named after each name in
    ``columns``, at most one row per contact. Only the workspace's contacts are written, and
    only those whose values would change (one ``UPDATE ... FROM``: every column of a row in
    one new row version, instead of one whole-table write per column). Returns how many
    rows were updated. ``ids``: the contacts ``select`` can name (all when None).

    On PostgreSQL the SELECT is computed once (a MATERIALIZED CTE) and, with ``ids``, the
    rows to update are found by primary key: in a workspace whose statistics lag (a new one
    taking in a burst of leads; the planner thinks it holds one contact) the plan was a
    nested loop over every contact of the workspace that computed the SELECT again for
    each: 140 ms for 25 contacts of a 500-contact workspace, growing with it, on every
    delivery batch."""
    unknown = set(columns) - SCORE_COLUMNS
    if unknown or not columns:
        raise ValueError(f"Not score columns: {', '.join(sorted(unknown)) or '(none)'}")
    quote = connection.ops.quote_name
    table = quote(Contact._meta.db_table)
    sql, params = select
    assignments = ", ".join(f"{quote(name)} = given.{quote(name)}" for name in columns)
    changed = " OR ".join(
        f"{table}.{quote(name)} IS DISTINCT FROM given.{quote(name)}" for name in columns
    )
    where = f"{table}.id = given.id AND {table}.workspace_id = %s AND ({changed})"
    arguments = [*params, workspace_id]
    if connection.vendor != "postgresql":
        statement = f"UPDATE {table} SET {assignments} FROM ({sql}) given WHERE {where}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(statement, arguments)
            return cursor.rowcount
    if ids is not None:
        where += f" AND {table}.id = ANY(%s)"
        arguments.append(list(ids))
    statement = (
        f"WITH given AS MATERIALIZED ({sql}) "  # noqa: S608 - our SQL
        f"UPDATE {table} SET {assignments} FROM given WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, arguments)
        return cursor.rowcount
