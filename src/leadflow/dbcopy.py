"""Copy a SQLite installation into an empty PostgreSQL database (`leadflow copy-to-postgres`).

The way from the SQLite file `make run` starts with to PostgreSQL: the target gets
LeadFlow's schema from the migrations (run in a child process with the target as its
database, so that PostgreSQL-only steps such as the event table's partitions run as on any
PostgreSQL installation), then every row of every table, model by model through the ORM
(so each value is converted between the two databases as Django does), then its sequences
are moved past the copied ids.

Guarantees: the source is only read; the target is written in one transaction, so a failed
copy leaves no rows (only the empty tables of the schema), and it can be run again; a target
that already holds rows is refused; every copied table has the same row count on both sides
when it returns, and new rows get ids above the copied ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction

from leadflow.core.errors import Conflict, DomainError

TARGET = "copy_target"
BATCH_ROWS = 2000


class CopyFailed(DomainError):
    code = "copy_failed"


@dataclass(frozen=True)
class CopyReport:
    """What was copied: rows per table (in copy order)."""

    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def copy_to_postgres(*, url: str, progress: Callable[[str], None] = print) -> CopyReport:
    """Copy the current (SQLite) database into the empty PostgreSQL database at ``url``."""
    if connections["default"].vendor != "sqlite":
        raise Conflict("The current database is not SQLite: unset DATABASE_URL to copy it.")
    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise CopyFailed("The target must be a PostgreSQL URL (postgres://user@host:5432/name).")
    tables = _copied_models()
    with _target(config) as target:
        progress("Creating LeadFlow's tables in the target database…")
        _migrate(url)
        _refuse_rows(target, tables)
        counts: dict[str, int] = {}
        with transaction.atomic(using=TARGET), _original_timestamps(tables):
            with target.cursor() as cursor:
                names = ", ".join(target.ops.quote_name(m._meta.db_table) for m in tables)
                # The migrations' own rows (content types, permissions) give way to the copy's.
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                # Activities keep their ids (contacts migration 0020's trigger draws new ones).
                cursor.execute("SET LOCAL lfcopy.keep_ids = 'on'")
            for model in tables:
                table = model._meta.db_table
                try:
                    with transaction.atomic(using=TARGET):  # names the table that failed
                        counts[table] = _copy_rows(model)
                except DatabaseError as error:
                    detail = " ".join(str(error).split())
                    raise CopyFailed(f"Copying table {table} failed: {detail}") from error
                if counts[table]:
                    progress(f"  {table}: {counts[table]:,} rows")
            with target.cursor() as cursor:
                for statement in target.ops.sequence_reset_sql(no_style(), tables):
                    cursor.execute(statement)
            _check_counts(target, counts)
    return CopyReport(counts)


def _copied_models() -> list[type[models.Model]]:
    """Every table Django manages (many-to-many tables included), parents first."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


@contextmanager
def _target(config: dict) -> Iterator:
    databases = {"default": connections.settings["default"], TARGET: dict(config)}
    connections.settings[TARGET] = connections.configure_settings(databases)[TARGET]
    try:
        yield connections[TARGET]
    finally:
        connections[TARGET].close()
        del connections[TARGET]
        del connections.settings[TARGET]


def _migrate(url: str) -> None:
    """`leadflow migrate` with the target as the database, in a child process."""
    env = {**os.environ, "DATABASE_URL": url, "LEADFLOW_DEMO": "0"}
    finished = subprocess.run(
        [sys.executable, "-m", "leadflow", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        reason = (finished.stderr or finished.stdout).strip().splitlines()[-1:] or ["?"]
        raise CopyFailed(f"Creating the tables in the target failed: {reason[0]}")


def _refuse_rows(target, tables: list[type[models.Model]]) -> None:
    """A target with rows of its own (a workspace, a user, ...) is never overwritten."""
    user_tables = [
        model._meta.db_table
        for model in tables
        if model._meta.app_label not in {"contenttypes", "auth"}
    ]
    with target.cursor() as cursor:
        for table in user_tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {target.ops.quote_name(table)})")  # noqa: S608
            if cursor.fetchone()[0]:
                raise Conflict(
                    f"The target database already holds data (table {table}): copy into a new, "
                    "empty database."
                )


@contextmanager
def _original_timestamps(tables: list[type[models.Model]]) -> Iterator[None]:
    """auto_now / auto_now_add would stamp every copied row with the time of the copy."""
    changed = []
    for model in tables:
        for field in model._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                changed.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in changed:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _copy_rows(model: type[models.Model]) -> int:
    copied = 0
    batch: list[models.Model] = []
    rows = model._base_manager.using("default").order_by("pk").iterator(chunk_size=BATCH_ROWS)
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            model._base_manager.using(TARGET).bulk_create(batch)
            copied += len(batch)
            batch = []
    if batch:
        model._base_manager.using(TARGET).bulk_create(batch)
        copied += len(batch)
    return copied


def _check_counts(target, counts: dict[str, int]) -> None:
    with target.cursor() as cursor:
        for table, expected in counts.items():
            cursor.execute(f"SELECT COUNT(*) FROM {target.ops.quote_name(table)}")  # noqa: S608
            found = cursor.fetchone()[0]
            if found != expected:
                raise CopyFailed(f"Table {table}: {found} rows in the target, {expected} copied.")


def sqlite_path() -> str:
    """The SQLite file being copied (for the command's messages)."""
    return str(settings.DATABASES["default"]["NAME"])
