"""Fixtures for inbound lead webhooks: recorded sample payloads, sources, signed posts."""

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from django.test import Client

from leadflow.inbound import services
from tests.web.conftest import client_for, owner_client  # noqa: F401 - the app's clients

SAMPLES = Path(__file__).parent / "samples"
META_APP_SECRET = "meta-app-secret-0123456789abcdef"
LINKEDIN_CLIENT_SECRET = "linkedin-client-secret-abcdef"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def sample_bytes(name: str) -> bytes:
    """The recorded body exactly as stored (signatures are over these bytes)."""
    return (SAMPLES / f"{name}.json").read_bytes()


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def meta_headers(body: bytes, secret: str = META_APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac_hex(secret, body)}


def linkedin_headers(body: bytes, secret: str = LINKEDIN_CLIENT_SECRET) -> dict[str, str]:
    return {"X-LI-Signature": hmac_hex(secret, b"hmacsha256=" + body)}


def leadflow_headers(body: bytes, secret: str) -> dict[str, str]:
    return {"X-LeadFlow-Signature": "sha256=" + hmac_hex(secret, body)}


def google_body(secret: str, **changes) -> bytes:
    payload = {**sample("google_lead"), "google_key": secret, **changes}
    return json.dumps(payload).encode()


@pytest.fixture
def make_source(workspace, owner_actor):
    def make(source_format: str, **data):
        data.setdefault("name", f"{source_format.title()} ads")
        if source_format == "facebook":
            data.setdefault("app_secret", META_APP_SECRET)
        if source_format == "linkedin":
            data.setdefault("app_secret", LINKEDIN_CLIENT_SECRET)
        return services.lead_source_create(
            workspace=workspace, data={"format": source_format, **data}, actor=owner_actor
        )

    return make


GENERIC_MAPPING = {
    "fields": {
        "contact.email": "email",
        "contact.name": "full_name",
        "contact.phone": "phone",
        "answers.team_size": "custom_fields.team_size",
        "interests": "tags",
    },
    "lead_id": "event_id",
    "attribution": {"campaign": "utm.campaign"},
}


@pytest.fixture
def team_size_field(workspace):
    from leadflow.contacts.models import CustomField

    return CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )


def post(source, body: bytes, headers: dict[str, str] | None = None, client: Client | None = None):
    return (client or Client()).post(
        f"/in/{source.key}", data=body, content_type="application/json", headers=headers or {}
    )


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """Rate-limit buckets are keyed by source id, and ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
