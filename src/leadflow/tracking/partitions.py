"""Monthly partitions of the event table on PostgreSQL (a no-op on SQLite).

Each month has its own partition (tracking_event_y2026m11); a DEFAULT partition catches any
row whose month has none yet, so an insert never fails. ``ensure`` creates the partitions
from last month to a few months ahead (run by migrations, ``leadflow serve``, the worker
and ``leadflow maintain``) and moves rows that landed in the default partition into their
month. ``drop_before`` removes whole months nobody keeps any more.
"""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

TABLE = "tracking_event"


def _month_start(moment: dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year}m{month.month:02d}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c "
            "ON c.oid = p.partrelid WHERE c.relname = %s",
            [TABLE],
        )
        return cursor.fetchone() is not None


def existing() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        return {row[0] for row in cursor.fetchall()}


def ensure(months_ahead: int = 3, today: dt.date | None = None) -> list[str]:
    """Create the missing monthly partitions; returns the names created."""
    if not is_partitioned():
        return []
    today = today or timezone.now().date()
    month = _month_start(today - dt.timedelta(days=31))
    last = _month_start(today)
    for _ in range(months_ahead):
        last = _next_month(last)
    created = []
    have = existing()
    while month <= last:
        name = partition_name(month)
        if name not in have:
            _create(month)
            created.append(name)
        month = _next_month(month)
    return created


def _create(month: dt.date) -> None:
    """Create one month's partition, moving rows the default partition held for it."""
    start, end = month.isoformat(), _next_month(month).isoformat()
    name = partition_name(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {TABLE}_default")
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM ('{start}') TO ('{end}')"
        )
        cursor.execute(
            f"INSERT INTO {name} SELECT * FROM {TABLE}_default "  # noqa: S608
            "WHERE occurred_at >= %s AND occurred_at < %s",
            [start, end],
        )
        cursor.execute(
            f"DELETE FROM {TABLE}_default "  # noqa: S608
            "WHERE occurred_at >= %s AND occurred_at < %s",
            [start, end],
        )
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {TABLE}_default DEFAULT")


def drop_before(moment: dt.datetime) -> list[str]:
    """Drop the monthly partitions that end before ``moment``; returns their names."""
    if not is_partitioned():
        return []
    dropped = []
    for name in sorted(existing()):
        if not name.startswith(f"{TABLE}_y"):
            continue
        year, month = int(name[-7:-3]), int(name[-2:])
        if _next_month(dt.date(year, month, 1)) <= moment.date().replace(day=1):
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped
