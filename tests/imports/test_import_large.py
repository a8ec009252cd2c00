"""A 100,000-row file end to end: interrupted part-way, resumed, every row accounted for
(created + skipped repeats + failed = rows) and no contact stored twice. Committed, so on
PostgreSQL it runs as a large import runs: cleaned by the helper process, written by the
writer thread while the next chunk is prepared."""

import csv

import pytest

from leadflow.contacts.models import Contact
from leadflow.imports.models import ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create

ROWS = 100_000


@pytest.mark.django_db(transaction=True)
def test_a_hundred_thousand_rows_interrupted_and_resumed(
    workspace, owner_actor, tmp_path, settings
):
    settings.DATA_DIR = tmp_path / "data"
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(["E-mail", "Vorname", "Nachname", "Firma"])
        for n in range(ROWS):
            if n % 1000 == 999:
                writer.writerow([f"broken{n}-at-example.com", "X", "Y", ""])  # fails
            elif n % 500 == 250:
                # a repeat of the row before
                writer.writerow([f"lead{n - 1}@firm{(n - 1) % 97}.example", "Again", "", ""])
            else:
                writer.writerow([f"lead{n}@firm{n % 97}.example", f"F{n}", f"L{n}", "Firm"])
    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=path,
        filename=path.name,
        mapping={
            "E-mail": "email",
            "Vorname": "first_name",
            "Nachname": "last_name",
            "Firma": "company",
        },
        schedule=False,
    )
    assert job.total_rows == ROWS
    partial = import_job_run(job_id=job.pk, chunks=3)  # a worker stopped part-way
    assert partial.status == ImportStatus.RUNNING and 0 < partial.rows_done < ROWS
    done = import_job_run(job_id=job.pk)  # a new worker resumes at next_row
    assert done.status == ImportStatus.DONE
    failed, repeats = ROWS // 1000, ROWS // 500
    assert done.failed_count == failed
    assert done.created_count == ROWS - failed - repeats
    assert done.rows_done == ROWS
    assert Contact.objects.filter(workspace=workspace).count() == ROWS - failed - repeats
    with open(done.error_path, encoding="utf-8") as file:
        assert sum(1 for _ in file) == failed + 1  # header + one line per failed row
