"""Behaviour aggregates of the conversion model's features, set-based: for a batch of
contacts, each with its own cutoff, the counts of each activity kind and tracked event
type in the 7, 30 and 90 days before the cutoff, the days since the last one, the distinct
pages viewed and the visits of the workspace's key pages. Only rows with ``occurred_at``
before the cutoff count.

Each is one GROUP BY query with conditional sums over a join to a table of (contact,
cutoff, window starts): ``unnest`` of arrays on PostgreSQL, a temporary table on SQLite.
When every contact of the batch has the same cutoff (scoring now), the table is one row
of constants and the contacts are picked by the index on ``contact_id``: a range scan
(``BETWEEN`` the batch's first and last id) when the batch's ids are dense, as a
whole-workspace run's are, and an id list otherwise; joining a 20,000-row table to the
partitioned event table instead hashes every event of the workspace, twenty times slower
on a million contacts. The window starts are computed in Python, so the SQL needs no date
arithmetic per vendor; Python only places the grouped rows into the matrix, with numpy
(rows of contacts in the range but not in the batch are left out).
"""

import datetime as dt
from typing import NamedTuple

import numpy as np
from django.db import connection

from leadflow.contacts.models import Activity
from leadflow.tracking.models import Event, EventType

WINDOWS = (7, 30, 90)


def behaviour_fill(
    matrix: np.ndarray,
    column: dict[str, int],
    *,
    kinds: list[str],
    event_types: list[str],
    key_pages: list[str],
    workspace_id: int,
    ids: list[int],
    times: list[dt.datetime],
) -> None:
    """Fill the behaviour columns (named as ``features.plan_specs`` names them) of these
    contacts' rows (``ids`` ascending, ``times`` their cutoffs) in ``matrix``."""
    # Counts are zero unless a row says otherwise; "days since" stays NaN without one.
    for name, index in column.items():
        if name.startswith(("activity.", "event.", "key_page.")) and not name.endswith("since"):
            matrix[:, index] = 0.0
    matrix[:, column["pages.distinct"]] = 0.0
    if not ids:
        return
    positions = np.asarray(ids, dtype=np.int64)
    with connection.cursor() as cursor:
        scope = _scope(cursor, ids, times)
        if kinds:
            rows = _grouped(cursor, "activity", kinds, scope, workspace_id)
            _place(matrix, column, positions, rows, "activity", kinds)
        if event_types:
            rows = _grouped(cursor, "event", event_types, scope, workspace_id)
            _place(matrix, column, positions, rows, "event", event_types)
        _pages_fill(matrix, column, positions, cursor, key_pages, scope, workspace_id)
        if scope.source == _TEMPORARY:
            cursor.execute("DELETE FROM scoring_feature_cutoffs")


# A batch whose ids span less than this many times its size is read by an id range.
DENSE = 4


def ids_dense(ids: list[int]) -> bool:
    """Whether these ascending ids are best read by their range (``BETWEEN`` the first and
    the last, leaving out the others found) rather than one by one: they are most of the ids
    between them, as a whole-workspace run's batches are."""
    return bool(ids) and ids[-1] - ids[0] < DENSE * len(ids)


class _Scope(NamedTuple):
    """The FROM item ``c(cutoff, since7, since30, since90[, contact_id])`` of a batch and the
    join condition that picks its contacts' rows ``r``, with their parameters."""

    source: str
    params: list
    on: str
    on_params: list


def _scope(cursor, ids: list[int], times: list[dt.datetime]) -> _Scope:
    adapt = connection.ops.adapt_datetimefield_value
    postgres = connection.vendor == "postgresql"
    if all(at == times[0] for at in times):
        starts = [times[0], *(times[0] - dt.timedelta(days=days) for days in WINDOWS)]
        cast = "::timestamptz" if postgres else ""
        source = ", ".join(f"%s{cast} AS {name}" for name in ("cutoff", *_SINCE))
        params = [adapt(at) for at in starts]
        if ids_dense(ids):
            return _Scope(f"(SELECT {source}) AS c", params, "r.contact_id BETWEEN %s AND %s",
                          [ids[0], ids[-1]])  # fmt: skip
        if postgres:
            return _Scope(f"(SELECT {source}) AS c", params, "r.contact_id = ANY(%s::bigint[])",
                          [array_literal(ids)])  # fmt: skip
        marks = ", ".join(["%s"] * len(ids))
        return _Scope(f"(SELECT {source}) AS c", params, f"r.contact_id IN ({marks})", list(ids))
    columns = [[adapt(at) for at in times]]
    columns += [[adapt(at - dt.timedelta(days=days)) for at in times] for days in WINDOWS]
    if postgres:
        return _Scope(
            "(SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], "
            "%s::timestamptz[], %s::timestamptz[])) AS c(contact_id, cutoff, since7, since30, "
            "since90)",
            [array_literal(ids), *(array_literal(column) for column in columns)],
            "r.contact_id = c.contact_id",
            [],
        )
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS scoring_feature_cutoffs (contact_id integer PRIMARY "
        "KEY, cutoff text, since7 text, since30 text, since90 text)"
    )
    cursor.execute("DELETE FROM scoring_feature_cutoffs")
    cursor.executemany(
        "INSERT INTO scoring_feature_cutoffs VALUES (%s, %s, %s, %s, %s)",
        list(zip(ids, *columns, strict=True)),
    )
    return _Scope(_TEMPORARY, [], "r.contact_id = c.contact_id", [])


_TEMPORARY = "scoring_feature_cutoffs AS c"
_SINCE = tuple(f"since{days}" for days in WINDOWS)


def array_literal(values: list) -> str:
    """A PostgreSQL array literal of numbers or ``datetime``s (ISO format, which needs no
    quoting): one string parameter, where a list parameter would be quoted element by
    element in Python by the client-side binding cursor (seconds per 100,000)."""
    return "{" + ",".join(v.isoformat() if isinstance(v, dt.datetime) else str(v)
                          for v in values) + "}"  # fmt: skip


def _rows_of(positions: np.ndarray, contact_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The matrix rows of these result rows' contacts, and which result rows are the batch's
    (a range scan also finds the contacts between its ids that are not in it)."""
    at = np.minimum(np.searchsorted(positions, contact_ids), len(positions) - 1)
    return at, positions[at] == contact_ids


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0 AS double precision)"
    return f"julianday({later}) - julianday({earlier})"


def _grouped(cursor, what: str, keys: list[str], scope: _Scope, workspace_id: int):
    """Rows (contact_id, key code, count 7 d, 30 d, 90 d, days since the last) of the
    contacts' activities (or events) before each one's cutoff, grouped by contact and key."""
    if what == "activity":
        table, key_column = Activity._meta.db_table, "kind"
    else:
        table, key_column = Event._meta.db_table, "event_type"
    code = " ".join(f"WHEN %s THEN {index}" for index in range(len(keys)))
    marks = ", ".join(["%s"] * len(keys))
    sql = (
        f"SELECT r.contact_id, CASE r.{key_column} {code} END AS code, "  # noqa: S608 - our names
        "SUM(CASE WHEN r.occurred_at >= c.since7 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.occurred_at >= c.since30 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN r.occurred_at >= c.since90 THEN 1 ELSE 0 END), "
        f"{_days_between('MAX(c.cutoff)', 'MAX(r.occurred_at)')} "
        f"FROM {scope.source} JOIN {table} r ON {scope.on} "
        f"WHERE r.workspace_id = %s AND r.occurred_at < c.cutoff AND r.{key_column} IN ({marks}) "
        f"GROUP BY r.contact_id, r.{key_column}"
    )
    cursor.execute(sql, [*keys, *scope.params, *scope.on_params, workspace_id, *keys])
    return cursor.fetchall()


def _place(
    matrix: np.ndarray,
    column: dict[str, int],
    positions: np.ndarray,
    rows: list[tuple],
    prefix: str,
    keys: list[str],
) -> None:
    if not rows:
        return
    values = np.array(rows, dtype=float)
    at, ours = _rows_of(positions, values[:, 0].astype(np.int64))
    values, at = values[ours], at[ours]
    codes = values[:, 1].astype(int)
    for code, key in enumerate(keys):
        chosen = codes == code
        if not chosen.any():
            continue
        rows_of = at[chosen]
        for offset, suffix in enumerate((*[f"{days}d" for days in WINDOWS], "days_since")):
            matrix[rows_of, column[f"{prefix}.{key}.{suffix}"]] = values[chosen, 2 + offset]


def like_pattern(pattern: str) -> str:
    """A key-page glob (``*`` for any text) as a LIKE pattern (``\\`` escapes), matched
    against lower-cased URLs: a pattern without a scheme matches on any site (``/pricing*``
    is any URL whose path starts with /pricing)."""
    escaped = pattern.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    escaped = escaped.replace("*", "%")
    if "://" not in pattern and not escaped.startswith("%"):
        escaped = "%" + escaped if escaped.startswith("/") else "%://" + escaped
    return escaped


def _pages_fill(
    matrix: np.ndarray,
    column: dict[str, int],
    positions: np.ndarray,
    cursor,
    key_pages: list[str],
    scope: _Scope,
    workspace_id: int,
) -> None:
    """Distinct pages viewed before the cutoff and key-page visits in each window."""
    sums, sum_params = [], []
    for pattern in key_pages:
        for days in WINDOWS:
            sums.append(
                "SUM(CASE WHEN LOWER(r.url) LIKE %s ESCAPE '\\' "
                f"AND r.occurred_at >= c.since{days} THEN 1 ELSE 0 END)"
            )
            sum_params.append(like_pattern(pattern))
    table = Event._meta.db_table
    sql = (
        f"SELECT r.contact_id, COUNT(DISTINCT r.url) {''.join(', ' + s for s in sums)} "  # noqa: S608
        f"FROM {scope.source} JOIN {table} r ON {scope.on} "
        "WHERE r.workspace_id = %s AND r.occurred_at < c.cutoff AND r.event_type = %s "
        "GROUP BY r.contact_id"
    )
    cursor.execute(sql, [*sum_params, *scope.params, *scope.on_params, workspace_id,
                         EventType.PAGEVIEW])  # fmt: skip
    rows = cursor.fetchall()
    if not rows:
        return
    values = np.array(rows, dtype=float)
    at, ours = _rows_of(positions, values[:, 0].astype(np.int64))
    values, at = values[ours], at[ours]
    matrix[at, column["pages.distinct"]] = values[:, 1]
    offset = 2
    for pattern in key_pages:
        for days in WINDOWS:
            matrix[at, column[f"key_page.{pattern}.{days}d"]] = values[:, offset]
            offset += 1
