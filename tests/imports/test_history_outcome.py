"""The contact import stores the outcome (won / lost) and its date, what training learns
from; importing the same file twice changes nothing."""

import datetime as dt

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.imports.mapping import mapping_guess
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create, import_preview


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def write(tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(workspace, actor, path, **kwargs):
    job = import_job_create(
        workspace=workspace, actor=actor, path=path, filename=path.name, **kwargs
    )
    return import_job_run(job_id=job.pk)


PEOPLE = (
    "Email,Outcome,Closed at\n"
    "ann@initech.com,Won,31/01/2023\n"
    "bob@initech.com,lost,02/03/2023 14:05\n"
    "cid@initech.com,opportunity,\n"
    "dee@initech.com,,05/06/2023\n"
)


def outcomes():
    return {
        email: (outcome, outcome_at, stage)
        for email, outcome, outcome_at, stage in Contact.objects.values_list(
            "email", "outcome", "outcome_at", "lifecycle_stage"
        )
    }


def test_the_outcome_and_its_date_are_stored_and_a_second_import_changes_nothing(
    workspace, owner_actor, tmp_path
):
    job = run(workspace, owner_actor, write(tmp_path, PEOPLE))
    assert job.mapping == {"Email": "email", "Outcome": "outcome", "Closed at": "outcome_at"}
    assert job.options["day_first"] is True  # 31/01 tells
    assert outcomes() == {
        "ann@initech.com": ("won", dt.datetime(2023, 1, 31, tzinfo=dt.UTC), "customer"),
        "bob@initech.com": ("lost", dt.datetime(2023, 3, 2, 14, 5, tzinfo=dt.UTC), "disqualified"),
        "cid@initech.com": ("", None, "opportunity"),  # a stage, not an outcome
        "dee@initech.com": ("", dt.datetime(2023, 6, 5, tzinfo=dt.UTC), "lead"),
    }
    for contact in Contact.objects.all():
        assert contact.stage_changed_at == contact.created_at
    before = {
        row[0]: row
        for row in Contact.objects.values_list(
            "id", "outcome", "outcome_at", "lifecycle_stage", "stage_changed_at", "updated_at"
        )
    }
    activities = Activity.objects.count()

    again = run(workspace, owner_actor, write(tmp_path, PEOPLE, "again.csv"))
    assert (again.created_count, again.updated_count) == (0, 0)
    after = {
        row[0]: row
        for row in Contact.objects.values_list(
            "id", "outcome", "outcome_at", "lifecycle_stage", "stage_changed_at", "updated_at"
        )
    }
    assert after == before
    assert Activity.objects.count() == activities


def test_an_existing_contact_takes_the_outcome_and_its_stage_change_is_dated(
    workspace, owner_actor, tmp_path
):
    ann = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "ann@initech.com"}
    ).contact
    run(
        workspace,
        owner_actor,
        write(tmp_path, "Email,Result,Won date\nann@initech.com,won,2024-02-01\n"),
    )
    ann.refresh_from_db()
    assert (ann.outcome, ann.outcome_at, ann.lifecycle_stage) == (
        "won",
        dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
        "customer",
    )
    assert ann.stage_changed_at is not None and ann.stage_changed_at > ann.created_at
    imported = Activity.objects.filter(contact=ann, kind="contact.imported").get()
    assert {"outcome", "outcome_at", "lifecycle_stage"} <= set(imported.data["changes"])


def test_keeping_existing_values_keeps_a_known_outcome(workspace, owner_actor, tmp_path):
    run(
        workspace,
        owner_actor,
        write(tmp_path, "Email,Outcome,Outcome date\nann@initech.com,won,2024-02-01\n"),
    )
    run(
        workspace,
        owner_actor,
        write(tmp_path, "Email,Outcome,Outcome date\nann@initech.com,lost,2024-03-01\n", "b.csv"),
        options={"conflict": "existing"},
    )
    assert outcomes()["ann@initech.com"][:2] == ("won", dt.datetime(2024, 2, 1, tzinfo=dt.UTC))


def test_a_bad_outcome_date_is_left_out_and_reported(workspace, owner_actor, tmp_path):
    job = run(
        workspace,
        owner_actor,
        write(tmp_path, "Email,Outcome,Closed at\nann@initech.com,won,someday\n"),
    )
    assert outcomes()["ann@initech.com"] == ("won", None, "customer")
    assert job.warning_count == 1
    with open(job.error_path, encoding="utf-8") as file:
        assert "Closed at: Not a date" in file.read()


def test_outcome_date_columns_are_guessed_and_previewed(workspace, owner_actor, tmp_path):
    guesses = mapping_guess(["E-mail", "Deal status", "Close date", "Won date"], [])
    assert guesses == {
        "E-mail": "email",
        "Deal status": "outcome",
        "Close date": "outcome_at",
        "Won date": "",  # the outcome date is mapped from one column
    }
    path = write(tmp_path, PEOPLE)
    preview = import_preview(workspace=workspace, path=path)
    assert preview[0]["values"]["outcome"] == "won"
    assert preview[1]["values"]["outcome_at"] == dt.datetime(2023, 3, 2, 14, 5, tzinfo=dt.UTC)
