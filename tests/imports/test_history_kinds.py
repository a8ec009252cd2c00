"""Activities imports outside the app's pages: ``POST /api/v1/imports`` with ``kind``, the
``leadflow import activities`` command, and saved mappings kept per kind (API, services,
command line and the upload page), each scoped to its workspace."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadflow.cli import main
from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.imports.models import ImportJob, ImportMapping
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_configure, import_mapping_save, import_upload
from leadflow.tracking.models import Event
from tests.web.conftest import url

HISTORY = (
    "Email,Subject,When,Campaign\n"
    "ann@initech.com,Pricing 101,2021-01-31 10:00,spring\n"
    "eve@initech.com,Pricing 101,2021-02-01 11:00,spring\n"
)
# A file of another tool: its columns named so that no guess finds the contact or the time.
EXPORTED = (
    "Attendee,Webinar,Joined,Minutes\n"
    "ann@initech.com,Pricing 101,2021-03-04 16:00,42\n"
    "ann@initech.com,Onboarding,2021-04-05 16:00,17\n"
)
EXPORTED_MAPPING = {
    "Attendee": "contact_email",
    "Webinar": "name",
    "Joined": "occurred_at",
    "Minutes": "property",
}


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture(autouse=True)
def _ten_years_of_events(workspace):
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])


@pytest.fixture
def ann(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "ann@initech.com"}
    ).contact


def upload(api, content: str = HISTORY, name: str = "history.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")}
    data |= {key: json.dumps(value) if isinstance(value, dict) else value
             for key, value in fields.items()}  # fmt: skip
    return api.client.post("/api/v1/imports", data=data, headers=api.headers)


def write(tmp_path, text: str, name: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the API --------------------------------------------------------------------------------


def test_the_api_imports_a_file_of_activities_with_its_options(api, workspace, ann):
    response = upload(api, kind="activities", options={"event_type": "webinar_attended"})
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["kind"], job["status"]) == ("activities", "queued")
    assert job["mapping"] == {
        "Email": "contact_email",
        "Subject": "name",
        "When": "occurred_at",
        "Campaign": "property",
    }
    assert job["options"]["event_type"] == "webinar_attended"
    import_job_run(job_id=job["id"])  # what the worker does with the queued task
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["status"], done["created_count"], done["failed_count"]) == ("done", 1, 1)
    event = Event.objects.get(workspace=workspace)
    assert (event.contact_id, event.event_type, event.name) == (
        ann.pk,
        "webinar_attended",
        "Pricing 101",
    )
    errors = b"".join(api.get(f"/imports/{job['id']}/errors.csv").streaming_content).decode()
    assert "eve@initech.com" in errors and "No contact of this workspace" in errors
    assert [item["kind"] for item in api.get("/imports").json()["items"]] == ["activities"]


def test_an_activities_draft_is_mapped_previewed_and_started_with_its_own_options(
    api, workspace, ann
):
    job = upload(api, kind="activities", draft="true").json()
    assert job["status"] == "draft"
    contact_options = api.patch(f"/imports/{job['id']}", {"options": {"conflict": "file"}})
    assert contact_options.status_code == 422
    assert {e["field"] for e in contact_options.json()["errors"]} == {"options.conflict"}
    mapping = {"Email": "contact_email", "When": "occurred_at"}
    options = {"event_type": "call", "day_first": False}
    response = api.patch(f"/imports/{job['id']}", {"options": options, "mapping": mapping})
    assert response.status_code == 200, response.content
    assert response.json()["options"]["event_type"] == "call"
    assert response.json()["mapping"]["Subject"] == ""  # columns not named are ignored
    preview = api.get(f"/imports/{job['id']}/preview").json()
    first, second = preview["rows"]
    assert first["values"]["email"] == "ann@initech.com" and first["values"]["type"] == "call"
    assert second["errors"] == [["Email", "No contact of this workspace has this email."]]
    assert Event.objects.count() == 0
    started = api.post(f"/imports/{job['id']}/start")
    assert started.status_code == 200 and started.json()["status"] == "queued"


def test_bad_activities_uploads_name_the_field_and_keep_nothing(api, workspace):
    cases = [
        ({"kind": "deals"}, "kind"),
        ({"kind": "activities", "options": {"conflict": "file"}}, "options.conflict"),
        ({"kind": "activities", "options": {"event_type": "tweet"}}, "options.event_type"),
        ({"kind": "activities", "new_fields": {"Campaign": "text"}}, "new_fields"),
        ({"kind": "activities", "mapping": {"Subject": "name"}}, "mapping"),
    ]
    for fields, field in cases:
        response = upload(api, **fields)
        assert response.status_code == 422, (fields, response.content)
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert not ImportJob.objects.exists()


def test_an_activities_import_needs_the_contacts_write_scope(workspace, api_key_for):
    reader = api_key_for(workspace, [ApiScope.CONTACTS_READ])
    assert upload(reader, kind="activities").status_code == 403
    assert not ImportJob.objects.exists()


# --- saved mappings by kind -----------------------------------------------------------------


def test_a_saved_activities_mapping_maps_the_next_file_of_that_shape(api, workspace, ann):
    saved = api.post(
        "/import-mappings",
        {
            "name": "Webinar tool",
            "kind": "activities",
            "mapping": EXPORTED_MAPPING,
            "options": {"event_type": "webinar_attended"},
        },
    )
    assert saved.status_code == 201, saved.content
    assert saved.json()["kind"] == "activities"
    # The same name may name a contacts mapping too: names are unique per kind.
    contacts = api.post("/import-mappings", {"name": "Webinar tool", "mapping": {"Email": "email"}})
    assert contacts.status_code == 201 and contacts.json()["kind"] == "contacts"
    listed = api.get("/import-mappings?kind=activities").json()
    assert [(m["name"], m["kind"]) for m in listed] == [("Webinar tool", "activities")]
    assert len(api.get("/import-mappings").json()) == 2

    shaped = EXPORTED.replace("Minutes", "Minutes,Country").replace("42", "42,FR")
    shaped = shaped.replace(",17", ",17,DE")
    job = upload(api, shaped, "webinar.csv", kind="activities", mapping_id=saved.json()["id"])
    assert job.status_code == 201, job.content
    assert job.json()["mapping"] == EXPORTED_MAPPING | {"Country": "property"}  # a new column
    assert job.json()["options"]["event_type"] == "webinar_attended"
    import_job_run(job_id=job.json()["id"])
    events = Event.objects.filter(workspace=workspace).order_by("occurred_at")
    assert [(e.event_type, e.name, e.properties) for e in events] == [
        ("webinar_attended", "Pricing 101", {"Minutes": "42", "Country": "FR"}),
        ("webinar_attended", "Onboarding", {"Minutes": "17", "Country": "DE"}),
    ]


def test_a_saved_mapping_serves_only_its_own_kind_and_workspace(
    api, other_api, workspace, other_workspace, owner_actor
):
    contacts = import_mapping_save(
        workspace=workspace, actor=owner_actor, name="CRM", mapping={"Email": "email"}
    )
    activities = import_mapping_save(
        workspace=workspace,
        actor=owner_actor,
        name="CRM",
        mapping=EXPORTED_MAPPING,
        kind="activities",
    )
    wrong = upload(api, kind="activities", mapping_id=contacts.pk)
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [
        {"field": "mapping_id", "message": "This saved mapping is for contacts imports."}
    ]
    wrong = upload(api, mapping_id=activities.pk)  # a contacts upload
    assert wrong.status_code == 422
    assert "for activities (history) imports" in wrong.json()["errors"][0]["message"]
    elsewhere = upload(other_api, kind="activities", mapping_id=activities.pk)
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["message"] == "No such saved mapping."
    assert other_api.get("/import-mappings").json() == []
    bad_options = api.post(
        "/import-mappings",
        {"name": "x", "kind": "activities", "mapping": {}, "options": {"tags": ["a"]}},
    )
    assert bad_options.status_code == 422
    assert {e["field"] for e in bad_options.json()["errors"]} == {"options.tags"}
    assert not ImportJob.objects.exists()


def test_save_as_keeps_an_activities_drafts_mapping_under_its_kind(
    workspace, owner_actor, tmp_path
):
    path = write(tmp_path, EXPORTED, "webinar.csv")
    job = import_upload(
        workspace=workspace, actor=owner_actor, path=path, filename=path.name, kind="activities"
    )
    with pytest.raises(ValidationFailed) as refused:
        import_job_configure(
            workspace=workspace,
            actor=owner_actor,
            job_id=job.pk,
            mapping=EXPORTED_MAPPING,
            options={"event_type": "webinar_attended"},
            save_as="x" * 101,
        )
    assert [e.field for e in refused.value.errors] == ["save_as"]
    import_job_configure(
        workspace=workspace,
        actor=owner_actor,
        job_id=job.pk,
        mapping=EXPORTED_MAPPING,
        options={"event_type": "webinar_attended"},
        save_as=" Webinars ",
    )
    saved = ImportMapping.objects.get(workspace=workspace)
    assert (saved.kind, saved.name, saved.mapping) == ("activities", "Webinars", EXPORTED_MAPPING)
    assert saved.options["event_type"] == "webinar_attended"


# --- the command line -----------------------------------------------------------------------


def test_the_command_imports_activities_and_reuses_a_mapping_it_saved(
    workspace, ann, tmp_path, capsys
):
    path = write(tmp_path, EXPORTED, "webinar.csv")
    mapping = write(tmp_path, json.dumps(EXPORTED_MAPPING), "mapping.json")
    command = ["import", "activities", str(path), "--workspace", workspace.slug]
    code = main([*command, "--mapping", str(mapping), "--type", "webinar_attended",
                 "--save-as", "Webinars"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "2 activities stored, 0 stored before, 0 failed" in out.out
    assert Event.objects.filter(workspace=workspace, contact_id=ann.pk).count() == 2
    assert ImportMapping.objects.get(workspace=workspace).kind == "activities"

    again = write(tmp_path, EXPORTED + "eve@initech.com,Pricing 101,2021-05-06,3\n", "more.csv")
    code = main(["import", "activities", str(again), "--workspace", workspace.slug,
                 "--saved-mapping", "Webinars"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "0 activities stored, 2 stored before, 1 failed" in out.out
    assert "Rows with problems:" in out.out
    job = ImportJob.objects.latest("pk")
    assert (job.kind, job.options["event_type"]) == ("activities", "webinar_attended")


def test_the_command_refuses_what_it_cannot_import(workspace, owner_actor, tmp_path, capsys):
    path = write(tmp_path, EXPORTED, "webinar.csv")
    import_mapping_save(
        workspace=workspace, actor=owner_actor, name="Contacts sheet", mapping={"Email": "email"}
    )
    command = ["import", "activities", str(path), "--workspace", workspace.slug]
    assert main([*command, "--saved-mapping", "Contacts sheet"]) == 1
    assert "no saved mapping of activities named 'Contacts sheet'" in capsys.readouterr().err
    assert main([*command, "--type", "tweet"]) == 1  # and the columns name no contact
    err = capsys.readouterr().err
    assert "options.event_type" in err or "Choose one of the listed types" in err
    assert main(["import", "activities", str(tmp_path / "nope.csv"),
                 "--workspace", workspace.slug]) == 1  # fmt: skip
    assert "no such file" in capsys.readouterr().err
    assert not ImportJob.objects.exists() and not Event.objects.exists()


# --- the upload page ------------------------------------------------------------------------


def test_the_upload_page_offers_saved_mappings_by_kind_and_applies_one(
    owner, workspace, owner_actor, ann
):
    saved = import_mapping_save(
        workspace=workspace,
        actor=owner_actor,
        name="Webinar tool",
        mapping=EXPORTED_MAPPING,
        options={"event_type": "webinar_attended"},
        kind="activities",
    )
    client = Client()
    client.force_login(owner)
    page = client.get(url(workspace, "contacts/imports/"))
    assert b'<optgroup label="Activities (history)">' in page.content
    file = SimpleUploadedFile("webinar.csv", EXPORTED.encode(), content_type="text/csv")
    response = client.post(
        url(workspace, "contacts/imports/"),
        {"file": file, "kind": "activities", "mapping_id": str(saved.pk)},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.kind, job.mapping, job.options["event_type"]) == (
        "activities",
        EXPORTED_MAPPING,
        "webinar_attended",
    )
    file = SimpleUploadedFile("people.csv", b"Email\nbob@initech.com\n", content_type="text/csv")
    refused = client.post(
        url(workspace, "contacts/imports/"),
        {"file": file, "kind": "contacts", "mapping_id": str(saved.pk)},
    )
    assert refused.status_code == 422
    assert b"This saved mapping is for activities (history) imports." in refused.content
    mapped = client.post(
        url(workspace, f"contacts/imports/{job.pk}/"),
        {"target_0": "contact_email", "target_1": "name", "target_2": "occurred_at",
         "target_3": "property", "event_type": "webinar_attended", "day_first": "auto",
         "save_as": "Webinar tool v2", "action": "save"},
    )  # fmt: skip
    assert mapped.status_code == 302
    names = ImportMapping.objects.filter(workspace=workspace, kind="activities")
    assert sorted(names.values_list("name", flat=True)) == ["Webinar tool", "Webinar tool v2"]
