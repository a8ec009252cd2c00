"""Duplicate finder at scale: a whole-workspace scan and the incremental check of one changed
contact, at 1,000,000 contacts, against a full read of the contacts table in the same run.

Contacts are generated with set-based SQL from Faker's name lists (PostgreSQL:
generate_series), a tenth of them second records of an earlier person (another email, a
typo or a dropped letter in the first name, the same phone or postal code). Figures:
``scan_s`` and ``scan_vs_table_read`` (the scan's time over the time to read every
contact's matching values once: the floor any scan has to pay), ``check_p95_ms`` (one
changed contact checked against the workspace: key rewrite, candidate lookup, compare,
score, list) and ``check_p95_vs_table_read``. Targets (issue 12): scan < 5 minutes, check
p95 < 50 ms. Set BENCH_DEDUPE_ROWS to change the size. PostgreSQL only (set DATABASE_URL).
"""

import os
import random
import statistics
import time


def _seed(workspace_id: int, count: int) -> None:
    from django.db import connection
    from faker.providers.person.en_US import Provider

    firsts = sorted(set(Provider.first_names_male) | set(Provider.first_names_female))
    lasts = sorted(set(Provider.last_names))
    people = count - count // 10
    originals = f"""
        INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
            job_title, country, street_address, city, region, postal_code, date_of_birth,
            lifecycle_stage, temperature, consent_status,
            first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
            last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
            custom_fields, created_at, updated_at)
        SELECT %(ws)s, 'p' || n || '@mail' || (n %% 97) || '.example',
            CASE WHEN n %% 3 = 0 THEN NULL ELSE '+1415' || lpad((n * 7919 %% 10000000)::text, 7, '0') END,
            (%(firsts)s::text[])[1 + (n * 31 %% {len(firsts)})],
            (%(lasts)s::text[])[1 + (n * 17 %% {len(lasts)})],
            'Buyer', 'US', (n * 7 %% 8999 + 1) || ' Main Street', 'Springfield', 'IL',
            lpad((n * 13 %% 90000 + 10000)::text, 5, '0'),
            CASE WHEN n %% 4 = 0 THEN DATE '1950-01-01' + (n * 37 %% 18000)::int END,
            'lead', 'cold', 'unknown', 'google', 'cpc', '', 'paid_search',
            'google', 'cpc', '', 'paid_search', '{{}}', now(), now()
        FROM generate_series(1::bigint, %(people)s::bigint) AS n
    """  # noqa: E501 (SQL)
    seconds = f"""
        INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
            job_title, country, street_address, city, region, postal_code, date_of_birth,
            lifecycle_stage, temperature, consent_status,
            first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
            last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
            custom_fields, created_at, updated_at)
        SELECT workspace_id, 'second.' || email, CASE WHEN id %% 2 = 0 THEN phone END,
            CASE id %% 3 WHEN 0 THEN first_name
                         WHEN 1 THEN overlay(first_name placing '' from 2 for 1)
                         ELSE first_name || 'e' END,
            last_name, job_title, country, street_address, city, region,
            CASE WHEN id %% 5 = 0 THEN '' ELSE postal_code END, date_of_birth,
            lifecycle_stage, temperature, consent_status,
            first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
            last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
            custom_fields, now(), now()
        FROM contacts_contact WHERE workspace_id = %(ws)s AND id %% 9 = 0
        ORDER BY id LIMIT {count - people}
    """
    with connection.cursor() as cursor:
        cursor.execute(
            originals, {"ws": workspace_id, "firsts": firsts, "lasts": lasts, "people": people}
        )
        cursor.execute(seconds, {"ws": workspace_id})
        cursor.execute("ANALYZE contacts_contact")


def run() -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"skipped": "needs PostgreSQL (set DATABASE_URL)"}

    from leadflow.contacts.models import Contact
    from leadflow.core.services import workspace_create
    from leadflow.duplicates import selectors
    from leadflow.duplicates.scan import duplicates_scan
    from leadflow.duplicates.services import duplicates_check

    rows = int(os.environ.get("BENCH_DEDUPE_ROWS", "1000000"))
    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"dedupe {stamp}", slug=f"dedupe-{stamp}", owner_email=f"d{stamp}@example.com"
    )
    started = time.perf_counter()
    _seed(workspace.pk, rows)
    result: dict = {"database": connection.vendor, "contacts": rows}
    result["seed_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    read = sum(len(chunk) for chunk in selectors.contact_values_all(workspace))
    table_read = time.perf_counter() - started
    assert read == Contact.objects.filter(workspace=workspace).count()
    result["table_read_s"] = round(table_read, 2)

    stages: dict[str, float] = {}
    began = time.perf_counter()

    def progress(state) -> None:  # when each stage ended, for the breakdown
        stages[state.stage] = time.perf_counter() - began

    scan = duplicates_scan(workspace=workspace, progress=progress)
    result["scan_s"] = round(scan.seconds, 1)
    previous = 0.0
    for stage, ended in stages.items():
        result[f"scan_{stage}_s"] = round(ended - previous, 1)
        previous = ended
    result["scan_vs_table_read"] = round(scan.seconds / table_read, 2)
    result["candidate_pairs"] = scan.candidates
    result["listed_pairs"] = scan.listed
    result["keys"] = scan.keys

    ids = list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True))
    rng = random.Random(7)
    samples = []
    for contact_id in rng.sample(ids, 300):
        Contact.objects.filter(pk=contact_id).update(job_title="Head of Buying")
        began = time.perf_counter()
        duplicates_check(workspace=workspace, contact_ids=[contact_id])
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    result["check_p50_ms"] = round(statistics.median(samples), 2)
    result["check_p95_ms"] = round(p95, 2)
    result["check_p95_vs_table_read"] = round(p95 / 1000 / table_read, 5)
    return result
