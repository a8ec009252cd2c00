"""History import: activity rows/s of ``history_ingest`` in batches of 1,000 into a workspace
with 1,000,000 contacts, against a COPY of the same rows in the same run.

The workspace's contacts are generated with set-based SQL (generate_series); the activities
name their contact by email (each batch: 1,000 emails to normalise and find, types and
names drawn from a few, times spread over three years, a small properties object), as a
CSV import or an API client sends them. Figures: ``ingest_rows_per_s`` (target, issue 13:
>= 20,000 on PostgreSQL), ``retry_rows_per_s`` (the same batches again: every row a
duplicate, nothing stored), and ``ingest_vs_copy`` (the ingest's time over the time to
COPY the same rows, contacts already known, into a scratch table of the event table's
shape without its indexes: the floor of writing the rows at all). Set
BENCH_HISTORY_CONTACTS and BENCH_HISTORY_ROWS to change the sizes. PostgreSQL only.

On PostgreSQL a batch is one statement (contacts found, ids and events stored); measured on
the shared 2-core machine: 25,596 rows/s against a COPY at 150,477 (5.88) and 20,068
against 107,076 (5.34) when it was quiet, 11,631 against 58,752 (5.05) under other
benchmarks' load; with the partial visitor index (tracking.0005) 22,951 against 85,292
(3.72), the code before these changes 5,998 against 50,685 (8.45) a minute later; figures
and the cost split in docs/scoring/history.md ("Throughput").
"""

import datetime as dt
import json
import os
import random
import time

BATCH = 1000
TYPES = ("email_open", "email_click", "email_sent", "webinar_attended", "call", "meeting")


def _seed(workspace_id: int, count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
                job_title, country, street_address, city, region, postal_code,
                lifecycle_stage, temperature, consent_status,
                first_touch_source, first_touch_medium, first_touch_campaign,
                first_touch_channel, last_touch_source, last_touch_medium,
                last_touch_campaign, last_touch_channel, custom_fields, created_at, updated_at)
            SELECT %s, 'h' || n || '@mail' || (n %% 97) || '.example', NULL, 'Pat', 'Lee',
                '', 'US', '', '', '', '', 'lead', 'cold', 'unknown', '', '', '', '', '', '',
                '', '', '{}', now(), now()
            FROM generate_series(1::bigint, %s::bigint) AS n""",
            [workspace_id, count],
        )
        cursor.execute("ANALYZE contacts_contact")


def _rows(contacts: int, count: int) -> list[list[dict]]:
    rng = random.Random(13)
    start = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    rows = []
    for n in range(count):
        person = rng.randint(1, contacts)
        rows.append(
            {
                "id": f"bench-{n}",
                "email": f"H{person}@mail{person % 97}.example",  # normalised on the way in
                "type": rng.choice(TYPES),
                "name": f"Campaign {rng.randint(1, 40)}",
                "occurred_at": (
                    start + dt.timedelta(seconds=rng.randint(0, 94_000_000))
                ).isoformat(),
                "url": "",
                "properties": {"campaign": f"c{rng.randint(1, 40)}", "channel": "email"},
            }
        )
    return [rows[i : i + BATCH] for i in range(0, count, BATCH)]


def _copy_baseline(workspace_id: int, batches: list[list[dict]], ids: dict[str, int]) -> float:
    """Seconds to COPY the same rows (contacts known) into a scratch table, a batch a
    transaction."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_history_scratch")
        cursor.execute(
            "CREATE TABLE bench_history_scratch "
            "(LIKE tracking_event INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
    columns = (
        "workspace_id, event_id, contact_id, event_type, name, url, referrer, properties, "
        "occurred_at, received_at"
    )
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for batch in batches:
        statement = f"COPY bench_history_scratch ({columns}) FROM STDIN"
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(statement) as copy,
        ):
            for row in batch:
                copy.write_row(
                    [
                        workspace_id,
                        row["event_id"],
                        ids[row["email"].lower()],
                        row["type"],
                        row["name"],
                        row["url"],
                        "",
                        json.dumps(row["properties"]),
                        row["occurred_at"],
                        now,
                    ]
                )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_history_scratch")
    return seconds


def run() -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"skipped": "needs PostgreSQL (set DATABASE_URL)"}

    from leadflow.contacts.models import Contact
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create
    from leadflow.tracking.history import history_event_id, history_ingest
    from leadflow.tracking.models import Event

    contacts = int(os.environ.get("BENCH_HISTORY_CONTACTS", "1000000"))
    count = int(os.environ.get("BENCH_HISTORY_ROWS", "200000"))
    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"history {stamp}", slug=f"history-{stamp}", owner_email=f"h{stamp}@example.com"
    )
    workspace.event_retention_days = 3650  # history from 2022 on
    workspace.save(update_fields=["event_retention_days"])
    result: dict = {"database": connection.vendor, "contacts": contacts, "rows": count}
    started = time.perf_counter()
    _seed(workspace.pk, contacts)
    result["seed_s"] = round(time.perf_counter() - started, 1)
    batches = _rows(contacts, count)
    actor = Actor.system("bench")

    started = time.perf_counter()
    accepted = sum(
        history_ingest(workspace=workspace, rows=batch, actor=actor).accepted for batch in batches
    )
    ingest = time.perf_counter() - started
    assert accepted == Event.objects.filter(workspace=workspace).count() == count, accepted
    result["ingest_s"] = round(ingest, 2)
    result["ingest_rows_per_s"] = round(count / ingest)

    started = time.perf_counter()
    again = sum(
        history_ingest(workspace=workspace, rows=batch, actor=actor).duplicates for batch in batches
    )
    retry = time.perf_counter() - started
    assert again == count
    result["retry_rows_per_s"] = round(count / retry)

    emails = {row["email"].lower() for batch in batches for row in batch}
    ids = dict(
        Contact.objects.filter(workspace=workspace, email__in=emails).values_list("email", "pk")
    )
    for batch in batches:
        for row in batch:
            row["event_id"] = str(history_event_id(workspace.pk, row["id"]))
    copy = _copy_baseline(workspace.pk, batches, ids)
    result["copy_baseline_s"] = round(copy, 2)
    result["copy_rows_per_s"] = round(count / copy)
    result["ingest_vs_copy"] = round(ingest / copy, 2)
    return result
