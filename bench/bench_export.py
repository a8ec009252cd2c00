"""Contact export throughput: N contacts through contact_export_rows and the CSV writer
(and, with fewer rows, the Excel writer), against the database's own COPY ... TO STDOUT
of the same columns and a plain cursor fetch written with csv.writer, same run.

On PostgreSQL the CSV is written by the database (decision 0013); the Python writer's
figure (the path SQLite and Excel take) is reported beside it.

Contacts are seeded set-based (generate_series) with a company, an owner, two custom
fields and one or two tags each. The issue's figure (1,000,000 contacts, PostgreSQL):
    BENCH_EXPORT_ROWS=1000000 DATABASE_URL=postgres://... python bench/run.py bench_export
Excel is written for BENCH_EXPORT_XLSX_ROWS contacts (openpyxl builds every cell in
Python: it is far slower than CSV whatever the selector does).
"""

import csv
import io
import os
import tempfile
import time

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
XLSX_ROWS = int(os.environ.get("BENCH_EXPORT_XLSX_ROWS", "20000"))


def _seed(workspace_id: int, owner_id: int, count: int) -> None:
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    series = (
        "SELECT generate_series(0, %s - 1) AS n"
        if postgres
        else "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %s - 1) "
        "SELECT n FROM s"
    )
    now = "now()" if postgres else "CURRENT_TIMESTAMP"
    custom = (
        "jsonb_build_object('budget', n * 10, 'plan', 'pro')"
        if postgres
        else "json_object('budget', n * 10, 'plan', 'pro')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO contacts_company (workspace_id, name, domain, size, industry, country, "
            f"created_at, updated_at) SELECT %s, 'Company ' || n, 'company' || n || '.com', '', "
            f"'', '', {now}, {now} FROM ({series}) AS numbers",
            [workspace_id, 1000],
        )
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
                job_title, company_id, country, owner_id, lifecycle_stage, temperature,
                consent_status, first_touch_source, first_touch_medium, first_touch_campaign,
                first_touch_channel, last_touch_source, last_touch_medium, last_touch_campaign,
                last_touch_channel, custom_fields, created_at, updated_at)
            SELECT %s, 'person' || n || '@company' || (n %% 1000) || '.com',
                '+4420' || (70000000 + n), 'First' || (n %% 997),
                CASE WHEN n %% 50 = 0 THEN '=cmd' ELSE 'Last' || (n %% 1999) END, 'Buyer',
                (SELECT min(id) FROM contacts_company WHERE workspace_id = %s) + n %% 1000,
                'GB', CASE WHEN n %% 3 = 0 THEN %s END, 'lead', 'cold', 'unknown', 'google',
                'cpc', 'spring', 'paid_search', 'google', 'cpc', 'spring', 'paid_search',
                {custom}, {now}, {now}
            FROM ({series}) AS numbers
            """,
            [workspace_id, workspace_id, owner_id, count],
        )
        cursor.execute(
            "INSERT INTO contacts_tag (workspace_id, name) "
            "SELECT %s, name FROM (SELECT 'vip' AS name UNION ALL SELECT 'eu') AS t",
            [workspace_id],
        )
        cursor.execute(
            "INSERT INTO contacts_contact_tags (contact_id, tag_id) "
            "SELECT c.id, t.id FROM contacts_contact c JOIN contacts_tag t "
            "ON t.workspace_id = c.workspace_id "
            "WHERE c.workspace_id = %s AND (t.name = 'eu' OR c.id %% 2 = 0)",
            [workspace_id],
        )
        if postgres:
            cursor.execute("ANALYZE")


BASELINE_SQL = """
    SELECT c.id, c.email, c.phone, c.first_name, c.last_name, c.job_title, co.name, c.country,
        u.email, c.lifecycle_stage, c.temperature, c.consent_status, c.first_touch_source,
        c.first_touch_medium, c.first_touch_campaign, c.first_touch_channel,
        c.last_touch_source, c.last_touch_medium, c.last_touch_campaign, c.last_touch_channel,
        (SELECT string_agg(t.name, '; ' ORDER BY t.name) FROM contacts_contact_tags ct
            JOIN contacts_tag t ON t.id = ct.tag_id WHERE ct.contact_id = c.id),
        c.custom_fields ->> 'budget', c.custom_fields ->> 'plan', c.created_at, c.updated_at
    FROM contacts_contact c
    LEFT JOIN contacts_company co ON co.id = c.company_id
    LEFT JOIN core_user u ON u.id = c.owner_id
    WHERE c.workspace_id = {workspace} ORDER BY c.created_at, c.id
"""


def _baselines(workspace_id: int) -> dict:
    """Seconds for the database's COPY of the same columns, and for a plain cursor fetch
    written with csv.writer."""
    from django.db import connection

    sql = BASELINE_SQL.format(workspace=int(workspace_id))
    seconds = {}
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV") as copy,
        ):
            size = sum(len(block) for block in copy)
        seconds["copy"] = time.perf_counter() - started
        assert size
    started = time.perf_counter()
    out = io.StringIO()
    writer = csv.writer(out)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(5000):
            writer.writerows(batch)
    seconds["cursor"] = time.perf_counter() - started
    return seconds


def run(rows: int = ROWS, xlsx_rows: int = XLSX_ROWS) -> dict:
    from bench_import import _setup_database

    _setup_database()
    from django.db import connection

    from leadflow.contacts.exports import csv_write, xlsx_write
    from leadflow.contacts.models import CustomField
    from leadflow.contacts.selectors import contact_export_rows
    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership
    from leadflow.core.services import workspace_create

    stamp = str(int(time.time() * 1000))
    result: dict = {"database": connection.vendor, "rows": rows, "xlsx_rows": xlsx_rows}
    workspaces = {}
    for label, count in (("csv", rows), ("xlsx", xlsx_rows)):
        workspace, _ = workspace_create(
            name=f"export {label} {stamp}",
            slug=f"export-{label}-{stamp}",
            owner_email=f"e{label}{stamp}@example.com",
        )
        for key, kind in (("budget", "number"), ("plan", "text")):
            CustomField.objects.create(
                workspace=workspace, key=key, label=key.title(), field_type=kind
            )
        owner = Membership.objects.get(workspace=workspace).user_id
        started = time.perf_counter()
        _seed(workspace.pk, owner, count)
        result[f"seed_{label}_s"] = round(time.perf_counter() - started, 1)
        workspaces[label] = workspace
    actor = Actor.system("bench")

    baselines = _baselines(workspaces["csv"].pk)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as file:
        csv_write(contact_export_rows(workspaces["csv"], actor, {}, sort="created_at"), file)
        written = file.tell()
    seconds = time.perf_counter() - started
    assert written > rows * 100, written
    result["csv_rows_per_s"] = round(rows / seconds)
    # The same rows through the Python writer (the path SQLite and Excel take).
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as file:
        csv_write(iter(contact_export_rows(workspaces["csv"], actor, {}, sort="created_at")), file)
    result["csv_python_writer_rows_per_s"] = round(rows / (time.perf_counter() - started))
    for name, baseline in baselines.items():
        result[f"baseline_{name}_rows_per_s"] = round(rows / baseline)
        result[f"csv_ratio_vs_{name}"] = round(baseline / seconds, 2)

    started = time.perf_counter()
    with tempfile.TemporaryFile() as file:
        xlsx_write(contact_export_rows(workspaces["xlsx"], actor, {}, sort="created_at"), file)
    seconds = time.perf_counter() - started
    result["xlsx_rows_per_s"] = round(xlsx_rows / seconds)
    return result
