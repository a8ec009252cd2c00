"""Import pages: upload, mapping (with errors kept on the page), preview, start, progress,
cancel, error file, saved mappings, roles and another workspace's imports."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leadflow.contacts.models import Contact, CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import PermissionDenied
from leadflow.imports.models import ImportJob, ImportMapping
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_upload
from tests.imports import workbooks
from tests.web.conftest import url

CSV = (
    "Email,Vorname,Budget,Result,Created\n"
    "ann@initech.com,Ann,1200,won,04/03/2021\n"
    "not-an-email,Bob,10,lost,\n"
)


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def upload(client, workspace, content=CSV, **extra):
    file = SimpleUploadedFile("fair.csv", content.encode(), content_type="text/csv")
    return client.post(url(workspace, "contacts/imports/"), {"file": file, **extra})


def mapping_post(**overrides):
    data = {
        "target_0": "email",
        "target_1": "first_name",
        "target_2": "__new__",
        "type_2": "",
        "target_3": "outcome",
        "target_4": "created_at",
        "existing": "update",
        "conflict": "file",
        "tags": "fair, 2026",
        "source": "trade fair",
        "lifecycle_stage": "",
        "owner_id": "",
        "day_first": "day",
        "save_as": "",
    }
    return data | overrides


def test_upload_map_preview_start_and_follow(owner_client, workspace):
    page = owner_client.get(url(workspace, "contacts/imports/"))
    assert page.status_code == 200 and b"Upload a file" in page.content
    # the sidebar keeps Contacts as the current section
    assert f'href="/w/{workspace.slug}/contacts/" aria-current="page"'.encode() in page.content
    response = upload(owner_client, workspace)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == url(
        workspace, f"contacts/imports/{job.pk}/"
    )
    page = owner_client.get(response.url)
    assert b"Map the columns of fair.csv" in page.content
    assert b"ann@initech.com \xc2\xb7 not-an-email" in page.content  # sample values
    assert b'<option value="outcome" selected>' in page.content  # "Result" guessed

    preview = owner_client.post(
        url(workspace, f"contacts/imports/{job.pk}/preview"), mapping_post(), HTTP_HX_REQUEST="true"
    )
    assert preview.status_code == 200
    text = preview.content.decode()
    assert 'id="import-preview"' in text and "<html" not in text
    assert "customer" in text and "2021-03-04 00:00" in text and "fair, 2026" in text
    assert "Not imported: Email:" in text
    assert not CustomField.objects.exists()  # a preview creates nothing

    response = owner_client.post(
        url(workspace, f"contacts/imports/{job.pk}/"),
        mapping_post(action="start", save_as="Fair sheet"),
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "queued"
    assert job.mapping["Budget"] == "custom_fields.budget"
    assert CustomField.objects.get(key="budget").field_type == "number"
    assert ImportMapping.objects.get().name == "Fair sheet"

    page = owner_client.get(response.url)
    assert b"Waiting for the worker" in page.content and b'hx-trigger="every 1s"' in page.content
    import_job_run(job_id=job.pk)
    fragment = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/progress"))
    text = fragment.content.decode()
    assert "Import finished" in text and "every 1s" not in text  # polling stops
    assert '<span class="strong">2</span> of 2 rows' in text and "1 error" in text
    errors = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/errors.csv"))
    assert b",3,not imported,Email: " in b"".join(errors.streaming_content)
    ann = Contact.objects.get()
    assert (ann.lifecycle_stage, ann.custom_fields, ann.first_touch_source) == (
        "customer",
        {"budget": 1200},
        "trade fair",
    )
    listing = owner_client.get(url(workspace, "contacts/imports/")).content.decode()
    assert "fair.csv" in listing and "Fair sheet" in listing


def test_mapping_errors_stay_on_the_page(owner_client, workspace):
    upload(owner_client, workspace)
    job = ImportJob.objects.get()
    response = owner_client.post(
        url(workspace, f"contacts/imports/{job.pk}/"),
        mapping_post(
            target_0="",
            target_1="first_name",
            conflict="sideways",
            action="start",
            day_first="auto",
        ),
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Map a column to email or phone." in text
    assert "Must be &quot;file&quot; or &quot;existing&quot;." in text
    assert 'name="tags" value="fair, 2026"' in text  # what was typed is kept
    assert '<option value="auto" selected>' in text
    assert "Read from the file's dates when one can only be read one way" in text
    job.refresh_from_db()
    assert job.status == "draft"


def test_cancel_a_running_import(owner_client, workspace, owner_actor):
    upload(owner_client, workspace)
    job = ImportJob.objects.get()
    owner_client.post(url(workspace, f"contacts/imports/{job.pk}/"), mapping_post(action="start"))
    response = owner_client.post(url(workspace, f"contacts/imports/{job.pk}/cancel/"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert import_job_run(job_id=job.pk).created_count == 0


def test_a_saved_mapping_maps_the_next_upload(owner_client, workspace, owner_actor):
    saved = ImportMapping.objects.create(
        workspace=workspace, name="Fair", mapping={"Vorname": "first_name", "Email": "email"}
    )
    upload(owner_client, workspace, mapping_id=str(saved.pk))
    assert ImportJob.objects.get().mapping["Vorname"] == "first_name"
    response = owner_client.post(url(workspace, f"contacts/imports/mappings/{saved.pk}/delete/"))
    assert response.status_code == 302 and not ImportMapping.objects.exists()


def test_upload_errors_are_shown(owner_client, workspace):
    response = owner_client.post(url(workspace, "contacts/imports/"), {})
    assert response.status_code == 422 and b"Choose a CSV or Excel file." in response.content
    response = upload(owner_client, workspace, content="")
    assert response.status_code == 422 and b"no header row" in response.content
    assert not ImportJob.objects.exists()


def test_roles(client_for, workspace, owner_actor, tmp_path):
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, "contacts/imports/")).status_code == 200
    assert b"Upload a file" not in viewer.get(url(workspace, "contacts/imports/")).content
    assert upload(viewer, workspace).status_code == 403
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    job = import_upload(workspace=workspace, actor=owner_actor, path=path, filename="p.csv")
    assert (
        viewer.post(url(workspace, f"contacts/imports/{job.pk}/"), mapping_post()).status_code
        == 403
    )
    assert viewer.post(url(workspace, f"contacts/imports/{job.pk}/cancel/")).status_code == 403
    sales, sales_member = client_for("sales")
    assert b"Upload a file" not in sales.get(url(workspace, "contacts/imports/")).content
    assert upload(sales, workspace).status_code == 403  # imports would touch others' leads
    assert sales.post(url(workspace, f"contacts/imports/{job.pk}/cancel/")).status_code == 403
    assert b">Import</a>" not in sales.get(url(workspace, "contacts/")).content
    with pytest.raises(PermissionDenied):
        import_upload(
            workspace=workspace,
            actor=Actor.for_user(sales_member.user, sales_member),
            path=path,
            filename="p.csv",
        )
    marketer, _ = client_for("marketer")
    assert b">Import</a>" in marketer.get(url(workspace, "contacts/")).content
    page = marketer.get(url(workspace, f"contacts/imports/{job.pk}/")).content.decode()
    assert "+ New custom field" not in page  # only admins add fields


def test_another_workspaces_import_is_not_found(owner_client, workspace, other_workspace, tmp_path):
    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership

    other_owner = Membership.objects.get(workspace=other_workspace).user
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    job = import_upload(
        workspace=other_workspace, actor=Actor.for_user(other_owner), path=path, filename="p.csv"
    )
    for suffix in ["", "progress", "errors.csv"]:
        assert (
            owner_client.get(url(workspace, f"contacts/imports/{job.pk}/{suffix}")).status_code
            == 404
        )
    assert (
        owner_client.post(url(workspace, f"contacts/imports/{job.pk}/cancel/")).status_code == 404
    )
    assert (
        owner_client.post(
            url(workspace, f"contacts/imports/{job.pk}/preview"), mapping_post()
        ).status_code
        == 404
    )


def test_small_uploads_leave_no_temporary_copy(owner_client, workspace, settings):
    from leadflow.imports.files import imports_dir

    upload(owner_client, workspace)  # a small upload is held in memory, then copied
    job = ImportJob.objects.get()
    assert [path.name for path in imports_dir().iterdir()] == [job.path.rsplit("/", 1)[-1]]


# --- Excel uploads, hostile files, warnings, failures (issue 10) --------------------------


def xlsx_upload(client, workspace, content: bytes, name: str):
    file = SimpleUploadedFile(
        name,
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return client.post(url(workspace, "contacts/imports/"), {"file": file})


@pytest.mark.parametrize("held", ["in memory", "in a temporary file"])
def test_an_excel_upload_maps_and_imports_in_the_app_whatever_its_size(
    owner_client, workspace, settings, held
):
    content = workbooks.people(120)
    name = "people.xlsx"
    if held == "in a temporary file":
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = len(content) // 2
        name = "people export"  # told by its content, not by its name
    response = xlsx_upload(owner_client, workspace, content, name)
    assert response.status_code == 302, response.content.decode()[:500]
    job = ImportJob.objects.get()
    assert job.total_rows == 120 and job.path.endswith(".xlsx")
    page = owner_client.get(response.url)
    assert b"p0@initech.com" in page.content  # sample values read from the workbook
    owner_client.post(response.url, mapping_post(target_0="email", target_1="first_name",
                                                  target_2="company", action="start"))  # fmt: skip
    assert import_job_run(job_id=job.pk).created_count == 120


@pytest.mark.parametrize("content", [workbooks.zip_bomb, workbooks.entity_bomb])
def test_a_hostile_workbook_is_refused_on_the_upload_form(owner_client, workspace, content):
    response = xlsx_upload(owner_client, workspace, content(), "people.xlsx")
    assert response.status_code == 422
    assert b"Cannot read the Excel file" in response.content
    assert b'id="id_file_error"' in response.content
    assert not ImportJob.objects.exists()


TRADE_SHOW = (
    "Email,Vorname,Budget,Result,Created,Notes\n"
    'ann@initech.com,Ann,"12,000",won,31/12/2021,Met at the booth\n'
    "bob@initech.com,Bob,n/a,open,05/01/2022,\n"
    "not-an-email,Cid,10,lost,,\n"
)


def test_an_import_with_warnings_shows_them_and_opens_exactly_its_contacts(
    owner_client, workspace, owner_actor
):
    from leadflow.contacts.services import contact_upsert

    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "else@initech.com"})
    upload(owner_client, workspace, TRADE_SHOW)
    job = ImportJob.objects.get()
    assert (job.options["day_first"], job.options["day_first_from"]) == (True, "file")
    page = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/")).content.decode()
    assert "can only be read day first" in page
    assert '<option value="note" selected>' in page  # "Notes" guessed
    data = mapping_post(target_2="__new__", type_2="number", target_5="note", day_first="auto")
    preview = owner_client.post(url(workspace, f"contacts/imports/{job.pk}/preview"), data)
    assert preview.status_code == 200
    assert "Imported without: Result (Unknown outcome" in preview.content.decode()
    owner_client.post(url(workspace, f"contacts/imports/{job.pk}/"), data | {"action": "start"})
    import_job_run(job_id=job.pk)
    text = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/progress")).content.decode()
    assert "2 warnings" in text and "1 error" in text
    assert "Download the rows with problems (CSV)" in text
    assert f"contacts/?import={job.pk}" in text
    listing = owner_client.get(url(workspace, f"contacts/?import={job.pk}")).content.decode()
    assert "ann@initech.com" in listing and "bob@initech.com" in listing
    assert "else@initech.com" not in listing
    assert "Showing the contacts one import created or updated" in listing
    bob = Contact.objects.get(email="bob@initech.com")
    assert bob.custom_fields == {} and bob.created_at.date().isoformat() == "2022-01-05"


def test_drafts_are_listed_under_recent_imports(owner_client, workspace):
    upload(owner_client, workspace)
    job = ImportJob.objects.get()
    listing = owner_client.get(url(workspace, "contacts/imports/")).content.decode()
    assert url(workspace, f"contacts/imports/{job.pk}/") in listing
    assert "not started" in listing and ">Draft<" in listing


def test_a_failed_import_shows_its_reason_and_stops_polling(owner_client, workspace):
    import datetime as dt

    from django.utils import timezone

    upload(owner_client, workspace)
    job = ImportJob.objects.get()
    owner_client.post(url(workspace, f"contacts/imports/{job.pk}/"), mapping_post(action="start"))
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", started_at=long_ago, heartbeat_at=long_ago
    )
    text = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/progress")).content.decode()
    assert "Import failed" in text and "every 1s" not in text
    assert "The worker stopped without finishing" in text and 'role="alert"' in text
    assert "Resume from row 2" in text
    response = owner_client.post(url(workspace, f"contacts/imports/{job.pk}/resume/"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.message) == ("queued", "")
    assert import_job_run(job_id=job.pk).status == "done"
