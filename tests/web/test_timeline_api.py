"""The API's timeline (GET /api/v1/contacts/{id}/activities) and the app's timeline tell the
same history: every activity, and the contact's tracked visits among them."""

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.capture import services as capture_services
from leadflow.contacts.models import Contact, CustomField
from leadflow.contacts.services import contact_merge, contact_update, contact_upsert, note_add
from leadflow.web.views import contacts as contact_views
from tests.capture.conftest import PublicClient, good_fields, lead_form_fields
from tests.web import tracking_data
from tests.web.conftest import url


@pytest.fixture
def history(workspace, owner_actor):
    """A contact with a form submission, visits before and after it was identified, an edit,
    a note and a merge."""
    CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )
    form = capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Book a demo", "fields": lead_form_fields(), "min_fill_seconds": 0},
    )
    assert PublicClient(form).submit(good_fields()).status_code in (200, 201)
    contact = Contact.objects.get(workspace=workspace, email="jane@initech.com")
    browser = tracking_data.visitor(workspace, contact=contact)
    now = timezone.now()
    tracking_data.visit(
        workspace, browser, started_at=now - dt.timedelta(days=2), pages=["https://a.test/"]
    )
    tracking_data.visit(
        workspace,
        browser,
        started_at=now,
        channel="paid_search",
        source="google",
        medium="cpc",
        pages=["https://a.test/pricing", "https://a.test/demo"],
    )
    contact_update(
        workspace=workspace, contact_id=contact.pk, data={"job_title": "CTO"}, actor=owner_actor
    )
    note_add(workspace=workspace, contact_id=contact.pk, body="Call back", actor=owner_actor)
    other = contact_upsert(
        workspace=workspace, data={"email": "jane.doe@gmail.com"}, actor=owner_actor
    ).contact
    contact_merge(
        workspace=workspace, primary_id=contact.pk, secondary_id=other.pk, actor=owner_actor
    )
    return contact


def to_milliseconds(moment: dt.datetime) -> dt.datetime:
    """As precise as the API's JSON times."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def app_timeline(client, workspace, contact, query=""):
    response = client.get(
        url(workspace, f"contacts/{contact.pk}/{query}"),
        headers={"HX-Request": "true", "HX-Target": "timeline"},
    )
    assert response.status_code == 200
    entries = [
        ("visit", entry.session.pk, to_milliseconds(entry.occurred_at))
        if entry.kind == "visit"
        else (entry.kind, entry.activity.pk, to_milliseconds(entry.occurred_at))
        for entry in response.context["entries"]
    ]
    return entries, response.context["older_before"], response.context["older_until"]


def api_timeline(api, contact, query=""):
    response = api.get(f"/contacts/{contact.pk}/activities{query}")
    assert response.status_code == 200
    body = response.json()
    entries = [
        (
            item["kind"],
            item["data"]["visit_id"] if item["kind"] == "visit" else item["id"],
            dt.datetime.fromisoformat(item["occurred_at"]),
        )
        for item in body["items"]
    ]
    return entries, body["next_cursor"]


def test_the_api_timeline_shows_the_same_history_as_the_apps_including_visits(
    owner_client, api, workspace, history
):
    app, _, _ = app_timeline(owner_client, workspace, history)
    from_api, next_cursor = api_timeline(api, history)

    assert from_api == app
    assert next_cursor is None
    kinds = {kind for kind, _, _ in from_api}
    assert {"form.submitted", "visit", "contact.updated", "note.added", "contact.merged"} <= kinds
    assert [kind for kind, _, _ in from_api].count("visit") == 2


def test_the_api_and_the_app_page_the_timeline_alike_with_each_visit_on_one_page(
    owner_client, api, workspace, history, monkeypatch
):
    monkeypatch.setattr(contact_views, "TIMELINE_PAGE", 3)
    app_pages, api_pages = [], []
    query, cursor = "", ""
    while True:
        entries, before, until = app_timeline(owner_client, workspace, history, query)
        app_pages.append(entries)
        if before is None:
            break
        query = f"?before={before}&until={until.replace('+', '%2B')}"
    while True:
        entries, cursor = api_timeline(api, history, f"?limit=3{cursor and f'&cursor={cursor}'}")
        api_pages.append(entries)
        if cursor is None:
            break
    assert api_pages == app_pages
    assert len(app_pages) > 1
    visits = [entry for page in api_pages for entry in page if entry[0] == "visit"]
    assert len(visits) == 2
