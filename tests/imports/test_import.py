"""Contact import: reading (encodings, delimiters, quoting), mapping, the chunked set-based
write (dedupe, updates, errors), resume, cancel, the task, the CLI and tenant isolation."""

import csv
import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F

from leadflow.cli import main
from leadflow.contacts.models import Activity, ActivityKind, Company, Contact, CustomField
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.imports import run as import_runner
from leadflow.imports.files import csv_open, imports_dir
from leadflow.imports.mapping import mapping_guess
from leadflow.imports.models import ImportJob, ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_cancel, import_job_create, import_preview

HEADER = "Email,First Name,Last Name,Phone,Company,Tags\n"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(workspace, actor, path, **kwargs):
    job = import_job_create(
        workspace=workspace, actor=actor, path=path, filename=path.name, **kwargs
    )
    return import_job_run(job_id=job.pk)


def error_rows(job) -> list[list[str]]:
    with open(job.error_path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_reads_common_encodings(workspace, owner_actor, tmp_path, encoding):
    path = write(tmp_path, HEADER + "zoe@initech.com,Zoë,Müller,,,\n", encoding)
    job = run(workspace, owner_actor, path)
    assert job.status == ImportStatus.DONE
    assert job.mapping["Email"] == "email"  # a BOM does not hide the first header
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.email, contact.first_name, contact.last_name) == (
        "zoe@initech.com",
        "Zoë",
        "Müller",
    )


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_detects_delimiters(workspace, owner_actor, tmp_path, delimiter):
    text = f"Email{delimiter}First Name{delimiter}Company\n"
    text += f"a@initech.com{delimiter}Ann{delimiter}Initech, Inc.\n"
    text += f"b@initech.com{delimiter}Bob{delimiter}Initech\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert job.created_count == 2
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ann", "Bob"]


def test_quoted_newlines_stay_in_one_cell(workspace, owner_actor, tmp_path):
    CustomField.objects.create(workspace=workspace, key="notes", label="Notes", field_type="text")
    text = 'Email,Notes\r\na@initech.com,"line one\r\nline two"\r\nb@initech.com,plain\r\n'
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.total_rows, job.created_count) == (2, 2)
    contact = Contact.objects.get(email="a@initech.com")
    assert contact.custom_fields == {"notes": "line one\nline two"}


def test_auto_mapping_by_synonyms_case_insensitive(workspace):
    headers = [
        "E-mail", "GIVEN NAME", "surname", "Mobile", "Organisation", "Job Title", "Country",
        "Tags", "Lead Source", "Favourite colour", "Email Address",
    ]  # fmt: skip
    assert mapping_guess(headers, []) == {
        "E-mail": "email",
        "GIVEN NAME": "first_name",
        "surname": "last_name",
        "Mobile": "phone",
        "Organisation": "company",
        "Job Title": "job_title",
        "Country": "country",
        "Tags": "tags",
        "Lead Source": "source",
        "Favourite colour": "",
        "Email Address": "",  # email is taken by the first column that names it
    }
    assert mapping_guess(["Telephone", "Firstname", "Title"], [])["Telephone"] == "phone"
    assert mapping_guess(["Title"], [])["Title"] == "job_title"


def test_duplicate_rows_in_one_file_make_one_contact(workspace, owner_actor, tmp_path):
    text = HEADER + (
        "ann@initech.com,Ann,,,,vip\nother@initech.com,Otto,,,,\nANN@initech.com,,Smith,,,webinar\n"
    )
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.skipped_count, job.failed_count) == (2, 1, 0)
    ann = Contact.objects.get(email="ann@initech.com")
    assert (ann.first_name, ann.last_name) == ("Ann", "Smith")  # merged, the last wins
    assert sorted(ann.tags.values_list("name", flat=True)) == ["vip", "webinar"]
    assert Activity.objects.filter(contact=ann, kind=ActivityKind.CONTACT_IMPORTED).count() == 1


def test_rows_without_identity_fail_and_a_bad_optional_value_is_dropped_with_a_warning(
    workspace, owner_actor, tmp_path
):
    text = HEADER + (
        "good@initech.com,Good,,,,\n"
        "not-an-email,Bad,,,,\n"
        ",No identity,,,,\n"
        f"long@initech.com,{'x' * 101},Long,,,\n"
    )
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.failed_count, job.warning_count) == (2, 2, 1)
    assert Contact.objects.get(email="long@initech.com").last_name == "Long"
    rows = error_rows(job)
    assert rows[0] == [*HEADER.strip().split(","), "Import row", "Import result", "Import problems"]
    # the row's own cells, then its number, what happened and why: fix it, import it again
    assert rows[1][:7] == ["not-an-email", "Bad", "", "", "", "", "3"]
    assert [row[-3:-1] for row in rows[1:]] == [
        ["3", "not imported"],
        ["4", "not imported"],
        ["5", "stored without these values"],
    ]
    assert rows[1][-1].startswith("Email: ") and rows[3][-1].startswith("First Name: At most 100")
    assert job.error_path.endswith(".errors.csv")


def test_formula_looking_cells_are_stored_as_text(workspace, owner_actor, tmp_path):
    text = 'Email,First Name,Last Name\na@initech.com,=1+1,"=HYPERLINK(""http://x"")"\n'
    run(workspace, owner_actor, write(tmp_path, text))
    contact = Contact.objects.get(email="a@initech.com")
    assert (contact.first_name, contact.last_name) == ("=1+1", '=HYPERLINK("http://x")')


def test_existing_contacts_updated_or_skipped(workspace, owner_actor, tmp_path):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "first_name": "Ann", "job_title": "CTO", "source": "ad"},
    )
    text = "Email,First Name,Job Title,Source\nann@initech.com,Anne,,fair\nnew@initech.com,N,,\n"
    job = run(workspace, owner_actor, write(tmp_path, text), options={"update_existing": False})
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)
    assert Contact.objects.get(email="ann@initech.com").first_name == "Ann"

    job = run(workspace, owner_actor, write(tmp_path, text, name="again.csv"))
    assert (job.created_count, job.updated_count) == (0, 1)
    ann = Contact.objects.get(email="ann@initech.com")
    # Given values overwrite, empty cells do not erase, the first touch is kept.
    assert (ann.first_name, ann.job_title) == ("Anne", "CTO")
    assert (ann.first_touch_source, ann.last_touch_source) == ("ad", "fair")
    assert ann.company.domain == "initech.com"
    activity = Activity.objects.get(contact=ann, kind=ActivityKind.CONTACT_IMPORTED)
    assert activity.data["changes"]["first_name"] == ["Ann", "Anne"]


def test_companies_are_matched_by_domain_in_bulk(workspace, owner_actor, tmp_path):
    Company.objects.create(workspace=workspace, name="Initech Ltd", domain="initech.co.uk")
    text = HEADER + (
        "a@uk.initech.co.uk,,,,,\n"
        "b@initech.co.uk,,,,,\n"
        "c@gmail.com,,,,Hooli,\n"
        "d@globex.com,,,,Globex Corp,\n"
    )
    run(workspace, owner_actor, write(tmp_path, text))
    companies = {c.email: c.company.name for c in Contact.objects.select_related("company")}
    assert companies == {
        "a@uk.initech.co.uk": "Initech Ltd",
        "b@initech.co.uk": "Initech Ltd",
        "c@gmail.com": "Hooli",
        "d@globex.com": "Globex Corp",
    }
    assert Company.objects.filter(workspace=workspace).count() == 3


def test_rows_without_email_are_matched_by_phone(workspace, owner_actor, tmp_path):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"phone": "+44 20 7946 0000", "first_name": "P"},
    )
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "kim@initech.com", "phone": "+44 20 7946 0002"},
    )
    text = "Phone,First Name\n020 7946 0000,Pat\n020 7946 0001,Sam\n020 7946 0002,Kim\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.updated_count) == (1, 2)
    assert Contact.objects.get(phone="+442079460000").first_name == "Pat"
    # As contact_upsert: a phone-only row updates the contact with that phone and an email.
    assert Contact.objects.get(phone="+442079460002").email == "kim@initech.com"
    assert Contact.objects.get(phone="+442079460002").first_name == "Kim"


def big_file(tmp_path, rows: int, name="big.csv", bad=()):
    lines = [HEADER] + [
        f"{'bad' if n in bad else f'p{n}@initech.com'},P{n},,,,t{n % 3}\n" for n in range(rows)
    ]
    return write(tmp_path, "".join(lines), name=name)


def test_resume_after_an_interruption_has_no_duplicates(
    workspace, owner_actor, tmp_path, monkeypatch
):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 10)
    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=big_file(tmp_path, 27, bad=(1, 12)),
        filename="big.csv",
    )
    job = import_job_run(job_id=job.pk, chunks=1)  # the worker dies after one chunk
    assert (job.status, job.next_row, job.created_count) == (ImportStatus.RUNNING, 10, 9)
    assert Contact.objects.filter(workspace=workspace).count() == 9
    # The dead worker had written errors of the chunk it did not commit: they go.
    with open(job.error_path, "a", encoding="utf-8", newline="") as file:
        csv.writer(file).writerow([12, "Email", "Not committed."])
    job = import_job_run(job_id=job.pk)
    assert (job.status, job.next_row, job.rows_done, job.total_rows) == ("done", 27, 27, 27)
    assert [(row[0], row[-3]) for row in error_rows(job)[1:]] == [("bad", "3"), ("bad", "14")]
    counts = (job.created_count, job.updated_count, job.skipped_count, job.failed_count)
    assert counts == (25, 0, 0, 2)
    assert Contact.objects.filter(workspace=workspace).count() == 25
    assert Activity.objects.filter(kind=ActivityKind.CONTACT_IMPORTED).count() == 25
    # A finished job does nothing when run again (the task may be delivered twice).
    assert import_job_run(job_id=job.pk).created_count == 25


def test_a_helper_process_cleans_ahead_with_the_same_outcome(
    workspace, owner_actor, tmp_path, monkeypatch
):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 10)
    monkeypatch.setattr(import_runner, "CLEAN_HELPER_MIN_ROWS", 1)
    job = run(workspace, owner_actor, big_file(tmp_path, 35, bad=(4, 30)))
    counts = (job.created_count, job.updated_count, job.skipped_count, job.failed_count)
    assert (job.status, counts) == (ImportStatus.DONE, (33, 0, 0, 2))
    assert [(row[0], row[-3]) for row in error_rows(job)[1:]] == [("bad", "6"), ("bad", "32")]
    assert Contact.objects.get(email="p34@initech.com").first_name == "P34"
    assert sorted(
        Contact.objects.get(email="p33@initech.com").tags.values_list("name", flat=True)
    ) == ["t0"]


def test_rerunning_a_chunk_is_harmless(workspace, owner_actor, tmp_path):
    path = big_file(tmp_path, 5)
    first = run(workspace, owner_actor, path)
    second = run(workspace, owner_actor, path)
    assert (first.created_count, second.created_count, second.updated_count) == (5, 0, 0)
    assert second.skipped_count == 5  # nothing changed
    assert Contact.objects.filter(workspace=workspace).count() == 5
    assert Activity.objects.filter(kind=ActivityKind.CONTACT_IMPORTED).count() == 5


def test_cancel_stops_between_chunks(workspace, owner_actor, tmp_path, monkeypatch):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 10)
    job = import_job_create(
        workspace=workspace, actor=owner_actor, path=big_file(tmp_path, 25), filename="big.csv"
    )

    def cancel_after_first(job):
        import_job_cancel(workspace=workspace, job_id=job.pk, actor=owner_actor)

    job = import_job_run(job_id=job.pk, progress=cancel_after_first)
    assert (job.status, job.next_row) == (ImportStatus.CANCELLED, 10)
    assert Contact.objects.filter(workspace=workspace).count() == 10
    # Cancelling twice is harmless; a finished import cannot be cancelled.
    import_job_cancel(workspace=workspace, job_id=job.pk, actor=owner_actor)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE)
    with pytest.raises(ValidationFailed):
        import_job_cancel(workspace=workspace, job_id=job.pk, actor=owner_actor)


def test_create_schedules_the_task_and_the_task_runs_it(workspace, owner_actor, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from leadflow.imports.tasks import import_run

    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=big_file(tmp_path, 3),
        filename="big.csv",
        options={"tags": ["fair-2026"], "lifecycle_stage": "mql", "source": "fair"},
    )
    assert job.path.startswith(str(imports_dir()))
    assert DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).exists()
    assert import_run.call(job.pk) == "done"
    contact = Contact.objects.get(email="p0@initech.com")
    assert sorted(contact.tags.values_list("name", flat=True)) == ["fair-2026", "t0"]
    assert (contact.lifecycle_stage, contact.first_touch_source) == ("mql", "fair")


def test_bad_mapping_and_options_are_refused(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Name,Notes\nA,B\n")
    with pytest.raises(ValidationFailed) as failure:
        import_job_create(workspace=workspace, actor=owner_actor, path=path, filename="x.csv")
    assert failure.value.errors[0].field == "mapping"
    path = write(tmp_path, HEADER)
    with pytest.raises(ValidationFailed) as failure:
        import_job_create(
            workspace=workspace,
            actor=owner_actor,
            path=path,
            filename="x.csv",
            mapping={"Email": "email", "Tags": "custom_fields.nope", "Missing": "phone"},
            options={"lifecycle_stage": "boss", "colour": "red"},
        )
    fields = {error.field for error in failure.value.errors}
    assert fields == {
        "mapping.Tags",
        "mapping.Missing",
        "options.lifecycle_stage",
        "options.colour",
    }


def test_preview_shows_rows_as_stored(workspace, tmp_path):
    text = HEADER + "A@Initech.com,Ann,,020 7946 0000,,x; y\nbad,,,,,\n"
    preview = import_preview(workspace=workspace, path=write(tmp_path, text))
    assert preview[0]["values"]["email"] == "a@initech.com"
    assert preview[0]["values"]["phone"] == "+442079460000"
    assert preview[0]["values"]["tags"] == ["x", "y"]
    assert preview[1]["row"] == 3 and preview[1]["errors"][0][0] == "Email"


def test_tenant_isolation(workspace, other_workspace, owner_actor, tmp_path):
    contact_upsert(
        workspace=other_workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "first_name": "Other"},
    )
    job = run(workspace, owner_actor, write(tmp_path, HEADER + "ann@initech.com,Ann,,,,\n"))
    assert job.created_count == 1
    assert Contact.objects.get(workspace=other_workspace).first_name == "Other"
    assert Contact.objects.get(workspace=workspace).first_name == "Ann"
    with pytest.raises(NotFound):
        import_job_cancel(workspace=other_workspace, job_id=job.pk, actor=owner_actor)


def test_cli_end_to_end(workspace, tmp_path, capsys):
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "old@initech.com", "first_name": "Old"},
    )
    text = "E-mail;Given name;Colour\nold@initech.com;Changed;red\nnew@initech.com;New;blue\nx;;\n"
    path = write(tmp_path, text, "cp1252")
    argv = ["import", "contacts", str(path), "--workspace", workspace.slug]
    assert main([*argv, "--only-new", "--tag", "cli", "--tag", "fair"]) == 0
    out, err = capsys.readouterr()
    assert "Ignored columns: Colour" in err
    assert "3/3 rows" in err and "rows/s" in err and "1 errors" in err
    assert "1 created, 0 updated, 1 skipped, 1 failed, 0 stored without some values" in out
    assert "Rows with problems: " in out and ".errors.csv" in out
    assert Contact.objects.get(email="old@initech.com").first_name == "Old"
    new = Contact.objects.get(email="new@initech.com")
    assert sorted(new.tags.values_list("name", flat=True)) == ["cli", "fair"]

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"E-mail": "email", "Colour": "last_name"}))
    assert main([*argv, "--mapping", str(mapping), "--update"]) == 0
    assert Contact.objects.get(email="old@initech.com").last_name == "red"
    assert Contact.objects.get(email="old@initech.com").first_name == "Old"  # not mapped

    assert main(["import", "contacts", str(path), "--workspace", "nope"]) == 1
    assert (
        main(["import", "contacts", str(tmp_path / "missing.csv"), "--workspace", workspace.slug])
        == 1
    )
    assert main(["import", "contacts", str(path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_csv_open_refuses_an_empty_file(tmp_path):
    with pytest.raises(ValidationFailed):
        csv_open(write(tmp_path, ""))


# --- one contact, however its rows find it ---------------------------------------------------


def test_a_contact_found_by_phone_and_by_email_in_one_chunk_is_written_once(
    workspace, owner_actor, tmp_path
):
    kim = contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "kim@initech.com", "phone": "+44 20 7946 0002"},
    ).contact
    text = HEADER + ",Kim,,020 7946 0002,,vip\nkim@initech.com,,Lee,,,vip; eu\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 1)
    kim.refresh_from_db()
    assert (kim.first_name, kim.last_name) == ("Kim", "Lee")
    assert sorted(kim.tags.values_list("name", flat=True)) == ["eu", "vip"]
    activity = Activity.objects.get(contact=kim, kind=ActivityKind.CONTACT_IMPORTED)
    assert activity.data["changes"]["first_name"] == ["", "Kim"]
    assert activity.data["changes"]["last_name"] == ["", "Lee"]
    assert sorted(activity.data["tags"]) == ["eu", "vip"]


def test_an_email_row_then_a_phone_only_row_with_its_phone_make_one_contact(
    workspace, owner_actor, tmp_path
):
    text = HEADER + "ann@initech.com,Ann,,020 7946 0005,,\n,,Able,020 7946 0005,,eu\n"
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)
    ann = Contact.objects.get(workspace=workspace)
    assert (ann.email, ann.phone, ann.first_name, ann.last_name) == (
        "ann@initech.com",
        "+442079460005",
        "Ann",
        "Able",
    )
    assert list(ann.tags.values_list("name", flat=True)) == ["eu"]


def _stored(workspace) -> list[tuple]:
    return sorted(
        (
            c.email or "",
            c.phone or "",
            c.first_name,
            c.last_name,
            c.job_title,
            c.company_name,
            tuple(sorted(c.tags.values_list("name", flat=True))),
        )
        for c in Contact.objects.filter(workspace=workspace).annotate(
            company_name=F("company__name")
        )
    )


EXISTING = [
    {"email": "kim@initech.com", "phone": "+442079460002", "first_name": "Kim"},
    {"phone": "+442079460003", "first_name": "Pat"},
    {"email": "zed@globex.com", "phone": "+442079460003"},
    {"email": "moved@initech.com", "phone": "+442079460004"},
]


UPSERT_CASES = [
    # A phone-only row first, then an email row with that phone: two contacts, as
    # contact_upsert makes (the email is not known, and the phone row came first).
    [["", "+442079460009", "Pia", "", ""], ["pia@initech.com", "+442079460009", "", "P", ""]],
    # Found by phone, then by email: one contact.
    [["", "+442079460002", "", "Lee", ""], ["kim@initech.com", "", "Kimberly", "", ""]],
    # The contact known only by the phone wins over one with an email.
    [["", "+442079460003", "", "Smith", "x"], ["", "+442079460003", "", "", "y"]],
    # An email row moves a contact to a new phone; a later phone-only row follows it.
    [
        ["moved@initech.com", "+442079460008", "", "", ""],
        ["", "+442079460008", "Mo", "", ""],
        ["", "+442079460004", "Old", "", ""],
    ],
    # Same email written three ways, with a company name on a free-mail address.
    [
        ["a@gmail.com", "", "A", "", "Hooli"],
        ["A@GMAIL.COM", "+442079460007", "", "Able", ""],
        ["", "+442079460007", "", "", "Globex"],
        # A new contact, then found by its phone, then by its email.
        ["new@initech.com", "+442079460010", "N", "", ""],
        ["", "+442079460010", "", "Ew", ""],
        ["new@initech.com", "", "", "", "Initech"],
    ],
]


def _import_like_row_by_row(workspace, other_workspace, owner_actor, tmp_path, rows):
    """Import ``rows`` into ``workspace``; upsert them one by one into ``other_workspace``
    (both holding EXISTING); both must store the same. Returns the job."""
    other_workspace.default_country = "GB"
    other_workspace.save()
    for data in EXISTING:
        for target in (workspace, other_workspace):
            contact_upsert(workspace=target, actor=Actor.system(), data=data)
    header = "Email,Phone,First Name,Last Name,Company\n"
    text = header + "".join(",".join(row) + "\n" for row in rows)
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert (job.status, job.failed_count, job.rows_done) == (ImportStatus.DONE, 0, len(rows))
    for email, phone, first, last, company in rows:
        data = {"email": email, "phone": phone, "first_name": first, "last_name": last}
        data = {key: value for key, value in data.items() if value}
        contact_upsert(
            workspace=other_workspace,
            actor=Actor.system(),
            data=data | ({"company": company} if company else {}),
        )
    assert _stored(workspace) == _stored(other_workspace)
    return job


@pytest.mark.parametrize("rows", UPSERT_CASES)
def test_import_stores_what_contact_upsert_row_by_row_stores(
    workspace, other_workspace, owner_actor, tmp_path, rows
):
    _import_like_row_by_row(workspace, other_workspace, owner_actor, tmp_path, rows)


# --- options the write path honours -----------------------------------------------------------


def test_conflict_existing_fills_only_empty_fields(workspace, owner_actor, tmp_path):
    CustomField.objects.create(workspace=workspace, key="plan", label="Plan", field_type="text")
    CustomField.objects.create(workspace=workspace, key="seats", label="Seats", field_type="number")
    ann = contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={
            "email": "ann@initech.com",
            "first_name": "Ann",
            "source": "ad",
            "custom_fields": {"plan": "pro"},
            "tags": ["old"],
        },
    ).contact
    text = (
        "Email,First Name,Last Name,Source,Plan,Seats,Tags\n"
        "ann@initech.com,Anne,Able,fair,basic,5,new\n"
        "bob@initech.com,Bob,Baker,fair,basic,5,new\n"
    )
    job = run(workspace, owner_actor, write(tmp_path, text), options={"conflict": "existing"})
    assert (job.created_count, job.updated_count) == (1, 1)
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_name) == ("Ann", "Able")  # only the empty field filled
    assert (ann.first_touch_source, ann.last_touch_source) == ("ad", "ad")
    assert ann.custom_fields == {"plan": "pro", "seats": 5}  # a key only added when absent
    assert sorted(ann.tags.values_list("name", flat=True)) == ["new", "old"]
    activity = Activity.objects.get(contact=ann, kind=ActivityKind.CONTACT_IMPORTED)
    assert set(activity.data["changes"]) == {"last_name", "custom_fields.seats"}
    bob = Contact.objects.get(email="bob@initech.com")
    assert (bob.first_name, bob.custom_fields) == ("Bob", {"plan": "basic", "seats": 5})
    # With the file winning (the default), the same file overwrites.
    job = run(workspace, owner_actor, write(tmp_path, text, name="again.csv"))
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_touch_source, ann.custom_fields["plan"]) == (
        "Anne",
        "fair",
        "basic",
    )


def test_conflict_existing_leaves_a_contact_with_nothing_empty_unchanged(
    workspace, owner_actor, tmp_path
):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "first_name": "Ann", "last_name": "Able"},
    )
    text = "Email,First Name,Last Name\nann@initech.com,Anne,Other\n"
    job = run(workspace, owner_actor, write(tmp_path, text), options={"conflict": "existing"})
    assert (job.updated_count, job.skipped_count) == (0, 1)
    assert not Activity.objects.filter(kind=ActivityKind.CONTACT_IMPORTED).exists()


def test_created_date_is_kept_for_new_contacts_and_moves_existing_ones_back_only_if_asked(
    workspace, owner_actor, tmp_path
):
    recent = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "recent@initech.com"}
    ).contact
    old = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "old@initech.com"})
    Contact.objects.filter(pk=old.contact.pk).update(
        created_at=dt.datetime(2019, 5, 1, tzinfo=dt.UTC)
    )
    text = (
        "Email,Created\n"
        "new@initech.com,2021-03-04\n"
        "recent@initech.com,2020-01-02 10:30\n"
        "old@initech.com,2020-01-02\n"
    )
    job = run(workspace, owner_actor, write(tmp_path, text))
    assert job.mapping["Created"] == "created_at"
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 2)
    created = {c.email: c.created_at for c in Contact.objects.filter(workspace=workspace)}
    assert created["new@initech.com"] == dt.datetime(2021, 3, 4, tzinfo=dt.UTC)
    assert created["recent@initech.com"] == recent.created_at  # not moved back unasked

    job = run(workspace, owner_actor, write(tmp_path, text), options={"backdate_existing": True})
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 2)
    created = {c.email: c.created_at for c in Contact.objects.filter(workspace=workspace)}
    assert created["recent@initech.com"] == dt.datetime(2020, 1, 2, 10, 30, tzinfo=dt.UTC)
    assert created["old@initech.com"] == dt.datetime(2019, 5, 1, tzinfo=dt.UTC)  # not raised
    activity = Activity.objects.get(contact=recent, kind=ActivityKind.CONTACT_IMPORTED)
    assert list(activity.data["changes"]) == ["created_at"]


# --- a concurrent writer ----------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes the write lock at BEGIN (IMMEDIATE): writers queue, they never race",
)
@pytest.mark.django_db(transaction=True)
def test_a_contact_created_meanwhile_by_another_writer_is_updated(workspace, owner_actor, tmp_path):
    """Another transaction inserts one of the chunk's new emails after the chunk looked its
    contacts up: the insert waits for it, hits the unique constraint, and the chunk is
    written again as an update of the other writer's contact."""
    path = big_file(tmp_path, 3)
    job = import_job_create(workspace=workspace, actor=owner_actor, path=path, filename="big.csv")
    inserted, errors = threading.Event(), []

    def other_writer() -> None:
        try:
            with transaction.atomic():
                contact_upsert(
                    workspace=workspace,
                    actor=Actor.system(),
                    data={"email": "p1@initech.com", "last_name": "Other"},
                )
                inserted.set()
                with connection.cursor() as cursor:  # commit once the import waits on us
                    for _ in range(600):
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND wait_event_type = 'Lock'"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.05)
                    else:
                        errors.append("the import never waited on the other writer")
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert inserted.wait(timeout=30)
    job = import_job_run(job_id=job.pk)
    thread.join(timeout=60)
    assert errors == []
    assert (job.status, job.created_count, job.updated_count, job.failed_count) == (
        ImportStatus.DONE,
        2,
        1,
        0,
    )
    p1 = Contact.objects.get(workspace=workspace, email="p1@initech.com")
    assert (p1.first_name, p1.last_name) == ("P1", "Other")
    assert Contact.objects.filter(workspace=workspace).count() == 3
    imported = Activity.objects.filter(contact=p1, kind=ActivityKind.CONTACT_IMPORTED).get()
    assert imported.data["created"] is False


# --- the pipelined write (PostgreSQL, large files) ---------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the writer thread is PostgreSQL's: SQLite has one writer at a time",
)
# The writer thread has its own connection: it sees only committed data.
committing = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pipelined(monkeypatch):
    """Every file goes through the pipeline, a chunk per ``size`` rows; the calls counted."""
    calls = []
    original = import_runner._run_pipelined

    def counted(**arguments):
        calls.append(arguments["position"])
        return original(**arguments)

    monkeypatch.setattr(import_runner, "PIPELINE_MIN_ROWS", 1)
    monkeypatch.setattr(import_runner, "_run_pipelined", counted)

    def chunked(size: int):
        monkeypatch.setattr(import_runner, "CHUNK_SIZE", size)
        return calls

    return chunked


@pytest.mark.parametrize("chunk_size", [1, 2])
@pytest.mark.parametrize("rows", UPSERT_CASES)
@postgresql_only
@committing
def test_pipelined_import_stores_what_contact_upsert_row_by_row_stores(
    workspace, other_workspace, owner_actor, tmp_path, rows, chunk_size, pipelined, caplog
):
    """Each chunk is prepared while the one before it is written, uncommitted: rows finding
    contacts the previous chunk created or moved must still find them (without falling
    back to the locked write)."""
    caplog.set_level("INFO", logger="leadflow.imports.run")
    calls = pipelined(chunk_size)
    job = _import_like_row_by_row(workspace, other_workspace, owner_actor, tmp_path, rows)
    assert calls == [0]
    activities = Activity.objects.filter(workspace=workspace, kind=ActivityKind.CONTACT_IMPORTED)
    assert activities.count() == job.created_count + job.updated_count
    assert "written again" not in caplog.text


def _between_chunks(change, at_row: int):
    """A progress callback that makes ``change`` once the chunk ending at ``at_row`` has
    committed: the next chunk has been looked up by then, its write not yet started."""

    def progress(job):
        if job.next_row == at_row:
            change()

    return progress


def _import_with_a_write_between_chunks(workspace, actor, tmp_path, text: str, data: dict):
    """Import ``text`` in chunks of 2 rows through the pipeline; once the first chunk has
    committed (the second one looked up, not yet written) another writer upserts ``data``."""

    def other_writer():
        contact_upsert(workspace=workspace, actor=Actor.system(), data=data)

    job = import_job_create(
        workspace=workspace, actor=actor, path=write(tmp_path, text), filename="x.csv"
    )
    return import_job_run(job_id=job.pk, progress=_between_chunks(other_writer, 2))


@postgresql_only
@committing
def test_pipelined_chunk_is_written_again_when_a_contact_it_read_changed(
    workspace, owner_actor, tmp_path, pipelined, caplog
):
    """Another writer changes a contact after the chunk read it without a lock: the chunk's
    update would put back the value it read; it notices, rolls back, and is written again
    under locks, on top of the other writer's change."""
    caplog.set_level("INFO", logger="leadflow.imports.run")
    calls = pipelined(2)
    kim = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "kim@initech.com"}
    ).contact
    job = _import_with_a_write_between_chunks(
        workspace,
        owner_actor,
        tmp_path,
        HEADER + "a@initech.com,A,,,,\nb@initech.com,B,,,,\nkim@initech.com,Kim,,,,vip\n",
        {"email": "kim@initech.com", "job_title": "CEO"},
    )
    assert calls == [0]
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.DONE, 2, 1)
    kim.refresh_from_db()
    assert (kim.first_name, kim.job_title) == ("Kim", "CEO")
    assert list(kim.tags.values_list("name", flat=True)) == ["vip"]
    imported = Activity.objects.get(contact=kim, kind=ActivityKind.CONTACT_IMPORTED)
    assert imported.data["changes"] == {"first_name": ["", "Kim"]}
    assert "chunk at row 4 written again under locks: 1 contacts changed" in caplog.text


@postgresql_only
@committing
def test_pipelined_chunk_is_written_again_when_its_new_contact_appeared_meanwhile(
    workspace, owner_actor, tmp_path, pipelined, caplog
):
    caplog.set_level("INFO", logger="leadflow.imports.run")
    calls = pipelined(2)
    job = _import_with_a_write_between_chunks(
        workspace,
        owner_actor,
        tmp_path,
        HEADER + "a@initech.com,A,,,,\nb@initech.com,B,,,,\nc@initech.com,C,,,,\n",
        {"email": "c@initech.com", "last_name": "Other"},
    )
    assert calls == [0]
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.DONE, 2, 1)
    c = Contact.objects.get(workspace=workspace, email="c@initech.com")
    assert (c.first_name, c.last_name) == ("C", "Other")
    assert Contact.objects.filter(workspace=workspace).count() == 3
    assert "chunk at row 4 written again under locks" in caplog.text


@postgresql_only
@committing
def test_pipelined_import_cancels_and_resumes_between_chunks(
    workspace, owner_actor, tmp_path, pipelined
):
    calls = pipelined(10)
    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=big_file(tmp_path, 45, bad=(4, 25)),
        filename="big.csv",
    )
    job = import_job_run(job_id=job.pk, chunks=2)  # the worker dies after two chunks
    assert (job.status, job.next_row, job.created_count) == (ImportStatus.RUNNING, 20, 19)
    assert Contact.objects.filter(workspace=workspace).count() == 19

    def cancel():
        import_job_cancel(workspace=workspace, job_id=job.pk, actor=owner_actor)

    job = import_job_run(job_id=job.pk, progress=_between_chunks(cancel, 30))
    assert (job.status, job.next_row, job.failed_count) == (ImportStatus.CANCELLED, 30, 2)
    assert Contact.objects.filter(workspace=workspace).count() == 28
    assert [(row[0], row[-3]) for row in error_rows(job)[1:]] == [("bad", "6"), ("bad", "27")]
    assert calls == [0, 20]
