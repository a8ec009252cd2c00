"""Activities (history) imports through the import app: mapping, preview, the chunked run,
the problems file, resuming, and a second import of the same file storing nothing."""

import csv
import datetime as dt

import pytest

from leadflow.contacts.services import contact_upsert, custom_field_create
from leadflow.core.errors import ValidationFailed
from leadflow.imports import history as activities
from leadflow.imports.files import source_open
from leadflow.imports.models import ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import (
    import_job_configure,
    import_job_create,
    import_job_resume,
    import_upload,
)
from leadflow.tracking import listeners
from leadflow.tracking.models import Event


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture(autouse=True)
def _ten_years_of_events(workspace):
    """History from 2020 on: the workspace keeps events for ten years."""
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])


@pytest.fixture
def people(workspace, owner_actor):
    custom_field_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "key": "crm_id",
            "label": "CRM id",
            "field_type": "text",
            "identifying": True,
            "match_type": "exact",
        },
    )
    made = {}
    for email, crm in (("ann@initech.com", "A-1"), ("bob@initech.com", "B-2")):
        made[email] = contact_upsert(
            workspace=workspace,
            actor=owner_actor,
            data={"email": email, "custom_fields": {"crm_id": crm}},
        ).contact
    return made


HISTORY = (
    "Email,Activity type,Subject,Timestamp,Link,Campaign,Opens\n"
    "ann@initech.com,Email opened,Spring newsletter,31/01/2021 10:00,,spring,3\n"
    "Bob@Initech.com,email_click,Spring newsletter,2021-02-01T09:30:00Z,https://initech.com/p,spring,\n"
    "nobody@initech.com,call,Intro call,2021-02-02,,,\n"
    "ann@initech.com,tweeted,Hello,2021-02-03,,,\n"
    "ann@initech.com,meeting,Demo,someday,,,\n"
    "ann@initech.com,webinar_attended,Pricing 101,2022-05-06 16:00,,,\n"
)


def write(tmp_path, text: str, name: str = "history.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(workspace, actor, path, **kwargs):
    job = import_job_create(
        workspace=workspace,
        actor=actor,
        path=path,
        filename=path.name,
        kind="activities",
        **kwargs,
    )
    return import_job_run(job_id=job.pk)


def test_a_history_file_is_mapped_by_name_and_its_rows_stored_as_events(
    workspace, owner_actor, people, tmp_path
):
    job = run(workspace, owner_actor, write(tmp_path, HISTORY))
    assert job.kind == "activities" and job.status == ImportStatus.DONE
    assert job.mapping == {
        "Email": "contact_email",
        "Activity type": "type",
        "Subject": "name",
        "Timestamp": "occurred_at",
        "Link": "url",
        "Campaign": "property",
        "Opens": "property",
    }
    assert job.options["day_first"] is True  # 31/01 tells
    assert (job.created_count, job.skipped_count, job.failed_count) == (3, 0, 3)
    events = {e.event_type: e for e in Event.objects.filter(workspace=workspace)}
    assert set(events) == {"email_open", "email_click", "webinar_attended"}
    opened = events["email_open"]
    assert opened.contact_id == people["ann@initech.com"].pk
    assert opened.occurred_at == dt.datetime(2021, 1, 31, 10, tzinfo=dt.UTC)
    assert opened.properties == {"Campaign": "spring", "Opens": "3"}
    assert opened.name == "Spring newsletter" and opened.visitor_id is None
    assert events["email_click"].contact_id == people["bob@initech.com"].pk
    assert events["email_click"].url == "https://initech.com/p"

    with open(job.error_path, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][-3:] == ["Import row", "Import result", "Import problems"]
    problems = {row[-3]: row[-1] for row in rows[1:]}
    assert set(problems) == {"4", "5", "6"}
    assert problems["4"].startswith("Email: No contact of this workspace has this email")
    assert problems["5"].startswith("Activity type: Unknown type")
    assert problems["6"].startswith("Timestamp: Not a date")
    assert rows[1][0] == "nobody@initech.com"  # the row's own cells, to fix and import again

    again = run(workspace, owner_actor, write(tmp_path, HISTORY, "again.csv"))
    assert (again.created_count, again.skipped_count, again.failed_count) == (0, 3, 3)
    assert Event.objects.filter(workspace=workspace).count() == 3


def test_an_external_id_column_a_type_for_the_file_and_a_client_id_column(
    workspace, owner_actor, people, tmp_path
):
    text = "Ref,CRM id,When\nr1,A-1,2020-01-01\nr2,B-2,2020-01-02\nr2,B-2,2020-01-03\n"
    path = write(tmp_path, text)
    job = import_upload(
        workspace=workspace, actor=owner_actor, path=path, filename="h.csv", kind="activities"
    )
    assert job.mapping == {"Ref": "property", "CRM id": "external_id.crm_id", "When": "occurred_at"}
    with pytest.raises(ValidationFailed) as missing_type:
        import_job_configure(workspace=workspace, actor=owner_actor, job_id=job.pk)
    assert "type" in str(missing_type.value.errors)
    import_job_configure(
        workspace=workspace,
        actor=owner_actor,
        job_id=job.pk,
        mapping={"Ref": "client_id", "CRM id": "external_id.crm_id", "When": "occurred_at"},
        options={"event_type": "webinar_attended"},
    )
    job.refresh_from_db()
    job.status = ImportStatus.RUNNING
    job.save()
    job = import_job_run(job_id=job.pk)
    assert (job.created_count, job.skipped_count) == (2, 1)  # r2 twice: one activity
    assert set(Event.objects.values_list("event_type", "contact_id")) == {
        ("webinar_attended", people["ann@initech.com"].pk),
        ("webinar_attended", people["bob@initech.com"].pk),
    }


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"Email": "type", "Timestamp": "occurred_at"}, "mapping"),  # no contact column
        ({"Email": "contact_email", "Activity type": "type"}, "mapping"),  # no time
        (
            {
                "Email": "contact_email",
                "Subject": "external_id.colour",
                "Timestamp": "occurred_at",
                "Activity type": "type",
            },
            "mapping.Subject",
        ),
        (
            {
                "Email": "contact_email",
                "Subject": "type",
                "Activity type": "type",
                "Timestamp": "occurred_at",
            },
            "mapping.Subject",  # the second column mapped to the type
        ),
        ({"Email": "contact_email", "Nope": "type", "Timestamp": "occurred_at"}, "mapping.Nope"),
    ],
)
def test_a_bad_mapping_names_what_is_wrong(
    workspace, owner_actor, people, tmp_path, mapping, field
):
    job = import_upload(
        workspace=workspace,
        actor=owner_actor,
        path=write(tmp_path, HISTORY),
        filename="h.csv",
        kind="activities",
    )
    with pytest.raises(ValidationFailed) as failure:
        import_job_configure(workspace=workspace, actor=owner_actor, job_id=job.pk, mapping=mapping)
    assert field in {error.field for error in failure.value.errors}


def test_the_preview_shows_rows_as_stored_and_unknown_contacts_as_errors(
    workspace, owner_actor, people, tmp_path
):
    path = write(tmp_path, HISTORY)
    source = source_open(path)
    mapping = activities.activity_mapping_guess(
        source.headers, activities.identifying_fields(workspace)
    )
    options = activities.activity_options_clean(workspace, {}, source=source, mapping=mapping)
    preview = activities.activity_preview(
        workspace=workspace,
        actor=owner_actor,
        source=source,
        mapping=mapping,
        options=options,
        count=5,
    )
    assert [row["row"] for row in preview] == [2, 3, 4, 5, 6]
    assert preview[0]["values"]["type"] == "email_open"
    assert preview[0]["values"]["occurred_at"] == "2021-01-31T10:00:00+00:00"
    assert preview[2]["errors"][0][0] == "Email"
    assert preview[3]["errors"][0][0] == "Activity type"
    assert Event.objects.count() == 0


def test_a_run_resumes_after_its_last_committed_chunk_without_storing_twice(
    workspace, owner_actor, people, tmp_path, monkeypatch
):
    monkeypatch.setattr(activities, "CHUNK_SIZE", 2)
    lines = ["Email,Type,Time"] + [
        f"ann@initech.com,email_open,2021-03-{day:02d}" for day in range(1, 8)
    ]
    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=write(tmp_path, "\n".join(lines) + "\n"),
        filename="h.csv",
        kind="activities",
    )
    job = import_job_run(job_id=job.pk, chunks=2)
    assert (job.next_row, job.created_count, Event.objects.count()) == (4, 4, 4)
    job.status = ImportStatus.FAILED
    job.save()
    import_job_resume(workspace=workspace, actor=owner_actor, job_id=job.pk)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.skipped_count, Event.objects.count()) == (7, 0, 7)


@pytest.mark.django_db(transaction=True)
def test_the_scoring_listeners_hear_the_imported_contacts_after_each_chunk_commits(
    workspace, owner_actor, people, tmp_path
):
    heard = []
    listeners.EVENTS_LISTENERS.append(lambda workspace_id, ids: heard.append((workspace_id, ids)))
    try:
        run(workspace, owner_actor, write(tmp_path, HISTORY))
    finally:
        listeners.EVENTS_LISTENERS.pop()
    assert heard == [(workspace.pk, {people["ann@initech.com"].pk, people["bob@initech.com"].pk})]
