"""The imports API: multipart upload (start at once or draft), mapping, preview, start,
progress, error file, cancel, saved mappings, scopes, size limit and tenant isolation."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leadflow.contacts.models import Contact, CustomField
from leadflow.core.models import ApiScope
from leadflow.imports.models import ImportJob, ImportMapping
from leadflow.imports.run import import_job_run


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


CSV = b"Email,First Name,Plan,Outcome\nann@initech.com,Ann,pro,won\nnot-an-email,Bob,basic,lost\n"


def upload(api, content: bytes = CSV, name: str = "people.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    data |= {key: json.dumps(value) if isinstance(value, dict) else value
             for key, value in fields.items()}  # fmt: skip
    return api.client.post("/api/v1/imports", data=data, headers=api.headers)


def test_upload_starts_an_import_and_reports_progress(api, workspace):
    response = upload(api, options={"tags": ["fair"]})
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued"
    assert job["mapping"] == {
        "Email": "email",
        "First Name": "first_name",
        "Plan": "",
        "Outcome": "outcome",
    }
    assert job["total_rows"] == 2
    import_job_run(job_id=job["id"])  # what the worker does with the queued task
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["status"], done["created_count"], done["failed_count"]) == ("done", 1, 1)
    assert done["rows_per_second"] > 0 and done["has_errors"] is True
    errors = api.get(f"/imports/{job['id']}/errors.csv")
    assert errors.status_code == 200
    text = b"".join(errors.streaming_content).decode()
    assert text.splitlines()[1].startswith("not-an-email,Bob,basic,lost,3,not imported,Email:")
    ann = Contact.objects.get()
    assert (ann.lifecycle_stage, [t.name for t in ann.tags.all()]) == ("customer", ["fair"])
    listed = api.get("/imports").json()["items"]
    assert [item["id"] for item in listed] == [job["id"]]


def test_draft_then_map_preview_start(api, workspace):
    job = upload(api, draft="true").json()
    assert job["status"] == "draft"
    response = api.patch(
        f"/imports/{job['id']}",
        {
            "mapping": {"Email": "email", "Plan": "nonsense"},
            "options": {"conflict": "sideways"},
        },
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"options.conflict"}
    response = api.patch(
        f"/imports/{job['id']}", {"mapping": {"Email": "email", "Plan": "nonsense"}}
    )
    assert response.json()["errors"][0]["field"] == "mapping.Plan"
    response = api.patch(
        f"/imports/{job['id']}",
        {
            "mapping": {"Email": "email", "First Name": "first_name"},
            "new_fields": {"Plan": ""},
            "save_as": "CRM export",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["mapping"]["Plan"] == "custom_fields.plan"
    assert CustomField.objects.get(key="plan").field_type == "text"
    preview = api.get(f"/imports/{job['id']}/preview").json()
    assert preview["columns"][0] == {"header": "Email", "target": "email",
                                     "samples": ["ann@initech.com", "not-an-email"]}  # fmt: skip
    assert preview["rows"][0]["values"]["custom_fields"] == {"plan": "pro"}
    assert preview["rows"][1]["errors"][0][0] == "Email"
    started = api.post(f"/imports/{job['id']}/start")
    assert started.json()["status"] == "queued"
    assert api.post(f"/imports/{job['id']}/start").status_code == 422
    saved = api.get("/import-mappings").json()
    assert [item["name"] for item in saved] == ["CRM export"]
    # The saved mapping maps the next upload.
    again = upload(api, mapping_id=str(saved[0]["id"]), draft="true").json()
    assert again["mapping"]["Plan"] == "custom_fields.plan"


def test_cancel_and_errors(api, workspace):
    job = upload(api).json()
    cancelled = api.post(f"/imports/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert import_job_run(job_id=job["id"]).created_count == 0
    assert api.post(f"/imports/{job['id']}/cancel").json()["status"] == "cancelled"
    done = upload(api).json()
    import_job_run(job_id=done["id"])
    assert api.post(f"/imports/{done['id']}/cancel").status_code == 422  # done already
    assert api.get(f"/imports/{job['id']}/errors.csv").status_code == 404


def test_bad_uploads_name_the_field(api, workspace):
    assert upload(api, content=b"").status_code == 422
    response = upload(api, mapping="{not json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mapping"
    response = upload(api, mapping={"First Name": "first_name"})
    assert response.json()["errors"][0]["field"] == "mapping"  # needs email or phone
    response = api.client.post("/api/v1/imports", data={}, headers=api.headers)
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_new_fields_need_the_settings_scope(api_key_for, workspace):
    api = api_key_for(workspace, scopes=[ApiScope.CONTACTS_WRITE, ApiScope.CONTACTS_READ])
    response = upload(api, new_fields={"Plan": "text"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "new_fields"
    assert not CustomField.objects.exists()
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ])
    assert upload(reader).status_code == 403


def test_uploads_have_their_own_size_limit(api, settings):
    settings.LEADFLOW_MAX_BODY_BYTES = 100
    settings.LEADFLOW_MAX_UPLOAD_BYTES = 2000
    assert upload(api).status_code == 201  # over the body limit, under the upload limit
    response = upload(api, content=CSV * 40)
    assert response.status_code == 413


def test_another_workspaces_imports_are_not_found(api, other_api, workspace):
    job = upload(api, draft="true").json()
    for method, path in [
        ("get", f"/imports/{job['id']}"),
        ("get", f"/imports/{job['id']}/preview"),
        ("post", f"/imports/{job['id']}/start"),
        ("post", f"/imports/{job['id']}/cancel"),
        ("get", f"/imports/{job['id']}/errors.csv"),
    ]:
        assert getattr(other_api, method)(path).status_code == 404, path
    assert other_api.patch(f"/imports/{job['id']}", {"save_as": "x"}).status_code == 404
    assert other_api.get("/imports").json()["items"] == []
    saved = api.post("/import-mappings", {"name": "Mine", "mapping": {"Email": "email"}})
    assert saved.status_code == 201
    assert other_api.delete(f"/import-mappings/{saved.json()['id']}").status_code == 404
    assert other_api.get("/import-mappings").json() == []
    assert api.delete(f"/import-mappings/{saved.json()['id']}").status_code == 204
    assert not ImportMapping.objects.exists()


def test_a_refused_draft_leaves_nothing_behind(api, workspace, settings):
    from leadflow.imports.files import imports_dir

    response = upload(
        api, draft="true", mapping={"Email": "email", "Plan": "nonsense"}, save_as="Kept?"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mapping.Plan"
    assert not ImportJob.objects.exists() and not ImportMapping.objects.exists()
    assert list(imports_dir().iterdir()) == []


def test_save_as_alone_keeps_the_drafts_mapping_and_options(api, workspace):
    job = upload(api, draft="true", save_as="Fair", options={"conflict": "existing"}).json()
    assert job["status"] == "draft"
    saved = ImportMapping.objects.get(name="Fair")
    assert saved.mapping["Email"] == "email" and saved.options["conflict"] == "existing"
