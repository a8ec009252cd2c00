"""Settings → Lead sources in the app: roles, create, edit, rotate, delete, the delivery
log and replay; another workspace's ids answer 404."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.inbound import services
from leadflow.inbound.models import Delivery, DeliveryStatus, LeadSource
from tests.inbound.conftest import leadflow_headers, meta_headers, post, sample_bytes


def url(workspace, path=""):
    return f"/w/{workspace.slug}/settings/lead-sources/{path}"


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("marketer", True), ("sales", False), ("viewer", False)]
)
def test_roles(client_for, workspace, make_source, role, allowed):
    source = make_source("google")
    client, _ = client_for(role)
    expected = 200 if allowed else 403
    assert client.get(url(workspace)).status_code == expected
    assert client.get(url(workspace, f"{source.pk}/")).status_code == expected
    assert client.get(url(workspace, f"{source.pk}/deliveries/")).status_code == expected
    response = client.post(url(workspace), {"name": "New", "format": "generic"})
    assert response.status_code == (302 if allowed else 403)
    if allowed:
        page = client.get(url(workspace)).content.decode()
        assert 'aria-current="page">Lead sources</a>' in page  # the settings nav link


def test_create_shows_url_and_secret(owner_client, workspace):
    response = owner_client.post(url(workspace), {"name": "Meta spring", "format": "facebook"})
    source = LeadSource.objects.get()
    assert response.status_code == 302 and response["Location"] == url(workspace, f"{source.pk}/")
    page = owner_client.get(response["Location"]).content.decode()
    assert f"/in/{source.key}" in page
    assert source.secret in page
    assert "Meta app secret" in page


def test_create_names_bad_fields(owner_client, workspace):
    response = owner_client.post(url(workspace), {"name": "", "format": "pigeon"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "A lead source needs a name." in page and "Choose one of" in page
    assert not LeadSource.objects.exists()


def test_edit_mapping_defaults_and_app_secret(
    owner_client, workspace, make_source, owner, team_size_field
):
    source = make_source("generic")
    form = {
        "name": "Partner portal",
        "mapping": json.dumps(
            {"fields": {"contact.email": "email", "size": "custom_fields.team_size"}}
        ),
        "default_tags": "partner, q1",
        "default_lifecycle_stage": "mql",
        "default_owner_id": str(owner.pk),
        "is_active": "on",
    }
    response = owner_client.post(url(workspace, f"{source.pk}/"), form)
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.mapping["fields"]["size"] == "custom_fields.team_size"
    assert source.default_tags == ["partner", "q1"]
    assert (source.default_lifecycle_stage, source.default_owner_id) == ("mql", owner.pk)


def test_edit_errors_are_shown_and_nothing_changes(owner_client, workspace, make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}})
    bad = owner_client.post(
        url(workspace, f"{source.pk}/"),
        {"name": "x", "mapping": json.dumps({"fields": {"a": "shoe_size"}}), "is_active": "on"},
    )
    assert bad.status_code == 422
    assert "Unknown target" in bad.content.decode()
    not_json = owner_client.post(url(workspace, f"{source.pk}/"), {"name": "x", "mapping": "{"})
    assert not_json.status_code == 422 and "Not valid JSON" in not_json.content.decode()
    source.refresh_from_db()
    assert source.mapping == {"fields": {"email": "email"}} and source.name != "x"


def test_app_secret_blank_keeps_it(owner_client, workspace, make_source):
    source = make_source("facebook")
    kept = source.app_secret
    owner_client.post(url(workspace, f"{source.pk}/"), {"name": "Meta", "is_active": "on"})
    source.refresh_from_db()
    assert source.app_secret == kept
    assert kept not in owner_client.get(url(workspace, f"{source.pk}/")).content.decode()


def test_rotate_and_delete(owner_client, workspace, make_source):
    source = make_source("google")
    old = source.secret
    owner_client.post(url(workspace, f"{source.pk}/rotate-secret/"))
    source.refresh_from_db()
    assert source.secret != old and source.previous_secret == old
    response = owner_client.post(url(workspace, f"{source.pk}/delete/"))
    assert response.status_code == 302 and not LeadSource.objects.exists()


def test_delivery_log_filter_detail_and_replay(owner_client, workspace, make_source):
    source = make_source("generic", mapping={"fields": {"mail": "email"}, "lead_id": "id"})
    body = json.dumps({"id": "L-9", "email": "<b>kim</b>@kite-labs.io"}).encode()
    post(source, body, leadflow_headers(body, source.secret))
    good = json.dumps({"id": "L-10", "mail": "lou@kite-labs.io"}).encode()
    post(source, good, leadflow_headers(good, source.secret))
    rejected = Delivery.objects.get(external_lead_id="L-9")
    log = owner_client.get(url(workspace, f"{source.pk}/deliveries/?status=rejected"))
    assert log.status_code == 200
    page = log.content.decode()
    assert "L-9" in page and "L-10" not in page
    detail = owner_client.get(url(workspace, f"{source.pk}/deliveries/{rejected.pk}/"))
    text = detail.content.decode()
    assert "&lt;b&gt;kim&lt;/b&gt;" in text and "<b>kim</b>" not in text  # escaped
    assert "No email or phone number" in text
    source.mapping = {"fields": {"email": "email"}, "lead_id": "id"}
    source.save()
    replay = owner_client.post(url(workspace, f"{source.pk}/deliveries/{rejected.pk}/replay/"))
    assert replay.status_code == 302
    rejected.refresh_from_db()
    # The body's address is invalid, so the fixed mapping still names the bad field.
    assert rejected.status == DeliveryStatus.REJECTED and rejected.replay_count == 1
    assert rejected.reasons[0]["field"] == "email"


def test_replay_of_an_unverified_delivery_needs_an_admin(
    client_for, owner_client, workspace, make_source
):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    post(source, body, meta_headers(body, "wrong"))
    delivery = Delivery.objects.get()
    path = url(workspace, f"{source.pk}/deliveries/{delivery.pk}/replay/")
    marketer, _ = client_for("marketer")
    marketer.post(path, {"force": "on"})
    assert not Contact.objects.exists()
    owner_client.post(path)  # without force: refused with a message
    assert not Contact.objects.exists()
    owner_client.post(path, {"force": "on"})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and Contact.objects.count() == 1


def test_delivery_log_query_count_does_not_grow(owner_client, workspace, make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}, "lead_id": "id"})

    def send(number):
        body = json.dumps({"id": f"n{number}", "email": f"p{number}@kite-labs.io"}).encode()
        post(source, body, leadflow_headers(body, source.secret))

    send(0)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(url(workspace, f"{source.pk}/deliveries/"))
    for number in range(1, 8):
        send(number)
    with CaptureQueriesContext(connection) as many:
        owner_client.get(url(workspace, f"{source.pk}/deliveries/"))
    assert len(many) == len(few)


def test_another_workspaces_source_answers_404(owner_client, workspace, other_workspace):
    other = services.lead_source_create(
        workspace=other_workspace, data={"name": "Theirs", "format": "google"}, actor=Actor.system()
    )
    for path in (f"{other.pk}/", f"{other.pk}/deliveries/"):
        assert owner_client.get(url(workspace, path)).status_code == 404
    assert owner_client.post(url(workspace, f"{other.pk}/rotate-secret/")).status_code == 404
    assert owner_client.post(url(workspace, f"{other.pk}/delete/")).status_code == 404
    assert LeadSource.objects.filter(pk=other.pk).exists()


def test_the_lead_form_submission_shows_on_the_contact_timeline(
    owner_client, workspace, make_source
):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    contact_id = post(source, body, meta_headers(body)).json()["contact_id"]
    page = owner_client.get(f"/w/{workspace.slug}/contacts/{contact_id}/").content.decode()
    assert "Submitted Facebook lead form 1617593731585131" in page
    assert "Honda" in page and "6045135215983" in page


def test_marketers_reach_lead_sources_from_the_sidebar(client_for, workspace):
    marketer, _ = client_for("marketer")
    page = marketer.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert f'href="/w/{workspace.slug}/settings/lead-sources/"' in page
    viewer, _ = client_for("viewer")
    page = viewer.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert "lead-sources" not in page
