"""Marketing email over the API: settings that never give a secret away, templates checked
in the sandbox, preview as a contact, messages sent once per contact, the review of unknown
deliveries; tenancy (another workspace's ids answer 404) and strict bodies (422)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import PASSWORD_ENV_PREFIX, Delivery
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = {
    "name": "Welcome",
    "subject": 'Hello {{ contact.first_name|default:"there" }}',
    "html_body": '<p>Hi {{ contact.first_name }} from {{ contact.company|default:"?" }}</p>'
    '<a href="https://acme.example/x">See it</a>',
}


def _identity(api, address="news@acme-widgets.com"):
    answer = api.post("/nurture/identities", {"from_name": "News", "from_address": address})
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def test_identities_are_the_workspaces_own_and_bodies_are_strict(api, other_api):
    identity_id = _identity(api)
    assert api.get(f"/nurture/identities/{identity_id}").json()["from_address"] == (
        "news@acme-widgets.com"
    )
    assert other_api.get(f"/nurture/identities/{identity_id}").status_code == 404
    assert (
        other_api.patch(f"/nurture/identities/{identity_id}", {"from_name": "x"}).status_code == 404
    )
    assert other_api.delete(f"/nurture/identities/{identity_id}").status_code == 404
    bad = api.post("/nurture/identities", {"from_address": "a@b.example", "colour": "red"})
    assert bad.status_code == 422
    bad = api.post("/nurture/identities", {"from_address": "not an address"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from_address"
    assert (
        api.post("/nurture/identities", {"from_address": "news@acme-widgets.com"}).status_code
        == 409
    )
    assert other_api.get("/nurture/identities").json() == []


def test_smtp_settings_name_their_secrets_and_never_return_one(api, workspace, monkeypatch):
    password_env = secret_name_base(workspace.pk, PASSWORD_ENV_PREFIX) + "_ACME"
    monkeypatch.setenv(password_env, "hunter2-secret")
    settings = {
        "host": "smtp.acme.example",
        "port": 2525,
        "tls_mode": "ssl",
        "username": "mailer",
        "password_env": password_env,
    }
    answer = api.put("/nurture/smtp-settings", settings)
    assert answer.status_code == 200, answer.content
    body = api.get("/nurture/smtp-settings")
    assert body.json()["password_set"] is True
    assert "hunter2-secret" not in body.content.decode()
    # Only the password prefix: the database URL or the site secret cannot be borrowed.
    refused = api.put("/nurture/smtp-settings", {**settings, "password_env": "SECRET_KEY"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "password_env"
    refused = api.put("/nurture/smtp-settings", {**settings, "dkim_key_file": "../../etc/x"})
    assert refused.status_code == 422
    assert api.put("/nurture/smtp-settings", {**settings, "password": "x"}).status_code == 422


def test_bad_template_syntax_is_a_422_naming_the_field_and_the_sandbox_has_no_load(api):
    bad = api.post(
        "/nurture/templates", {**TEMPLATE, "subject": "Hi {{ contact.first_name|shout }}"}
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["subject"]
    bad = api.post("/nurture/templates", {**TEMPLATE, "html_body": "{% load static %}{% debug %}"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "html_body"
    created = api.post("/nurture/templates", TEMPLATE)
    assert created.status_code == 201
    template_id = created.json()["id"]
    bad = api.patch(f"/nurture/templates/{template_id}", {"text_body": "{% if %}"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "text_body"


def test_preview_renders_as_the_chosen_contact_escaped_and_only_in_the_workspace(
    api, other_api, workspace, other_workspace
):
    template_id = api.post("/nurture/templates", TEMPLATE).json()["id"]
    (contact_id,) = sending_kit.contacts_make(workspace, 1)
    from leadflow.contacts.models import Contact

    Contact.objects.filter(pk=contact_id).update(first_name="<b>Ann</b>")
    (foreign,) = sending_kit.contacts_make(other_workspace, 1, start=50)

    preview = api.post(f"/nurture/templates/{template_id}/preview", {"contact_id": contact_id})
    assert preview.status_code == 200
    body = preview.json()
    assert body["subject"] == "Hello <b>Ann</b>"
    assert "Hi &lt;b&gt;Ann&lt;/b&gt; from ?" in body["html"]
    assert "See it (https://acme.example/x)" in body["text"]
    assert (
        api.post(f"/nurture/templates/{template_id}/preview", {"contact_id": foreign}).status_code
        == 404
    )
    assert (
        other_api.post(
            f"/nurture/templates/{template_id}/preview", {"contact_id": foreign}
        ).status_code
        == 404
    )


def test_a_message_goes_once_per_contact_counts_and_the_review_requeues_or_drops(
    api, other_api, workspace, other_workspace
):
    identity_id = _identity(api)
    template_id = api.post("/nurture/templates", TEMPLATE).json()["id"]
    created = api.post(
        "/nurture/messages",
        {"name": "Spring", "template_id": template_id, "identity_id": identity_id},
    )
    assert created.status_code == 201
    message_id = created.json()["id"]
    ids = sending_kit.contacts_make(workspace, 4)
    (foreign,) = sending_kit.contacts_make(other_workspace, 1, start=90)
    send = api.post(f"/nurture/messages/{message_id}/send", {"contact_ids": [*ids, foreign]})
    assert send.json() == {"queued": 4}
    again = api.post(f"/nurture/messages/{message_id}/send", {"contact_ids": ids})
    assert again.json() == {"queued": 0}
    assert (
        other_api.post(
            f"/nurture/messages/{message_id}/send", {"contact_ids": [foreign]}
        ).status_code
        == 404
    )
    assert other_api.get(f"/nurture/messages/{message_id}").status_code == 404
    refused = other_api.post(
        "/nurture/messages", {"name": "x", "template_id": template_id, "identity_id": identity_id}
    )
    assert refused.status_code == 422

    counts = api.get(f"/nurture/messages/{message_id}").json()["counts"]
    assert counts["queued"] == 4 and counts["sent"] == 0

    # Two deliveries were in flight when their worker died: parked for review.
    first, second = Delivery.objects.order_by("id")[:2]
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(status="unknown")
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/nurture/deliveries?status=unknown")
    assert len(queries) <= 12  # no query per row
    assert [row["id"] for row in listed.json()["items"]] == [first.pk, second.pk]
    assert other_api.get("/nurture/deliveries?status=unknown").json()["items"] == []
    nothing = other_api.post(
        "/nurture/deliveries/review", {"delivery_ids": [first.pk], "decision": "drop"}
    )
    assert nothing.json() == {"changed": 0}
    dropped = api.post(
        "/nurture/deliveries/review", {"delivery_ids": [first.pk], "decision": "drop"}
    )
    assert dropped.json() == {"changed": 1}
    requeued = api.post(
        "/nurture/deliveries/review", {"delivery_ids": [first.pk, second.pk], "decision": "requeue"}
    )
    assert requeued.json() == {"changed": 1}  # the dropped one stays dropped
    statuses = dict(Delivery.objects.values_list("id", "status"))
    assert statuses[first.pk] == "dropped" and statuses[second.pk] == "queued"
    bad = api.post("/nurture/deliveries/review", {"delivery_ids": [1], "decision": "resend"})
    assert bad.status_code == 422


def test_the_test_send_goes_through_the_workspaces_server_now(api, workspace):
    controller, inbox = sending_kit.smtp_server()
    try:
        identity_id = _identity(api)
        api.put(
            "/nurture/smtp-settings",
            {"host": "127.0.0.1", "port": controller.port, "tls_mode": "none"},
        )
        answer = api.post(
            "/nurture/smtp-settings/test", {"identity_id": identity_id, "to": "me@acme-widgets.com"}
        )
        assert answer.status_code == 200, answer.content
        (received,) = inbox.messages()
        assert received["Message-ID"].strip() == answer.json()["message_id"]
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    finally:
        controller.stop()
    down = api.post(
        "/nurture/smtp-settings/test", {"identity_id": identity_id, "to": "me@acme-widgets.com"}
    )
    assert down.status_code == 422 and down.json()["errors"][0]["field"] == "smtp"
