"""Duplicate finder at scale: a whole-workspace scan and the incremental check of one changed
contact, at 1,000,000 contacts, against a full read of the contacts table in the same run.

Contacts are generated with set-based SQL (PostgreSQL: generate_series) from Faker's name
lists of nine locales (4,500 first names, 5,500 last names) and 3,000 city names, each value
drawn independently per row; a tenth of them are second records of an earlier person
(another email, a dropped or added letter in the first name, the same address, the same
phone for half of them, no postal code for a fifth). Figures:
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

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "sv_SE")


def _names() -> tuple[list[str], list[str], list[str]]:
    """First names, last names (Faker's lists of several locales) and 3,000 city names."""
    import importlib

    from faker import Faker

    firsts: set[str] = set()
    lasts: set[str] = set()
    for locale in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            firsts |= set(getattr(provider, attribute, ()) or ())
        lasts |= set(getattr(provider, "last_names", ()) or ())
    faker = Faker("en_US")
    faker.seed_instance(12)
    cities = sorted({faker.city() for _ in range(4000)})[:3000]
    return sorted(firsts), sorted(lasts), cities


INSERT = """INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
            job_title, country, street_address, city, region, postal_code, date_of_birth,
            lifecycle_stage, temperature, consent_status,
            first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
            last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
            custom_fields, created_at, updated_at)"""


def _seed(workspace_id: int, count: int) -> None:
    from django.db import connection

    firsts, lasts, cities = _names()
    people = count - count // 10

    def draw(salt: str, size: int) -> str:
        """An independent pseudo-random index 1..size per row (md5 of the row number)."""
        return f"1 + (('x' || substr(md5(n::text || '{salt}'), 1, 8))::bit(32)::bigint %% {size})"

    originals = f"""
        {INSERT}
        SELECT %(ws)s, 'p' || n || '@mail' || (n %% 97) || '.example',
            CASE WHEN n %% 3 = 0 THEN NULL
                 ELSE '+1' || (200 + {draw("a", 799)}) || lpad(({draw("p", 9999999)})::text, 7, '0')
            END,
            (%(firsts)s::text[])[{draw("f", len(firsts))}],
            (%(lasts)s::text[])[{draw("l", len(lasts))}],
            'Buyer', 'US',
            ({draw("s", 9000)}) || ' ' || (%(lasts)s::text[])[{draw("t", len(lasts))}] || ' Street',
            (%(cities)s::text[])[{draw("c", len(cities))}], 'IL',
            lpad(({draw("z", 89999)} + 10000)::text, 5, '0'),
            CASE WHEN n %% 4 = 0 THEN DATE '1950-01-01' + ({draw("d", 18000)})::int END,
            'lead', 'cold', 'unknown', 'google', 'cpc', '', 'paid_search',
            'google', 'cpc', '', 'paid_search', '{{}}', now(), now()
        FROM generate_series(1::bigint, %(people)s::bigint) AS n
    """
    seconds = f"""
        {INSERT}
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
    values = {
        "ws": workspace_id,
        "firsts": firsts,
        "lasts": lasts,
        "cities": cities,
        "people": people,
    }
    with connection.cursor() as cursor:
        cursor.execute(originals, values)
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
