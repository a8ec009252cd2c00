"""Contacts list API latency with 1,000,000 contacts against the same calls with 1,000.

Pages are keyset-paginated and filters use indexes, so a page should cost about the same
at a million rows as at a thousand; the ratio shows it. Rows are generated with set-based
SQL (PostgreSQL: generate_series; SQLite: a recursive CTE). Set BENCH_LIST_ROWS to change
the large size.

One call is the exception, on purpose: a whole workspace sorted by engagement score scans
it (the score columns have no index so that scoring's writes are heap-only, decision
0025). Measured 5 December 2026 (x86_64, 2 cores, private PostgreSQL 15): 712 ms at
1,000,000 contacts against 9.6 ms at 1,000; the other calls 0.96-1.1x, search 4.5x
(20 ms).
"""

import os
import statistics
import time


def _seed(workspace_id: int, count: int, offset: int) -> None:
    from django.db import connection

    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    stage = (
        "(ARRAY['subscriber','lead','mql','sql','customer'])[1 + n %% 5]"
        if connection.vendor == "postgresql"
        else "CASE n %% 5 WHEN 0 THEN 'subscriber' WHEN 1 THEN 'lead' WHEN 2 THEN 'mql' "
        "WHEN 3 THEN 'sql' ELSE 'customer' END"
    )
    series = (
        "SELECT generate_series(%s, %s) AS n"
        if connection.vendor == "postgresql"
        else "WITH RECURSIVE s(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
        "SELECT n FROM s"
    )
    sql = f"""
        INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
            job_title, country, lifecycle_stage, temperature, consent_status,
            first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
            last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
            custom_fields, created_at, updated_at)
        SELECT %s, 'person' || n || '@company' || (n %% 5000) || '.com', NULL,
            'First' || (n %% 997), 'Last' || (n %% 1999), 'Buyer', 'US', {stage}, 'cold',
            'unknown', 'google', 'cpc', '', 'paid_search', 'google', 'cpc', '', 'paid_search',
            '{{}}', {now}, {now}
        FROM ({series}) AS numbers
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace_id, offset, offset + count - 1])
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE contacts_contact")


def _time(client, path: str, headers: dict, repeat: int = 30) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return statistics.median(samples)


def run() -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection
    from django.test import Client

    from leadflow.core.actors import Actor
    from leadflow.core.services import apikey_create, workspace_create

    large = int(os.environ.get("BENCH_LIST_ROWS", "1000000"))
    stamp = str(int(time.time() * 1000))
    client = Client(HTTP_HOST="localhost")
    calls = {
        "first_page": "/api/v1/contacts?limit=50",
        "stage_filter": "/api/v1/contacts?stage=mql&limit=50",
        "by_email": "/api/v1/contacts?email=person777@company777.com",
        "sorted_by_name": "/api/v1/contacts?sort=last_name&limit=50",
        "search": "/api/v1/contacts?q=person777%40&limit=50",
        # Not indexed on purpose (decision 0025): a whole-workspace sort by score scans.
        "sorted_by_score": "/api/v1/contacts?sort=-engagement_score&limit=50",
    }
    result: dict = {"database": connection.vendor, "large_rows": large}
    timings = {}
    for label, count in (("small", 1000), ("large", large)):
        workspace, _ = workspace_create(
            name=f"list {label} {stamp}",
            slug=f"l-{label}-{stamp}",
            owner_email=f"{label}{stamp}@example.com",
        )
        _, secret = apikey_create(
            workspace=workspace, name="bench", scopes=None, actor=Actor.system()
        )
        started = time.perf_counter()
        _seed(workspace.pk, count, 0)
        result[f"seed_{label}_s"] = round(time.perf_counter() - started, 1)
        headers = {"Authorization": f"Bearer {secret}"}
        timings[label] = {name: _time(client, path, headers) for name, path in calls.items()}
    for name in calls:
        result[f"{name}_ms_at_1k"] = round(timings["small"][name], 2)
        result[f"{name}_ms_at_large"] = round(timings["large"][name], 2)
        result[f"{name}_ratio_large_vs_1k"] = round(
            timings["large"][name] / timings["small"][name], 2
        )
    return result
