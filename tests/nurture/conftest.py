"""Helpers of nurture's tests: a contact with marketing consent and its unsubscribe link."""

from urllib.parse import urlsplit

import pytest

from leadflow.contacts.models import ConsentStatus
from leadflow.contacts.services import contact_upsert
from leadflow.nurture.links import UnsubscribeLink, unsubscribe_url


@pytest.fixture
def kim(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace,
        data={
            "email": "Kim@Initech.com",
            "first_name": "Kim",
            "consent_status": ConsentStatus.GRANTED,
        },
        actor=owner_actor,
    ).contact


@pytest.fixture
def link_of():
    """link_of(contact or (workspace, address)) -> the path of its unsubscribe link."""

    def make(contact=None, *, workspace=None, address=None, message_key="") -> str:
        link = UnsubscribeLink(
            workspace_id=workspace.pk if workspace else contact.workspace_id,
            contact_id=contact.pk if contact else None,
            address=address or contact.email,
            message_key=message_key,
        )
        return urlsplit(unsubscribe_url(link)).path

    return make


@pytest.fixture
def client_for(make_member):
    """client_for(role) -> a test client logged in as a new member with that role."""
    from django.test import Client

    def make(role):
        client = Client()
        client.force_login(make_member(role).user)
        return client

    return make


@pytest.fixture
def sms_provider(monkeypatch, workspace):
    """A real local HTTP server answering as a Twilio-compatible SMS API (sms_kit.Receiver:
    its ``received`` lists the posts), with the workspace's token in the environment."""
    import threading
    from http.server import ThreadingHTTPServer

    from tests.nurture.sms_kit import TOKEN, Receiver, token_env

    monkeypatch.setenv(token_env(workspace), TOKEN)
    Receiver.received = []
    Receiver.answer = 201
    Receiver.refusal = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
