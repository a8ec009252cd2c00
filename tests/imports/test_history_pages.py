"""The activities import's pages: upload as activities, the mapping page with its targets,
the preview, start, progress, the problems file, and the roles that may import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadflow.contacts.services import contact_upsert
from leadflow.imports.models import ImportJob
from leadflow.imports.run import import_job_run
from leadflow.tracking.models import Event
from tests.web.conftest import url

CSV = (
    "Email,Type,Subject,When,Campaign\n"
    "ann@initech.com,email_open,Spring <b>news</b>,2021-01-31 10:00,spring\n"
    "eve@initech.com,call,Intro,2021-02-01,\n"
)


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture(autouse=True)
def _ten_years_of_events(workspace):
    """History from 2020 on: the workspace keeps events for ten years."""
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])


@pytest.fixture
def ann(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "ann@initech.com"}
    ).contact


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def sales_client(make_member):
    client = Client()
    client.force_login(make_member("sales").user)
    return client


def upload(client, workspace, kind="activities"):
    file = SimpleUploadedFile("history.csv", CSV.encode(), content_type="text/csv")
    return client.post(url(workspace, "contacts/imports/"), {"file": file, "kind": kind})


def posted(**overrides):
    return {
        "target_0": "contact_email",
        "target_1": "type",
        "target_2": "name",
        "target_3": "occurred_at",
        "target_4": "property",
        "event_type": "",
        "day_first": "auto",
    } | overrides


def test_upload_map_preview_start_and_read_the_problems(owner_client, workspace, ann):
    response = upload(owner_client, workspace)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.kind == "activities"
    page = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/"))
    assert page.status_code == 200
    assert b"Map the activities of history.csv" in page.content
    assert b'<option value="occurred_at" selected>' in page.content

    preview = owner_client.post(url(workspace, f"contacts/imports/{job.pk}/preview"), posted())
    assert preview.status_code == 200
    assert b"Spring &lt;b&gt;news&lt;/b&gt;" in preview.content  # escaped
    assert b"Email opened" in preview.content and b"2021-01-31 10:00" in preview.content
    assert b"No contact of this workspace has this email" in preview.content
    assert Event.objects.count() == 0

    bad = owner_client.post(
        url(workspace, f"contacts/imports/{job.pk}/"), posted(target_3="", action="save")
    )
    assert bad.status_code == 422 and b"time of the activity" in bad.content

    started = owner_client.post(
        url(workspace, f"contacts/imports/{job.pk}/"), posted(action="start")
    )
    assert started.status_code == 302
    job = import_job_run(job_id=job.pk)
    assert (job.created_count, job.failed_count) == (1, 1)
    event = Event.objects.get()
    assert (event.contact_id, event.properties) == (ann.pk, {"Campaign": "spring"})
    progress = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/"))
    assert b"Activities stored" in progress.content
    errors = owner_client.get(url(workspace, f"contacts/imports/{job.pk}/errors.csv"))
    text = b"".join(errors.streaming_content if errors.streaming else [errors.content]).decode()
    assert "eve@initech.com" in text and "Email: No contact of this workspace" in text


def test_a_sales_member_may_not_import_activities(sales_client, workspace, ann):
    assert upload(sales_client, workspace).status_code == 403
    assert not ImportJob.objects.exists()


def test_an_unknown_kind_is_a_field_error(owner_client, workspace):
    response = upload(owner_client, workspace, kind="deals")
    assert response.status_code == 422 and b"Contacts or activities" in response.content
    assert not ImportJob.objects.exists()
