"""Settings → Bounces in the app: the mailbox settings (saved, refused beside their field),
the test button against the real IMAP server, the webhook URLs and their replacement, the
recent bounces with their contact; changing needs ``manage_settings``; the page's queries
do not grow with the bounces shown."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.services import contact_upsert
from leadflow.core.models import AuditEntry
from leadflow.nurture.models import BounceSettings
from leadflow.nurture.services.bounce_settings import webhook_path
from leadflow.nurture.services.bounces import bounce_record, dedupe_key
from tests.nurture.bounce_kit import PASSWORD, USER, imap_env, imap_server  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def _url(workspace):
    return f"/w/{workspace.slug}/settings/bounces/"


def test_the_page_shows_the_webhook_urls_and_replaces_them(workspace, owner_client):
    page = owner_client.get(_url(workspace)).content.decode()
    path = webhook_path(workspace, "postmark")
    assert path in page and "Amazon SES" in page

    assert owner_client.post(_url(workspace), {"action": "rotate"}).status_code == 302
    page = owner_client.get(_url(workspace)).content.decode()
    assert path not in page and webhook_path(workspace, "postmark") in page
    assert AuditEntry.objects.filter(action="bounce_settings.webhooks_rotated").exists()


def test_settings_are_saved_and_a_refused_one_is_named_beside_its_field(workspace, owner_client):
    form = {
        "action": "settings", "mailbox_kind": "imap", "host": "imap.acme-widgets.com",
        "port": "993", "tls_mode": "ssl", "username": USER,
        "password_env": imap_env(workspace, "MAIN"), "folder": "INBOX", "maildir_name": "",
        "soft_bounce_limit": "4", "mailgun_key_env": "",
    }  # fmt: skip
    assert owner_client.post(_url(workspace), form).status_code == 302
    found = BounceSettings.objects.get(workspace=workspace)
    assert (found.host, found.soft_bounce_limit) == ("imap.acme-widgets.com", 4)

    refused = owner_client.post(_url(workspace), {**form, "password_env": "SECRET_KEY"})
    assert refused.status_code == 422
    assert 'id="id_password_env_error"' in refused.content.decode()
    refused = owner_client.post(_url(workspace), {**form, "soft_bounce_limit": "many"})
    assert refused.status_code == 422
    assert BounceSettings.objects.get(workspace=workspace).password_env.endswith("_MAIN")


def test_the_test_button_reads_the_real_mailbox(workspace, owner_client, imap_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv(imap_env(workspace, "PAGE"), "wrong")
    owner_client.post(
        _url(workspace),
        {"action": "settings", "mailbox_kind": "imap", "host": "127.0.0.1",
         "port": str(imap_server.port), "tls_mode": "none", "username": USER,
         "password_env": imap_env(workspace, "PAGE"), "folder": "INBOX",
         "soft_bounce_limit": "3"},
    )  # fmt: skip
    refused = owner_client.post(_url(workspace), {"action": "test"})
    assert refused.status_code == 422 and "could not be read" in refused.content.decode()

    monkeypatch.setenv(imap_env(workspace, "PAGE"), PASSWORD)
    opened = owner_client.post(_url(workspace), {"action": "test"}, follow=True)
    assert "The mailbox opened" in opened.content.decode()


def test_recent_bounces_name_their_contact_in_a_fixed_number_of_queries(
    workspace, owner_actor, owner_client
):
    def add(number, start):
        for i in range(start, start + number):
            contact_upsert(
                workspace=workspace, data={"email": f"p{i}@example.org", "first_name": f"P{i}"},
                actor=owner_actor,
            )  # fmt: skip
            bounce_record(
                workspace=workspace, kind="hard", source="mailbox", key=dedupe_key("p", i),
                address=f"p{i}@example.org", status="5.1.1", diagnostic="User unknown",
            )  # fmt: skip

    add(1, 0)
    with CaptureQueriesContext(connection) as few:
        page = owner_client.get(_url(workspace)).content.decode()
    assert "P0" in page and "5.1.1 User unknown" in page
    add(4, 1)
    with CaptureQueriesContext(connection) as many:
        page = owner_client.get(_url(workspace)).content.decode()
    assert "P4" in page
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_viewer_reads_but_cannot_change_or_see_the_urls(workspace, make_member):
    client = Client()
    client.force_login(make_member("viewer").user)
    page = client.get(_url(workspace))
    assert page.status_code == 200
    assert webhook_path(workspace, "postmark") not in page.content.decode()
    assert client.post(_url(workspace), {"action": "rotate"}).status_code == 403
    assert client.post(_url(workspace), {"action": "settings"}).status_code == 403
    assert not BounceSettings.objects.exists()
