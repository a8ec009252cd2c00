"""`leadflow copy-to-postgres`: a SQLite installation (the demo) copied into a new PostgreSQL
database on the server the suite runs on, checked table by table, then used.

The copy needs a real PostgreSQL server, so it runs in the PostgreSQL leg of the suite
(DATABASE_URL=postgres://..., as .ci/run does); on SQLite it is skipped with that reason.
"""

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from leadflow.nurture.demo import NEW_SUBSCRIBERS, NEWSLETTER_READERS

SUITE_DATABASE = os.environ.get("DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not SUITE_DATABASE.startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: runs in the PostgreSQL leg of make test (.ci/run runs both)",
)


def leadflow(data_dir: Path, *args: str, database_url: str | None = None):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["LEADFLOW_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "leadflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def empty_postgres():
    """A new, empty database on the suite's PostgreSQL server, dropped afterwards."""
    server = SUITE_DATABASE.rsplit("/", 1)[0]
    name = f"lf_copy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as source:
        tables = [
            row[0]
            for row in source.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'django_migrations'"
            )
        ]
        count = 'SELECT COUNT(*) FROM "{}"'
        return {table: source.execute(count.format(table)).fetchone()[0] for table in tables}


@needs_postgres
def test_the_demo_on_sqlite_is_copied_into_postgres_whole_and_stays_usable(
    tmp_path, empty_postgres, migrated_sqlite
):
    migrated_sqlite(tmp_path)
    assert leadflow(tmp_path, "migrate").returncode == 0  # nothing left to do: quick
    demo = leadflow(tmp_path, "demo", "--contacts", "40")
    assert demo.returncode == 0, demo.stderr
    source = tmp_path / "leadflow.sqlite3"
    with sqlite3.connect(source) as sqlite:  # a gap in the ids, as deletes leave
        sqlite.execute(
            "DELETE FROM contacts_activity WHERE id = (SELECT MIN(id) FROM contacts_activity)"
        )
    expected = sqlite_counts(source)
    # The 40 asked for, nurture's newsletter readers and new subscribers, and the visitors
    # who earned a lead magnet (one each, on its form, landing page or pop-up).
    # ... and the chat's visitors who gave an email (one conversation each).
    with sqlite3.connect(source) as sqlite:
        chatted = sqlite.execute(
            "SELECT COUNT(*) FROM chat_conversation WHERE contact_id IS NOT NULL"
        ).fetchone()[0]
    demo_contacts = (
        40 + NEWSLETTER_READERS + NEW_SUBSCRIBERS + expected["capture_magnetgrant"] + chatted
    )
    assert expected["capture_magnetgrant"] > 0 and expected["pages_conversion"] > 0
    assert chatted > 0
    assert expected["contacts_contact"] == demo_contacts
    assert expected["contacts_activity"] > demo_contacts

    copied = leadflow(tmp_path, "copy-to-postgres", empty_postgres)
    assert copied.returncode == 0, copied.stderr
    assert f"Copied {sum(expected.values()):,} rows" in copied.stdout

    with psycopg.connect(empty_postgres) as target, sqlite3.connect(source) as sqlite:
        # Every table, row for row (the event table's rows land in its partitions).
        for table, count in expected.items():
            found = target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            assert found == count, table
        # Values and times as they were, not as of the copy.
        query = "SELECT id, email, lifecycle_stage, created_at FROM contacts_contact ORDER BY id"
        theirs = sqlite.execute(query).fetchall()
        ours = target.execute(query).fetchall()
        assert [row[:3] for row in ours] == [tuple(row[:3]) for row in theirs]
        assert [row[3] for row in ours] == [
            dt.datetime.fromisoformat(row[3]).replace(tzinfo=dt.UTC) for row in theirs
        ]
        # Activities keep their ids (the writers' trigger would draw new ones).
        query = "SELECT id, kind FROM contacts_activity ORDER BY id"
        assert target.execute(query).fetchall() == [tuple(r) for r in sqlite.execute(query)]
        # Sequences continue after the copied ids.
        for (table,) in target.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'id' "
            "AND table_schema = 'public' AND table_name NOT LIKE 'tracking_event_%'"
        ).fetchall():
            sequence = target.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')", [table]
            ).fetchone()[0]
            if sequence and expected.get(table):
                highest = target.execute(f'SELECT MAX(id) FROM "{table}"').fetchone()[0]
                last = target.execute(f"SELECT last_value FROM {sequence}").fetchone()[0]
                assert last >= highest, table

    # The copy is a working installation: the demo owner is there, new rows get new ids.
    created = leadflow(
        tmp_path,
        "workspace",
        "create",
        "After The Move",
        "--owner-email",
        "mover@after-the-move.example",
        database_url=empty_postgres,
    )
    assert created.returncode == 0, created.stderr
    key = leadflow(tmp_path, "apikey", "create", "--workspace", "demo", database_url=empty_postgres)
    assert key.returncode == 0, key.stderr

    # A database that holds data is never written to.
    again = leadflow(tmp_path, "copy-to-postgres", empty_postgres)
    assert again.returncode == 1
    assert "already holds data" in again.stderr


def test_only_a_postgresql_url_is_a_target(tmp_path):
    refused = leadflow(tmp_path, "copy-to-postgres", f"sqlite:///{tmp_path}/other.sqlite3")
    assert refused.returncode == 1
    assert "must be a PostgreSQL URL" in refused.stderr
