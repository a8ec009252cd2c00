"""What an import does with hostile, broken or imperfect input: Excel uploads of every size
(and zip and XML entity bombs), runs that fail or lose their worker, NUL bytes, bad
optional cells kept as warnings, the problems file, day-first dates, notes, created dates."""

import csv
import datetime as dt
import io
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from leadflow.cli import main
from leadflow.contacts.models import Activity, ActivityKind, Contact, CustomField
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.imports import mapping as import_mapping
from leadflow.imports import run as import_runner
from leadflow.imports import services as imports
from leadflow.imports.models import ImportJob, ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import (
    import_job_create,
    import_job_start,
    import_preview,
    import_upload,
)
from tests.imports import workbooks
from tests.imports.test_import import committing, pipelined, postgresql_only  # noqa: F401

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def write(tmp_path, content: str | bytes, name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run(workspace, actor, path, **kwargs):
    job = import_job_create(
        workspace=workspace, actor=actor, path=path, filename=path.name, **kwargs
    )
    return import_job_run(job_id=job.pk)


def problems(job) -> list[list[str]]:
    with open(job.error_path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def api_upload(api, content: bytes, name: str, **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type=XLSX), **fields}
    return api.client.post("/api/v1/imports", data=data, headers=api.headers)


# --- Excel uploads ------------------------------------------------------------------------


@pytest.mark.parametrize("held", ["in memory", "in a temporary file"])
def test_an_excel_upload_imports_through_the_api_whatever_its_size(api, settings, held):
    """Django holds uploads under FILE_UPLOAD_MAX_MEMORY_SIZE in memory (they were copied to
    a ".upload" file openpyxl refused: a 500) and larger ones in a temporary file named
    after the upload (a name without ".xlsx" was refused the same way): a workbook is told
    by its content."""
    content = workbooks.people(300)
    name = "people.xlsx"
    if held == "in a temporary file":
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = len(content) // 2
        name = "people export"
    else:
        assert len(content) < settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    response = api_upload(api, content, name)
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["total_rows"], job["mapping"]["Email"]) == (300, "email")
    import_job_run(job_id=job["id"])
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["status"], done["created_count"], done["failed_count"]) == ("done", 300, 0)
    assert Contact.objects.get(email="p7@initech.com").first_name == "Person 0000007"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (workbooks.zip_bomb, "zip bomb"),
        (workbooks.entity_bomb, "XML entities"),
    ],
    ids=["zip bomb", "XML entity bomb"],
)
def test_a_hostile_workbook_is_a_clear_422_in_bounded_time_and_memory(api, content, reason):
    body = content()
    assert len(body) < 1024**2
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = api_upload(api, body, "people.xlsx")
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == ["file"]
    assert reason in errors[0]["message"]
    assert seconds < 5 and peak < 50 * 1024**2
    assert not ImportJob.objects.exists()


def test_a_workbook_broken_mid_sheet_fails_the_job_with_a_reason(
    workspace, owner_actor, tmp_path, monkeypatch
):
    """The file is read at upload; if it breaks later (a disk, another process), the run
    stops with the reason instead of leaving the job running."""
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 10)
    job = import_upload(
        workspace=workspace,
        actor=owner_actor,
        path=write(tmp_path, workbooks.people(40), "people.xlsx"),
        filename="people.xlsx",
    )
    import_job_start(workspace=workspace, actor=owner_actor, job_id=job.pk, schedule=False)
    with open(job.path, "wb") as file:
        file.write(workbooks.broken_after(workbooks.people(40), 25))
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.FAILED
    assert job.finished_at is not None
    assert job.message.startswith("Stopped at row 22: Cannot read the Excel file")
    assert (job.rows_done, Contact.objects.count()) == (20, 20)  # committed chunks stay


# --- failures and vanished workers --------------------------------------------------------


def test_a_nul_byte_in_a_csv_is_removed_and_the_row_imported(workspace, owner_actor, tmp_path):
    """PostgreSQL text cannot hold NUL: the task failed and the job stayed running."""
    text = "Email,First Name,Last Name\nann@initech.com,An\x00n,Able\nbob@initech.com,Bob,B\x00\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.status, job.created_count, job.failed_count) == ("done", 2, 0)
    names = dict(Contact.objects.values_list("email", "first_name"))
    assert names == {"ann@initech.com": "Ann", "bob@initech.com": "Bob"}
    assert Contact.objects.get(email="bob@initech.com").last_name == "B"


@pytest.fixture
def refused_email(db):
    """A database trigger refusing contacts with one email: a real database error."""
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_contact() RETURNS trigger AS $$ BEGIN "
                "IF NEW.email = 'refused@initech.com' THEN "
                "RAISE EXCEPTION 'contacts from refused@initech.com are refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_contact BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_contact()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_contact BEFORE INSERT ON {table} "
                "WHEN NEW.email = 'refused@initech.com' BEGIN "
                "SELECT RAISE(ABORT, 'contacts from refused@initech.com are refused'); END"
            )
    return "refused@initech.com"


def test_a_row_the_database_refuses_fails_the_job_with_a_reason(
    workspace, owner_actor, tmp_path, monkeypatch, refused_email
):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 2)
    text = "Email\na@initech.com\nb@initech.com\nc@initech.com\n" + refused_email + "\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert job.status == ImportStatus.FAILED and job.finished_at is not None
    assert job.message.startswith("Stopped at row 4: the database refused the rows from there")
    assert "refused@initech.com are refused" in job.message
    assert (job.rows_done, job.created_count) == (2, 2)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "a@initech.com",
        "b@initech.com",
    ]
    # the task reports the status; running the job again does nothing
    assert import_job_run(job_id=job.pk).status == ImportStatus.FAILED


def test_a_job_whose_worker_vanished_is_marked_failed_when_read(
    api, workspace, owner_actor, tmp_path, monkeypatch
):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 2)
    text = "Email\n" + "".join(f"p{n}@initech.com\n" for n in range(5))
    job = import_job_create(
        workspace=workspace, actor=owner_actor, path=write(tmp_path, text), filename="a.csv"
    )
    job = import_job_run(job_id=job.pk, chunks=1)  # the worker is killed after one chunk
    assert job.status == ImportStatus.RUNNING and job.heartbeat_at is not None
    assert api.get(f"/imports/{job.pk}").json()["status"] == "running"  # recent heartbeat

    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - imports.STALE_AFTER - dt.timedelta(seconds=1)
    )
    body = api.get(f"/imports/{job.pk}").json()
    assert body["status"] == "failed" and body["finished_at"]
    assert "The worker stopped without finishing" in body["message"]
    assert "The first 2 rows are stored" in body["message"]
    # a worker that was only slow stops at its next chunk
    assert import_job_run(job_id=job.pk).rows_done == 2

    # resumed from the row it stopped at: the rest is written, nothing twice
    resumed = api.post(f"/imports/{job.pk}/resume")
    assert resumed.status_code == 200, resumed.content
    assert (resumed.json()["status"], resumed.json()["message"]) == ("queued", "")
    job = import_job_run(job_id=job.pk)
    assert (job.status, job.rows_done, job.created_count) == ("done", 5, 5)
    assert Contact.objects.count() == 5
    assert api.post(f"/imports/{job.pk}/resume").status_code == 422  # done: nothing to resume


def test_maintain_marks_imports_whose_worker_vanished(workspace, owner_actor, tmp_path, capsys):
    jobs = []
    for name in ("stale.csv", "fresh.csv"):
        job = import_job_create(
            workspace=workspace,
            actor=owner_actor,
            path=write(tmp_path, "Email\na@initech.com\n", name),
            filename=name,
        )
        jobs.append(job)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ImportJob.objects.filter(pk=jobs[0].pk).update(
        status=ImportStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    ImportJob.objects.filter(pk=jobs[1].pk).update(
        status=ImportStatus.RUNNING, started_at=long_ago, heartbeat_at=timezone.now()
    )
    assert main(["maintain"]) == 0
    assert "Imports whose worker vanished, marked failed: 1." in capsys.readouterr().out
    statuses = dict(ImportJob.objects.values_list("original_filename", "status"))
    assert statuses == {"stale.csv": "failed", "fresh.csv": "running"}


# --- bad optional cells ---------------------------------------------------------------------

TRADE_SHOW_HEADER = "Email,First Name,Employees,Outcome,Date of birth,Notes\n"


def trade_show_list() -> tuple[str, int]:
    """50 rows of a trade-show list; 24 of them have one bad optional cell."""
    bad = ["12,000", "n/a", "open", "31/02/1990"]
    out = io.StringIO()
    lines = csv.writer(out, lineterminator="\n")
    for n in range(50):
        employees, outcome, born = "250", "won" if n % 2 else "lost", "04/05/1980"
        if n < 24:
            kind = bad[n % 4]
            if kind in ("12,000", "n/a"):
                employees = kind
            elif kind == "open":
                outcome = kind
            else:
                born = kind
        lines.writerow(
            [f"p{n}@initech.com", f"P{n}", employees, outcome, born, f"met at booth {n}"]
        )
    return TRADE_SHOW_HEADER + out.getvalue(), 24


@pytest.fixture
def trade_show_fields(workspace):
    CustomField.objects.create(
        workspace=workspace, key="employees", label="Employees", field_type="number"
    )
    CustomField.objects.create(
        workspace=workspace, key="date_of_birth", label="Date of birth", field_type="date"
    )


@pytest.mark.parametrize("write_path", ["locked", "pipelined"])
@committing
def test_a_bad_optional_cell_is_left_out_and_the_row_kept_as_a_warning(
    workspace, owner_actor, tmp_path, trade_show_fields, write_path, request
):
    if write_path == "pipelined":
        if connection.vendor != "postgresql":
            pytest.skip("the writer thread is PostgreSQL's")
        request.getfixturevalue("pipelined")(7)
    text, bad = trade_show_list()
    job = run(workspace, owner_actor, write(tmp_path, text))
    counts = (job.status, job.created_count, job.failed_count, job.warning_count)
    assert counts == ("done", 50, 0, bad)
    p0, p1, p2, p3 = (Contact.objects.get(email=f"p{n}@initech.com") for n in range(4))
    assert p0.custom_fields == {"date_of_birth": "1980-05-04"}  # "12,000" left out
    assert p0.lifecycle_stage == "disqualified"
    assert p2.lifecycle_stage == "lead"  # "open" is no outcome: left out
    assert p3.custom_fields == {"employees": 250}  # 31/02 is no date
    assert p1.first_name == "P1"
    rows = problems(job)
    assert rows[0] == [*TRADE_SHOW_HEADER.strip().split(","), *import_runner.PROBLEM_COLUMNS]
    assert len(rows) == 1 + bad
    assert rows[1] == [
        "p0@initech.com",
        "P0",
        "12,000",
        "lost",
        "04/05/1980",
        "met at booth 0",
        "2",
        "stored without these values",
        "Employees: Must be a number.",
    ]
    assert rows[3][-1].startswith("Outcome: Unknown outcome 'open'")
    assert rows[4][-1].startswith("Date of birth: Not a date")


def test_with_fail_row_a_bad_optional_cell_refuses_the_row(
    workspace, owner_actor, tmp_path, trade_show_fields
):
    text, bad = trade_show_list()
    job = run(workspace, owner_actor, write(tmp_path, text), options={"bad_values": "fail_row"})
    assert (job.created_count, job.failed_count, job.warning_count) == (50 - bad, bad, 0)
    assert not Contact.objects.filter(email="p0@initech.com").exists()
    assert problems(job)[1][-2:] == ["not imported", "Employees: Must be a number."]


def test_the_problems_file_can_be_fixed_and_imported_again(
    workspace, owner_actor, tmp_path, trade_show_fields
):
    text, _ = trade_show_list()
    first = run(workspace, owner_actor, write(tmp_path, text))
    fixed = io.StringIO()
    writer = csv.writer(fixed)
    for row in problems(first):
        if row[-3] != "Import row":
            row[2] = row[2].replace(",", "").replace("n/a", "")
            row[3] = "" if row[3] == "open" else row[3]
            row[4] = "" if row[4].startswith("31/02") else row[4]
        writer.writerow(row)
    again = run(workspace, owner_actor, write(tmp_path, fixed.getvalue(), "fixed.csv"))
    assert again.mapping["Import problems"] == ""  # the added columns are ignored
    counts = (again.status, again.created_count, again.failed_count, again.warning_count)
    assert counts == ("done", 0, 0, 0)
    assert Contact.objects.get(email="p0@initech.com").custom_fields["employees"] == 12000


@pytest.mark.parametrize("bad_values", ["drop_value", "fail_row"])
def test_a_bad_email_or_a_bad_phone_without_email_still_fails_the_row(
    workspace, owner_actor, tmp_path, bad_values
):
    text = (
        "Email,Phone,First Name\n"
        "not-an-email,+442079460001,Typo\n"  # a typo must not be stored nor found by phone
        ",12,No identity\n"
        ",,Nobody\n"
        "ok@initech.com,12,Kept\n"  # the phone is left out, the email identifies
    )
    job = run(workspace, owner_actor, write(tmp_path, text), options={"bad_values": bad_values})
    results = [row[-2] for row in problems(job)[1:]]
    assert results[:3] == ["not imported"] * 3
    if bad_values == "drop_value":
        assert (job.created_count, job.failed_count, job.warning_count) == (1, 3, 1)
        assert Contact.objects.get().email == "ok@initech.com"
        assert results[3] == "stored without these values"
    else:
        assert (job.created_count, job.failed_count, job.warning_count) == (0, 4, 0)
    assert problems(job)[3][-1] == "Email: An email or a phone number is required."


def test_the_preview_shows_the_values_left_out(workspace, tmp_path, trade_show_fields):
    text, _ = trade_show_list()
    rows = import_preview(workspace=workspace, path=write(tmp_path, text))
    assert rows[0]["warnings"] == [["Employees", "Must be a number."]]
    assert rows[0]["values"]["email"] == "p0@initech.com"


# --- dates, notes, created dates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "dates", "day_first", "origin"),
    [
        ("US", ["04/03/2021", "31/12/2021"], True, "file"),  # only day first reads 31/12
        ("GB", ["04/03/2021", "12/31/2021"], False, "file"),
        ("GB", ["04/03/2021", "05/06/2021"], True, "workspace"),  # nothing tells
        ("US", ["04/03/2021", "05/06/2021"], False, "workspace"),
        ("GB", ["31/12/2021", "12/31/2021"], True, "workspace"),  # the file contradicts itself
    ],
)
def test_day_first_dates_are_detected_from_the_file(
    workspace, owner_actor, tmp_path, country, dates, day_first, origin
):
    workspace.default_country = country
    workspace.save()
    text = "Email,Created\n" + "".join(f"p{n}@initech.com,{d}\n" for n, d in enumerate(dates))
    job = import_upload(
        workspace=workspace, actor=owner_actor, path=write(tmp_path, text), filename="a.csv"
    )
    assert (job.options["day_first"], job.options["day_first_from"]) == (day_first, origin)


def test_a_detected_day_first_file_imports_its_dates_in_a_us_workspace(
    workspace, owner_actor, tmp_path
):
    workspace.default_country = "US"
    workspace.save()
    text = "Email,Created\nann@initech.com,04/03/2021\nbob@initech.com,31/12/2021\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.failed_count, job.warning_count) == (0, 0)
    assert Contact.objects.get(email="ann@initech.com").created_at.date() == dt.date(2021, 3, 4)
    # an explicit choice wins over the file
    job = run(
        workspace,
        owner_actor,
        write(tmp_path, text.replace("ann@", "cid@"), "b.csv"),
        options={"day_first": False},
    )
    assert job.options["day_first_from"] == "option" and job.warning_count == 1


def test_a_note_column_becomes_a_note_on_the_timeline_once(workspace, owner_actor, tmp_path):
    contact_upsert(workspace=workspace, actor=Actor.system(), data={"email": "old@initech.com"})
    text = (
        "Email,Notes\n"
        "old@initech.com,Asked for a demo\n"
        "new@initech.com,Met at the booth\n"
        "new@initech.com,Wants a call back\n"
        "none@initech.com,\n"
    )
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert job.mapping["Notes"] == "note"
    assert (job.created_count, job.updated_count) == (2, 1)
    notes = Activity.objects.filter(workspace=workspace, kind=ActivityKind.NOTE_ADDED)
    assert sorted((n.contact.email, n.data["body"]) for n in notes) == [
        ("new@initech.com", "Met at the booth"),
        ("new@initech.com", "Wants a call back"),
        ("old@initech.com", "Asked for a demo"),
    ]
    assert {(n.actor_user_id, n.actor_label) for n in notes} == {
        (owner_actor.user.pk, f"import {job.pk}")
    }
    again = run(workspace, owner_actor, write(tmp_path, text, "again.csv"))
    assert (again.created_count, again.updated_count) == (0, 0)
    assert notes.count() == 3  # a file imported twice adds its notes once


def test_a_custom_field_named_notes_keeps_its_column(workspace):
    definitions = [CustomField(key="notes", label="Notes", field_type="text")]
    assert (
        import_mapping.mapping_guess(["Email", "Notes"], definitions)["Notes"]
        == "custom_fields.notes"
    )
    assert import_mapping.mapping_guess(["Email", "Comments"], [])["Comments"] == "note"


def test_options_are_checked(workspace, owner_actor, tmp_path):
    with pytest.raises(ValidationFailed) as error:
        run(
            workspace,
            owner_actor,
            write(tmp_path, "Email\na@initech.com\n"),
            options={"bad_values": "ignore", "backdate_existing": "yes"},
        )
    assert {(e.field, e.message) for e in error.value.errors} == {
        ("options.bad_values", 'Must be "drop_value" or "fail_row".'),
        ("options.backdate_existing", "Must be true or false."),
    }


@pytest.mark.parametrize("write_path", ["locked", "pipelined"])
@committing
def test_a_contacts_note_repeated_in_later_chunks_is_added_once(
    workspace, owner_actor, tmp_path, monkeypatch, write_path, request
):
    """The pipelined write prepares a chunk before the previous one commits: the notes that
    chunk writes count as known, as they would under locks."""
    if write_path == "pipelined":
        if connection.vendor != "postgresql":
            pytest.skip("the writer thread is PostgreSQL's")
        request.getfixturevalue("pipelined")(2)
    else:
        monkeypatch.setattr(import_runner, "CHUNK_SIZE", 2)
    text = "Email,Notes\n" + "".join(
        f"{email}@initech.com,{note}\n"
        for email, note in [
            ("ann", "Met at the booth"),
            ("bob", "Call back"),
            ("ann", "Met at the booth"),  # the next chunk, prepared while the first is written
            ("ann", "Sent the brochure"),
            ("bob", "Call back"),
        ]
    )
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert job.status == "done"
    notes = Activity.objects.filter(workspace=workspace, kind=ActivityKind.NOTE_ADDED)
    assert sorted((n.contact.email, n.data["body"]) for n in notes) == [
        ("ann@initech.com", "Met at the booth"),
        ("ann@initech.com", "Sent the brochure"),
        ("bob@initech.com", "Call back"),
    ]


def test_a_new_contact_missing_a_required_field_is_listed_with_its_cells(
    workspace, owner_actor, tmp_path
):
    CustomField.objects.create(
        workspace=workspace, key="plan", label="Plan", field_type="text", required=True
    )
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "known@initech.com", "custom_fields": {"plan": "pro"}},
    )
    text = "Email,First Name,Plan\nnew@initech.com,New,\nknown@initech.com,Known,\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.updated_count, job.failed_count) == (0, 1, 1)
    assert problems(job)[1] == [
        "new@initech.com",
        "New",
        "",
        "2",
        "not imported",
        "custom_fields.plan: This field is required.",
    ]


# --- files that broke the reader ----------------------------------------------------------


def test_a_csv_with_an_odd_number_of_bytes_and_many_nuls_is_read_not_a_500(api):
    """A quarter of NULs in the first bytes looked like UTF-16 without a BOM; an odd length
    then failed to decode (a 500 through the API and the app). Not UTF-16 after all: read as
    the usual encodings, NULs removed."""
    body = b"".join(bytes([byte, 0]) for byte in b"email\nann@initech.com\n") + b"\n"
    assert len(body) % 2 == 1
    response = api_upload(api, body, "people.csv")
    assert response.status_code == 201, response.content
    assert (response.json()["total_rows"], response.json()["mapping"]["email"]) == (1, "email")
    tiny = api_upload(api, b"a\x00b\x00c", "tiny.csv")
    assert tiny.status_code in (201, 422), tiny.content


def test_a_ten_megabyte_cell_is_a_warning_for_that_cell_not_a_failed_file(
    workspace, owner_actor, tmp_path
):
    """The csv module refuses cells over 128 KiB by default: one long cell failed the file."""
    notes = "x" * (10 * 1024 * 1024)
    path = write(tmp_path, f"email,first_name,company\nann@initech.com,Ann,{notes}\n")
    job = run(workspace, owner_actor, path)
    assert job.status == "done", job.message
    assert Contact.objects.get(email="ann@initech.com").first_name == "Ann"
