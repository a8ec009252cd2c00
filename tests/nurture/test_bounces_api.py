"""Bounces over the API: the list (newest first, tenant-scoped, no N+1), the settings with
each provider's webhook URL, refused settings naming their field, the mailbox's test
button against the real IMAP server, and the rotation that revokes the old URLs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.nurture.models import Bounce, BounceSettings
from leadflow.nurture.services.bounces import bounce_record, dedupe_key
from tests.nurture.bounce_kit import PASSWORD, USER, imap_env, imap_server  # noqa: F401

pytestmark = pytest.mark.django_db


def add_bounces(workspace, number: int, kind="hard"):
    for i in range(number):
        bounce_record(
            workspace=workspace, kind=kind, source="mailbox", key=dedupe_key("t", kind, i),
            address=f"gone{i}@example.org", status="5.1.1", diagnostic="User unknown",
        )  # fmt: skip


def test_the_list_is_newest_first_scoped_and_its_queries_are_pinned(
    api, other_api, workspace, other_workspace
):
    add_bounces(workspace, 3)
    add_bounces(other_workspace, 2, kind="complaint")

    page = api.get("/nurture/bounces?limit=2").json()
    assert [item["kind"] for item in page["items"]] == ["hard", "hard"]
    assert page["items"][0]["id"] > page["items"][1]["id"]
    assert page["items"][0]["suppressed"] is True and page["items"][0]["status_code"] == "5.1.1"
    rest = api.get(f"/nurture/bounces?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert [i["kind"] for i in other_api.get("/nurture/bounces").json()["items"]] == [
        "complaint", "complaint"
    ]  # fmt: skip
    assert api.get("/nurture/bounces?kind=complaint").json()["items"] == []

    with CaptureQueriesContext(connection) as few:
        api.get("/nurture/bounces")
    add_bounces(workspace, 5, kind="soft")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/nurture/bounces").json()["items"]) == 8
    assert len(many.captured_queries) == len(few.captured_queries)


def test_settings_carry_each_providers_webhook_url_and_rotation_revokes_them(
    api, workspace, client
):
    found = api.get("/nurture/bounces/settings").json()
    assert found["mailbox_kind"] == "none" and found["soft_bounce_limit"] == 3
    urls = found["webhook_urls"]
    assert set(urls) == {"amazon_ses", "postmark", "sendgrid", "mailgun"}
    assert urls["postmark"].startswith("http://testserver/hooks/email/postmark/")
    assert client.head(urls["postmark"]).status_code == 200

    rotated = api.post("/nurture/bounces/webhooks/rotate").json()["webhook_urls"]
    assert rotated["postmark"] != urls["postmark"]
    assert client.head(urls["postmark"]).status_code == 404
    assert client.head(rotated["postmark"]).status_code == 200


def test_settings_change_and_bad_ones_are_refused_naming_the_field(api, workspace):
    changed = api.patch("/nurture/bounces/settings", {"soft_bounce_limit": 5}).json()
    assert changed["soft_bounce_limit"] == 5
    for body, field in (
        ({"password_env": "SECRET_KEY"}, "password_env"),
        ({"mailbox_kind": "imap"}, "host"),
        ({"soft_bounce_limit": 0}, "soft_bounce_limit"),
        ({"mailbox_kind": "pop3"}, "mailbox_kind"),
        ({"port": -1}, "port"),
    ):
        response = api.patch("/nurture/bounces/settings", body)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]], body
    assert BounceSettings.objects.get(workspace=workspace).soft_bounce_limit == 5


def test_the_test_button_opens_the_real_mailbox(api, workspace, imap_server, monkeypatch):  # noqa: F811
    password_env = imap_env(workspace, "T")
    monkeypatch.setenv(password_env, PASSWORD)
    assert api.post("/nurture/bounces/settings/test").status_code == 422
    api.patch(
        "/nurture/bounces/settings",
        {"mailbox_kind": "imap", "host": "127.0.0.1", "port": imap_server.port,
         "tls_mode": "none", "username": USER, "password_env": password_env},
    )  # fmt: skip
    imap_server.empty()
    imap_server.deliver(b"From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n")

    assert api.post("/nurture/bounces/settings/test").json() == {"waiting": 1}
    monkeypatch.setenv(password_env, "wrong")
    refused = api.post("/nurture/bounces/settings/test")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "mailbox"


def test_scopes_are_enforced(api_key_for, workspace):
    reader = api_key_for(workspace, scopes=["contacts:read"])
    assert reader.get("/nurture/bounces").status_code == 200
    assert reader.get("/nurture/bounces/settings").status_code == 403
    assert reader.patch("/nurture/bounces/settings", {"soft_bounce_limit": 4}).status_code == 403
    assert not Bounce.objects.exists() and not BounceSettings.objects.exists()
