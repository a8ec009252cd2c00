"""Import set-up: Excel files, the outcome and created-date columns, dates as the workspace
writes them, custom fields created from columns, saved mappings, drafts and options."""

import datetime as dt

import pytest
from openpyxl import Workbook

from leadflow.cli import main
from leadflow.contacts.models import Contact, CustomField
from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.imports.files import source_open
from leadflow.imports.mapping import date_parse, field_type_guess, outcome_stage
from leadflow.imports.models import ImportJob, ImportMapping, ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import (
    import_job_cancel,
    import_job_configure,
    import_job_create,
    import_job_start,
    import_mapping_save,
    import_preview,
    import_upload,
)


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def write(tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def xlsx(tmp_path, rows, name="people.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a spreadsheet keeps it
    path = tmp_path / name
    workbook.save(path)
    return path


def run(workspace, actor, path, **kwargs):
    job = import_job_create(
        workspace=workspace, actor=actor, path=path, filename=path.name, **kwargs
    )
    return import_job_run(job_id=job.pk)


def fields(error: pytest.ExceptionInfo) -> set[str]:
    return {e.field for e in error.value.errors}


# --- Excel ---------------------------------------------------------------------------------


def test_an_excel_file_imports_like_a_csv(workspace, owner_actor, tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["E-mail", "First Name", "Mobile", "Signed up", "Notes", None],
            ["ann@initech.com", "Ann", 7911123456, dt.datetime(2023, 3, 4), "=1+1", None],
            [None, None, None, None, None, None],  # a blank row is not a row
            ["bob@initech.com", "Bob", None, dt.datetime(2024, 1, 2, 10, 30), None, None],
        ],
    )
    source = source_open(path)
    assert (source.kind, source.headers) == (
        "xlsx",
        ["E-mail", "First Name", "Mobile", "Signed up", "Notes"],
    )
    CustomField.objects.create(workspace=workspace, key="notes", label="Notes", field_type="text")
    job = run(workspace, owner_actor, path)
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 2, 0)
    assert job.mapping["Signed up"] == ""  # not a known name: ignored, not guessed wildly
    ann = Contact.objects.get(email="ann@initech.com")
    assert ann.phone == "+447911123456"  # a number cell, read without ".0"
    assert ann.custom_fields == {"notes": "=1+1"}  # stored as text, never evaluated
    assert job.path.endswith(".xlsx")


def test_an_unreadable_excel_file_is_a_file_error(workspace, owner_actor, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationFailed) as error:
        run(workspace, owner_actor, path)
    assert fields(error) == {"file"}
    assert not ImportJob.objects.exists()


def test_an_excel_file_without_a_header_is_refused(workspace, owner_actor, tmp_path):
    path = xlsx(tmp_path, [[None, None]])
    with pytest.raises(ValidationFailed) as error:
        run(workspace, owner_actor, path)
    assert "header" in error.value.errors[0].message


# --- outcome and created date --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stage"),
    [
        ("Won", "customer"),
        ("closed won", "customer"),
        ("1", "customer"),
        ("Lost", "disqualified"),
        ("0", "disqualified"),
        ("Disqualified", "disqualified"),
        ("opportunity", "opportunity"),
    ],
)
def test_outcomes_map_to_stages(value, stage):
    assert outcome_stage(value) == stage


def test_outcome_column_sets_the_stage_and_names_bad_values(workspace, owner_actor, tmp_path):
    path = write(
        tmp_path,
        "Email,Outcome\nann@initech.com,Won\nbob@initech.com,lost\ncid@initech.com,maybe\n",
    )
    job = run(workspace, owner_actor, path)
    assert job.mapping["Outcome"] == "outcome"
    stages = dict(Contact.objects.values_list("email", "lifecycle_stage"))
    assert stages == {
        "ann@initech.com": "customer",
        "bob@initech.com": "disqualified",
        "cid@initech.com": "lead",  # stored, without the outcome
    }
    assert (job.failed_count, job.warning_count) == (0, 1)
    with open(job.error_path, encoding="utf-8") as file:
        assert "4,stored without these values,\"Outcome: Unknown outcome 'maybe'" in file.read()


def test_outcome_wins_over_a_stage_column(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Email,Stage,Result\nann@initech.com,opportunity,won\n")
    run(workspace, owner_actor, path)
    assert Contact.objects.get().lifecycle_stage == "customer"


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2023-03-04", True, dt.datetime(2023, 3, 4, tzinfo=dt.UTC)),
        ("2023-03-04T10:15:00+02:00", True, dt.datetime(2023, 3, 4, 8, 15, tzinfo=dt.UTC)),
        ("04/03/2023", True, dt.datetime(2023, 3, 4, tzinfo=dt.UTC)),
        ("03/04/2023", False, dt.datetime(2023, 3, 4, tzinfo=dt.UTC)),
        ("4.3.23 14:05", True, dt.datetime(2023, 3, 4, 14, 5, tzinfo=dt.UTC)),
        ("3/4/2023 2:05 PM", False, dt.datetime(2023, 3, 4, 14, 5, tzinfo=dt.UTC)),
    ],
)
def test_dates_parse_as_the_workspace_writes_them(text, day_first, expected):
    assert date_parse(text, day_first=day_first) == expected


@pytest.mark.parametrize("text", ["31/31/2023", "yesterday", "2999-01-01", "04/03/2023 25:99"])
def test_bad_or_future_dates_are_refused(text):
    with pytest.raises(ValueError, match="date"):
        date_parse(text, day_first=True)


def test_created_date_column_keeps_the_original_date(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Email,Created Date\nann@initech.com,04/03/2021\nbob@initech.com,soon\n")
    job = run(workspace, owner_actor, path)
    assert job.mapping["Created Date"] == "created_at"
    ann = Contact.objects.get(email="ann@initech.com")
    assert ann.created_at == dt.datetime(2021, 3, 4, tzinfo=dt.UTC)  # GB: day first
    assert (job.created_count, job.warning_count) == (2, 1)


def test_month_first_option_and_us_workspaces(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Email,Created\nann@initech.com,04/03/2021\n")
    run(workspace, owner_actor, path, options={"day_first": False})
    assert Contact.objects.get().created_at.date() == dt.date(2021, 4, 3)
    workspace.default_country = "US"
    workspace.save()
    job = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="x.csv")
    assert job.options["day_first"] is False


def test_custom_date_fields_read_local_dates(workspace, owner_actor, tmp_path):
    CustomField.objects.create(
        workspace=workspace, key="renewal", label="Renewal", field_type="date"
    )
    path = write(
        tmp_path, "Email,Renewal\nann@initech.com,30/06/2026\nbob@initech.com,13/13/2026\n"
    )
    job = run(workspace, owner_actor, path)
    assert Contact.objects.get(email="ann@initech.com").custom_fields == {"renewal": "2026-06-30"}
    with open(job.error_path, encoding="utf-8") as file:
        assert "3,stored without these values,Renewal: Not a date" in file.read()


# --- mapping -------------------------------------------------------------------------------


def test_a_field_mapped_from_two_columns_is_refused(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Email,Work email,Tags,Labels\nann@initech.com,a@b.com,x,y\n")
    with pytest.raises(ValidationFailed) as error:
        run(
            workspace,
            owner_actor,
            path,
            mapping={"Email": "email", "Work email": "email", "Tags": "tags", "Labels": "tags"},
        )
    assert fields(error) == {"mapping.Work email"}  # tags may come from several columns


def test_new_fields_are_created_with_guessed_types(workspace, owner_actor, tmp_path):
    path = write(
        tmp_path,
        "Email,Budget,Renewal date,Newsletter,Plan\n"
        "ann@initech.com,1200,30/06/2026,yes,pro\n"
        "bob@initech.com,80.5,01/07/2026,no,basic\n",
    )
    job = run(
        workspace,
        owner_actor,
        path,
        new_fields={"Budget": "", "Renewal date": "", "Newsletter": "", "Plan": ""},
    )
    types = dict(CustomField.objects.values_list("key", "field_type"))
    assert types == {
        "budget": "number",
        "renewal_date": "date",
        "newsletter": "boolean",
        "plan": "text",
    }
    assert job.mapping["Budget"] == "custom_fields.budget"
    ann = Contact.objects.get(email="ann@initech.com")
    assert ann.custom_fields == {
        "budget": 1200,
        "renewal_date": "2026-06-30",
        "newsletter": True,
        "plan": "pro",
    }


def test_new_field_keys_do_not_clash(workspace, owner_actor, tmp_path):
    CustomField.objects.create(workspace=workspace, key="plan", label="Plan", field_type="text")
    path = write(tmp_path, "Email,Plan!\nann@initech.com,pro\n")
    job = run(workspace, owner_actor, path, new_fields={"Plan!": "text"})
    assert job.mapping["Plan!"] == "custom_fields.plan_2"


def test_new_fields_need_settings_rights(workspace, owner_actor, make_member, tmp_path):
    from leadflow.core.actors import Actor

    marketer = make_member("marketer")
    path = write(tmp_path, "Email,Plan\nann@initech.com,pro\n")
    with pytest.raises(ValidationFailed) as error:
        run(workspace, Actor.for_user(marketer.user, marketer), path, new_fields={"Plan": ""})
    assert fields(error) == {"new_fields"}
    assert not CustomField.objects.exists()


def test_field_type_guess():
    assert field_type_guess(["1", "2.5", "-3"]) == "number"
    assert field_type_guess(["yes", "No"]) == "boolean"
    assert field_type_guess(["2024-01-01", "31/12/2023"]) == "date"
    assert field_type_guess(["pro", "1"]) == "text"
    assert field_type_guess(["1,200", "3"]) == "text"  # a thousands separator is not a number
    assert field_type_guess([]) == "text"


# --- drafts, saved mappings, options -------------------------------------------------------


def test_draft_configure_preview_start(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Mail,Vorname,Status\nann@initech.com,Ann,won\n")
    job = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    assert job.status == ImportStatus.DRAFT
    assert job.mapping == {"Mail": "email", "Vorname": "", "Status": ""}
    assert import_job_run(job_id=job.pk).status == ImportStatus.DRAFT  # never runs a draft
    job = import_job_configure(
        workspace=workspace,
        actor=owner_actor,
        job_id=job.pk,
        mapping={"Mail": "email", "Vorname": "first_name", "Status": "outcome"},
        options={"tags": ["fair"], "conflict": "existing"},
        save_as="Trade fair",
    )
    assert job.options["conflict"] == "existing"
    preview = import_preview(
        workspace=workspace, path=job.path, mapping=job.mapping, options=job.options
    )
    assert preview[0]["values"]["lifecycle_stage"] == "customer"
    assert preview[0]["values"]["tags"] == ["fair"]
    job = import_job_start(workspace=workspace, actor=owner_actor, job_id=job.pk, schedule=False)
    assert job.status == ImportStatus.QUEUED
    with pytest.raises(ValidationFailed):
        import_job_start(workspace=workspace, actor=owner_actor, job_id=job.pk, schedule=False)
    assert import_job_run(job_id=job.pk).created_count == 1
    saved = ImportMapping.objects.get(workspace=workspace)
    assert (saved.name, saved.mapping["Vorname"]) == ("Trade fair", "first_name")

    # The saved mapping maps the next file of that shape; a new column is guessed.
    path = write(tmp_path, "Mail,Vorname,Status,Phone\nbob@initech.com,Bob,lost,\n", "next.csv")
    job = import_upload(
        workspace=workspace,
        actor=owner_actor,
        path=path,
        filename="next.csv",
        saved_mapping_id=saved.pk,
    )
    assert job.mapping == {
        "Mail": "email",
        "Vorname": "first_name",
        "Status": "outcome",
        "Phone": "phone",
    }
    assert job.options["tags"] == ["fair"]


def test_a_bad_configuration_changes_nothing(workspace, owner_actor, tmp_path):
    path = write(tmp_path, "Email,Plan\nann@initech.com,pro\n")
    job = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    with pytest.raises(ValidationFailed) as error:
        import_job_configure(
            workspace=workspace,
            actor=owner_actor,
            job_id=job.pk,
            mapping={"Email": "email", "Plan": "nonsense"},
            options={"conflict": "mine", "day_first": "maybe", "colour": "red"},
            new_fields={"Plan": "text"},
            save_as="x",
        )
    assert fields(error) == {
        "options.conflict",
        "options.day_first",
        "options.colour",
        "mapping.Plan",
    }
    job.refresh_from_db()
    assert job.mapping["Plan"] == ""
    assert not CustomField.objects.exists()
    assert not ImportMapping.objects.exists()


def test_drafts_of_another_workspace_are_not_found(
    workspace, other_workspace, owner_actor, tmp_path
):
    path = write(tmp_path, "Email\nann@initech.com\n")
    job = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    with pytest.raises(NotFound):
        import_job_configure(workspace=other_workspace, actor=owner_actor, job_id=job.pk)
    with pytest.raises(NotFound):
        import_job_start(workspace=other_workspace, actor=owner_actor, job_id=job.pk)
    with pytest.raises(NotFound):
        import_job_cancel(workspace=other_workspace, actor=owner_actor, job_id=job.pk)
    assert import_job_cancel(workspace=workspace, actor=owner_actor, job_id=job.pk).status == (
        ImportStatus.CANCELLED
    )


def test_conflict_existing_fills_only_empty_fields(workspace, owner_actor, tmp_path):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "first_name": "Ann", "custom_fields": {}},
    )
    path = write(tmp_path, "Email,First Name,Job Title\nann@initech.com,Anna,CTO\n")
    job = run(workspace, owner_actor, path, options={"conflict": "existing"})
    ann = Contact.objects.get()
    assert (ann.first_name, ann.job_title, job.updated_count) == ("Ann", "CTO", 1)
    run(workspace, owner_actor, path, options={"conflict": "file"})
    assert Contact.objects.get().first_name == "Anna"


# --- command line --------------------------------------------------------------------------


def test_cli_imports_excel_with_options(workspace, owner_actor, tmp_path, capsys):
    path = xlsx(
        tmp_path,
        [["Email", "Budget", "Deal"], ["ann@initech.com", 300, "won"], ["bad", 1, "lost"]],
    )
    code = main(
        [
            "import",
            "contacts",
            str(path),
            "--workspace",
            workspace.slug,
            "--new-field",
            "Budget:number",
            "--source",
            "fair",
            "--stage",
            "mql",
            "--owner",
            "owner@acme-widgets.com",
            "--save-as",
            "Fair sheet",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "1 created" in out.out and "1 failed" in out.out
    ann = Contact.objects.get()
    assert (ann.custom_fields, ann.first_touch_source, ann.lifecycle_stage) == (
        {"budget": 300},
        "fair",
        "mql",
    )
    assert ann.owner.email == "owner@acme-widgets.com"
    assert ImportMapping.objects.filter(name="Fair sheet").exists()
    assert main(["import", "contacts", str(path), "--workspace", workspace.slug,
                 "--saved-mapping", "nope"]) == 1  # fmt: skip
    assert "no saved mapping" in capsys.readouterr().err


def test_maintain_deletes_stale_drafts_and_their_files(workspace, owner_actor, tmp_path):
    from pathlib import Path

    from django.utils import timezone

    from leadflow.imports.services import import_drafts_prune

    path = write(tmp_path, "Email\nann@initech.com\n")
    old = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    fresh = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    started = run(workspace, owner_actor, path)
    ImportJob.objects.filter(pk__in=[old.pk, started.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    assert import_drafts_prune() == 1
    assert not Path(old.path).exists() and Path(fresh.path).exists()
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {fresh.pk, started.pk}


def test_possible_duplicates_are_listed_after_an_import(workspace, owner_actor, tmp_path):
    from leadflow.contacts.activity_log import activities_deliver
    from leadflow.duplicates.models import DuplicatePair, FoundBy
    from leadflow.imports.tasks import import_run

    existing = contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={
            "email": "ann@initech.com",
            "phone": "020 7946 0001",
            "first_name": "Ann",
            "last_name": "Lee",
        },
    ).contact
    activities_deliver(workspace_id=workspace.pk)
    path = write(
        tmp_path,
        "Email,Phone,First Name,Last Name\n"
        "ann.lee@gmail.com,020 7946 0001,Anne,Lee\n"  # same phone, another email
        "bob@initech.com,020 7946 0002,Bob,Stone\n"
        "b.stone@initech.com,020 7946 0002,Robert,stone\n",  # a nickname, one phone
    )
    job = import_job_create(
        workspace=workspace, actor=owner_actor, path=path, filename="p.csv", schedule=False
    )
    assert import_run.call(job.pk) == "done"
    activities_deliver(workspace_id=workspace.pk)  # the worker's delivery to the finder
    pairs = {
        (pair.found_by, frozenset([pair.contact.email, pair.other.email]))
        for pair in DuplicatePair.objects.select_related("contact", "other")
    }
    assert pairs == {
        (FoundBy.IMPORT, frozenset([existing.email, "ann.lee@gmail.com"])),
        (FoundBy.IMPORT, frozenset(["bob@initech.com", "b.stone@initech.com"])),
    }
    activities_deliver(workspace_id=workspace.pk)  # nothing new: nothing changes
    assert DuplicatePair.objects.count() == 2


def test_cli_progress_line_with_and_without_a_terminal():
    from types import SimpleNamespace

    from leadflow.cli import _progress_line

    job = SimpleNamespace(rows_done=500, total_rows=2000, failed_count=3)
    assert _progress_line(job, 2.0, bar=False) == "500/2000 rows, 250 rows/s, 3 errors"
    assert _progress_line(job, 2.0, bar=True, width=8) == (
        "[##------]  25% 500/2000 rows, 250 rows/s, 3 errors"
    )


def test_a_saved_default_owner_who_left_is_dropped_not_fatal(
    workspace, owner_actor, make_member, tmp_path
):
    sales = make_member("sales", "sam@acme-widgets.com")
    saved = import_mapping_save(
        workspace=workspace,
        actor=owner_actor,
        name="Fair",
        mapping={"Mail": "email"},
        options={"owner_id": sales.user_id, "tags": ["fair"]},
    )
    path = write(tmp_path, "Mail\nann@initech.com\n")
    job = import_upload(
        workspace=workspace,
        actor=owner_actor,
        path=path,
        filename="p.csv",
        saved_mapping_id=saved.pk,
    )
    assert (job.options["owner_id"], job.options["tags"]) == (sales.user_id, ["fair"])
    sales.delete()  # Sam leaves the workspace
    job = import_upload(
        workspace=workspace,
        actor=owner_actor,
        path=write(tmp_path, "Mail\nbob@initech.com\n", "next.csv"),
        filename="next.csv",
        saved_mapping_id=saved.pk,
    )
    assert "owner_id" not in job.options and job.options["tags"] == ["fair"]
