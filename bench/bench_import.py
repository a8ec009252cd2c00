"""Contact import throughput into a workspace that already holds many contacts: a
create-heavy and an update-heavy 20-column CSV through the chunked import, against
contact_upsert called once per row with the same rows, same run.

The workspace is seeded set-based (generate_series) with BENCH_IMPORT_SEED contacts (every
20th known only by a phone). The create-heavy file is 80% new people, 15% existing ones by
email and 5% existing ones by phone only; the update-heavy file is 80% by email, 10% by
phone only, 10% new. Dedupe is on email, then phone, as everywhere.

The issue's figure (1,000,000 contacts, 200,000 rows, PostgreSQL):
    BENCH_IMPORT_SEED=1000000 BENCH_IMPORT_ROWS=200000 \\
        DATABASE_URL=postgres://... python bench/run.py bench_import
"""

import csv
import os
import random
import tempfile
import time
from pathlib import Path

SEED = int(os.environ.get("BENCH_IMPORT_SEED", "100000"))
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
BASELINE_ROWS = int(os.environ.get("BENCH_IMPORT_BASELINE_ROWS", "1000"))
HEADERS = [
    "Email", "First Name", "Last Name", "Phone", "Company", "Job Title", "Country", "Tags",
    "Source", "Medium", "Campaign", "Lifecycle Stage", "Temperature", "Budget", "Seats",
    "Renewal", "Newsletter", "Plan", "Notes", "Internal id",
]  # fmt: skip
CUSTOM = [("budget", "number"), ("seats", "number"), ("renewal", "date"),
          ("newsletter", "boolean"), ("notes", "text")]  # fmt: skip
# (share by email, share by phone only); the rest are new people.
MIXES = {"create": (0.15, 0.05), "update": (0.80, 0.10)}


def _setup_database():
    import django
    from django.core.management import call_command
    from django.test.utils import setup_databases

    django.setup()
    if os.environ.get("DATABASE_URL"):
        return setup_databases(verbosity=0, interactive=False)
    call_command("migrate", verbosity=0)
    return None


def seed(workspace_id: int, count: int) -> None:
    """``count`` contacts: person<n>@company<n % 5000>.com with phone +44 20 7<n>; every
    20th has no email (known by its phone only)."""
    from django.db import connection

    series = (
        "SELECT generate_series(0, %s - 1) AS n"
        if connection.vendor == "postgresql"
        else "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %s - 1) "
        "SELECT n FROM s"
    )
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_contact (workspace_id, email, phone, first_name, last_name,
                job_title, country, lifecycle_stage, temperature, consent_status,
                first_touch_source, first_touch_medium, first_touch_campaign,
                first_touch_channel, last_touch_source, last_touch_medium, last_touch_campaign,
                last_touch_channel, custom_fields, created_at, updated_at)
            SELECT %s,
                CASE WHEN n %% 20 = 0 THEN NULL
                     ELSE 'person' || n || '@company' || (n %% 5000) || '.com' END,
                '+4420' || (70000000 + n), 'First' || (n %% 997), 'Last' || (n %% 1999),
                'Buyer', 'GB', 'lead', 'cold', 'unknown', 'google', 'cpc', '', 'paid_search',
                'google', 'cpc', '', 'paid_search', '{{}}', {now}, {now}
            FROM ({series}) AS numbers
            """,
            [workspace_id, count],
        )
        if connection.vendor == "postgresql":
            # A workspace that has held its contacts for a while has been vacuumed: without
            # this, autovacuum's first pass over the seeded rows runs during the import.
            cursor.execute("VACUUM (ANALYZE) contacts_contact")
            cursor.execute("CHECKPOINT")


def _people(label: str, rows: int, seeded: int, start: int) -> list[dict]:
    """``rows`` people for a file: new ones numbered from ``start`` and seeded ones, mixed
    as MIXES[label] says, in random order (each seeded person at most once)."""
    by_email, by_phone = MIXES[label]
    chooser = random.Random(f"{label}-{rows}-{seeded}")
    emailed = [n for n in chooser.sample(range(seeded), min(seeded, rows * 2)) if n % 20]
    phoned = [n for n in chooser.sample(range(0, seeded, 20), min(seeded // 20, rows))]
    people = []
    for index in range(rows):
        draw = chooser.random()
        if draw < by_email and emailed:
            n = emailed.pop()
            email, phone = f"person{n}@company{n % 5000}.com", ""
        elif draw < by_email + by_phone and phoned:
            n = phoned.pop()
            email, phone = "", f"020 {7000 + n // 10000:04d} {n % 10000:04d}"
        else:
            n = start + index
            email, phone = (
                f"lead{n}@firm{n % 3000}.com",
                f"020 {8000 + n // 10000:04d} {n % 10000:04d}",
            )
        people.append(
            {
                "Email": email, "First Name": f"First{n}", "Last Name": f"Last{n}",
                "Phone": phone, "Company": f"Firm {n % 3000}", "Job Title": label,
                "Country": "GB", "Tags": f"bench, t{n % 7}", "Source": "fair",
                "Medium": "offline", "Campaign": "spring", "Lifecycle Stage": "lead",
                "Temperature": "warm", "Budget": str(n * 10), "Seats": str(n % 50),
                "Renewal": "2026-06-30", "Newsletter": "yes", "Plan": "pro",
                "Notes": "a note, with a comma", "Internal id": f"X{n}",
            }
        )  # fmt: skip
    return people


def _file(directory: Path, label: str, people: list[dict]) -> Path:
    path = directory / f"bench-{label}.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(people)
    return path


def _upsert_data(person: dict) -> dict:
    """The same row as contact input, for the per-row baseline."""
    fields = {
        "email": "Email", "first_name": "First Name", "last_name": "Last Name",
        "phone": "Phone", "company": "Company", "job_title": "Job Title",
        "country": "Country", "source": "Source", "medium": "Medium", "campaign": "Campaign",
        "lifecycle_stage": "Lifecycle Stage", "temperature": "Temperature",
    }  # fmt: skip
    data = {key: person[column] for key, column in fields.items() if person[column]}
    data["tags"] = [tag.strip() for tag in person["Tags"].split(",")]
    data["custom_fields"] = {
        "budget": person["Budget"], "seats": person["Seats"], "renewal": person["Renewal"],
        "newsletter": person["Newsletter"], "notes": person["Notes"],
    }  # fmt: skip
    return data


def run(rows: int = ROWS, seeded: int = SEED) -> dict:
    _setup_database()
    from django.db import connection

    from leadflow.contacts.models import Contact, CustomField
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create
    from leadflow.imports.run import import_job_run
    from leadflow.imports.services import import_job_create

    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench {stamp}",
        owner_email=f"i{stamp}@example.com",
        slug=f"bench-import-{stamp}",
        default_country="GB",
    )
    for key, kind in CUSTOM:
        CustomField.objects.create(workspace=workspace, key=key, label=key.title(), field_type=kind)
    actor = Actor.system("bench")
    directory = Path(tempfile.mkdtemp(prefix="leadflow-bench-import-"))
    result: dict = {"database": connection.vendor, "seeded_contacts": seeded, "rows": rows}
    started = time.perf_counter()
    seed(workspace.pk, seeded)
    result["seed_s"] = round(time.perf_counter() - started, 1)
    result["columns"] = len(HEADERS)

    for number, label in enumerate(MIXES):
        # The baseline's people come from their own numbers (new ones) and the seeded
        # contacts the file does not touch: the file's draw is made first.
        people = _people(label, rows, seeded, start=1_000_000 * (number + 1))
        used = {person["Email"] or person["Phone"] for person in people}
        baseline = [
            person
            for person in _people(
                label, BASELINE_ROWS * 3, seeded, start=1_000_000 * (number + 1) + 500_000
            )
            if (person["Email"] or person["Phone"]) not in used
        ][:BASELINE_ROWS]
        started = time.perf_counter()
        for person in baseline:
            contact_upsert(
                workspace=workspace,
                actor=actor,
                data=_upsert_data(person),
            )
        per_row = len(baseline) / (time.perf_counter() - started)

        path = _file(directory, label, people)
        before = Contact.objects.filter(workspace=workspace).count()
        started = time.perf_counter()
        job = import_job_create(
            workspace=workspace, actor=actor, path=path, filename=path.name, schedule=False
        )
        job = import_job_run(job_id=job.pk)
        rate = rows / (time.perf_counter() - started)
        assert job.failed_count == 0, f"rows failed, see {job.error_path}"
        added = Contact.objects.filter(workspace=workspace).count() - before
        assert added == job.created_count, (added, job.created_count)
        assert job.created_count + job.updated_count + job.skipped_count == rows
        result[f"{label}_file_created"] = job.created_count
        result[f"{label}_file_updated"] = job.updated_count
        result[f"{label}_per_row_upsert_per_s"] = round(per_row)
        result[f"{label}_import_rows_per_s"] = round(rate)
        result[f"{label}_ratio_vs_per_row"] = round(rate / per_row, 2)
    return result
