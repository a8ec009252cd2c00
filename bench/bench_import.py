"""Contact import throughput: a 20,000-row, 20-column CSV through the chunked import,
against contact_upsert called once per row, same run.

The import decodes and sniffs the file, cleans every row with contact_input_clean, and
writes each chunk of 1,000 rows set-based (one lookup, bulk_create, bulk_update, tag links
and one activity per contact) in one transaction with the job's progress.
"""

import os
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
HEADERS = [
    "Email", "First Name", "Last Name", "Phone", "Company", "Job Title", "Country", "Tags",
    "Source", "Medium", "Campaign", "Lifecycle Stage", "Temperature", "Budget", "Seats",
    "Renewal", "Newsletter", "Plan", "Notes", "Internal id",
]  # fmt: skip


def _setup_database():
    import django
    from django.core.management import call_command
    from django.test.utils import setup_databases

    django.setup()
    if os.environ.get("DATABASE_URL"):
        return setup_databases(verbosity=0, interactive=False)
    call_command("migrate", verbosity=0)
    return None


def _file(directory: Path, rows: int, title: str) -> Path:
    import csv

    path = directory / f"bench-{title}.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for n in range(rows):
            writer.writerow(
                [
                    f"lead{n}@company{n % 500}.com", f"First{n}", f"Last{n}",
                    f"020 7946 {n % 10000:04d}", f"Company {n % 500}", title, "GB",
                    f"bench, t{n % 7}", "fair", "offline", "spring", "lead", "warm",
                    str(n * 10), str(n % 50), "2026-06-30", "yes", "pro",
                    "a note, with a comma", f"X{n}",
                ]
            )  # fmt: skip
    return path


def run(rows: int = ROWS) -> dict:
    _setup_database()
    from django.db import connection

    from leadflow.contacts.imports import import_job_create, import_job_run
    from leadflow.contacts.models import CustomField
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create

    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench {stamp}",
        owner_email=f"i{stamp}@example.com",
        slug=f"bench-import-{stamp}",
        default_country="GB",
    )
    for key, kind in [("budget", "number"), ("seats", "number"), ("renewal", "date"),
                      ("newsletter", "boolean"), ("notes", "text")]:  # fmt: skip
        CustomField.objects.create(workspace=workspace, key=key, label=key.title(), field_type=kind)
    actor = Actor.system("bench")
    directory = Path(tempfile.mkdtemp(prefix="leadflow-bench-import-"))

    baseline_rows = min(1000, rows)
    started = time.perf_counter()
    for n in range(baseline_rows):
        contact_upsert(
            workspace=workspace,
            actor=actor,
            data={"email": f"base{n}@company{n % 500}.com", "first_name": "B", "tags": ["bench"]},
            find_duplicates=False,
        )
    per_row = baseline_rows / (time.perf_counter() - started)

    figures = {}
    for label, title in [("create", "Buyer"), ("update", "Head of buying")]:
        path = _file(directory, rows, title)
        started = time.perf_counter()
        job = import_job_create(
            workspace=workspace, actor=actor, path=path, filename=path.name, schedule=False
        )
        job = import_job_run(job_id=job.pk)
        figures[label] = (rows / (time.perf_counter() - started), job)
    created, updated = figures["create"][1], figures["update"][1]
    for job in (created, updated):
        assert job.failed_count == 0, f"rows failed, see {job.error_path}"
    assert (created.created_count, updated.updated_count) == (rows, rows)
    return {
        "database": connection.vendor,
        "rows": rows,
        "columns": len(HEADERS),
        "per_row_upsert_per_s": round(per_row),
        "import_create_rows_per_s": round(figures["create"][0]),
        "import_update_rows_per_s": round(figures["update"][0]),
        "create_ratio_vs_per_row": round(figures["create"][0] / per_row, 2),
        "update_ratio_vs_per_row": round(figures["update"][0] / per_row, 2),
    }
