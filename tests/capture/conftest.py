import json
import uuid

import pytest
from django.test import Client

from leadflow.capture import services
from leadflow.contacts.models import CustomField
from leadflow.core.actors import Actor

CONSENT_TEXT = "I agree that Acme may email me about its products. I can unsubscribe anytime."


def lead_form_fields():
    return [
        {
            "name": "email",
            "type": "email",
            "label": "Work email",
            "required": True,
            "maps_to": "email",
            "block_disposable": True,
            "blocked_domains": ["competitor.com"],
        },
        {"name": "first_name", "type": "text", "label": "First name", "maps_to": "first_name"},
        {"name": "phone", "type": "phone", "label": "Phone", "maps_to": "phone"},
        {
            "name": "team_size",
            "type": "number",
            "label": "Team size",
            "min": 1,
            "max": 100000,
            "maps_to": "custom_fields.team_size",
        },
        {
            "name": "interest",
            "type": "select",
            "label": "Interest",
            "options": ["Demo", "Pricing", "Support"],
            "required": True,
        },
        {
            "name": "channels",
            "type": "checkboxes",
            "label": "Reach me by",
            "options": ["Email", "Phone"],
        },
        {"name": "timeline", "type": "radio", "label": "When", "options": ["Now", "Later"]},
        {"name": "start", "type": "date", "label": "Start date"},
        {"name": "message", "type": "textarea", "label": "Message", "max_length": 200},
        {"name": "utm_source", "type": "hidden", "default": "website"},
        {"name": "consent", "type": "consent", "required": True, "consent_text": CONSENT_TEXT},
    ]


@pytest.fixture
def lead_form(workspace, owner_actor):
    CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )
    return services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Book a demo",
            "fields": lead_form_fields(),
            "tags": ["demo-request"],
            "lifecycle_stage": "mql",
            "source_label": "website",
            "min_fill_seconds": 0,
        },
    )


def good_fields(**overrides):
    fields = {
        "email": "Jane@Initech.com",
        "first_name": "Jane",
        "phone": "07911 123456",
        "team_size": "25",
        "interest": "Demo",
        "channels": ["Email"],
        "timeline": "Now",
        "start": "2027-01-15",
        "message": "Hello",
        "consent": True,
    }
    fields.update(overrides)
    return fields


class PublicClient:
    """A browser-like client of the public form endpoint (JSON, as form.js sends it)."""

    def __init__(self, form, origin: str | None = "https://www.acme-widgets.com"):
        self.client = Client(REMOTE_ADDR="203.0.113.7")
        self.form = form
        self.origin = origin

    def headers(self):
        return {"Origin": self.origin} if self.origin else {}

    def config(self):
        return self.client.get(f"/f/{self.form.key}/config", headers=self.headers())

    def submit(self, fields=None, *, submission_id=None, token="fresh", context=None, extra=None):
        if token == "fresh":
            token = self.config().json()["token"]
        body = {
            "fields": fields if fields is not None else good_fields(),
            "submission_id": str(submission_id or uuid.uuid4()),
            "context": context
            or {
                "page_url": "https://www.acme-widgets.com/demo",
                "referrer": "https://www.google.com/",
                "utm": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"},
                "visitor_id": "v-123",
            },
        }
        if token:
            body["token"] = token
        body.update(extra or {})
        return self.client.post(
            f"/f/{self.form.key}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers(),
        )


@pytest.fixture
def public(lead_form):
    return PublicClient(lead_form)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


__all__ = ["Actor"]
