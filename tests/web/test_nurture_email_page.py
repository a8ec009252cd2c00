"""Settings → Marketing email: who may change what, the test send through a real SMTP
server, and the review of unknown deliveries by hand."""

import pytest

from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import PASSWORD_ENV_PREFIX, Delivery, SmtpSettings
from leadflow.nurture.services import sending
from tests.nurture import sending_kit
from tests.web.conftest import url

pytestmark = pytest.mark.django_db(transaction=True)


def _unknown_delivery(workspace, port=25):
    message = sending_kit.message_make(workspace, port=port)
    ids = sending_kit.contacts_make(workspace, 2)
    sending.message_send(message=message, contact_ids=ids)
    Delivery.objects.filter(contact_id=ids[0]).update(
        status="unknown", address="person0@example.net"
    )
    return Delivery.objects.get(contact_id=ids[0])


def test_a_viewer_reads_the_page_but_changes_nothing(client_for, workspace):
    client, _ = client_for("viewer")
    page = client.get(url(workspace, "settings/marketing-email/"))
    assert page.status_code == 200
    assert b"Save mail settings" not in page.content
    refused = client.post(
        url(workspace, "settings/marketing-email/"),
        {"action": "smtp", "host": "evil.example", "port": "25", "tls_mode": "none"},
    )
    assert refused.status_code == 403
    assert not SmtpSettings.objects.filter(workspace=workspace).exists()


def test_a_non_member_gets_404(client_for, other_workspace):
    client, _ = client_for("marketer")
    assert client.get(url(other_workspace, "settings/marketing-email/")).status_code == 404


def test_the_owner_names_the_password_variable_and_a_bad_name_is_shown(owner_client, workspace):
    page = owner_client.post(
        url(workspace, "settings/marketing-email/"),
        {"action": "smtp", "host": "smtp.example", "port": "587", "tls_mode": "starttls",
         "password_env": "DATABASE_URL"},
    )  # fmt: skip
    assert page.status_code == 422
    base = secret_name_base(workspace.pk, PASSWORD_ENV_PREFIX)
    assert f"Name an environment variable {base} or {base}_…" in page.content.decode()


def test_the_test_send_reaches_the_server_and_the_review_requeues(owner_client, workspace):
    controller, inbox = sending_kit.smtp_server()
    try:
        delivery = _unknown_delivery(workspace, controller.port)
        page = owner_client.get(url(workspace, "settings/marketing-email/"))
        assert b"Deliveries to review (1)" in page.content
        assert b"person0@example.net" in page.content
        sent = owner_client.post(
            url(workspace, "settings/marketing-email/"),
            {"action": "test", "identity_id": str(delivery.message.identity_id),
             "to": "me@acme-widgets.com"},
            follow=True,
        )  # fmt: skip
        assert b"Test email sent" in sent.content
        assert [to for _, to in inbox.raw] == [["me@acme-widgets.com"]]
    finally:
        controller.stop()
    owner_client.post(
        url(workspace, "settings/marketing-email/"),
        {"action": "requeue", "delivery_id": [str(delivery.pk)]},
    )
    delivery.refresh_from_db()
    assert delivery.status == "queued" and delivery.reason == "Re-queued after review."
