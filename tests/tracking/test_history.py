"""The history import by API and service: past activities stored as events of their
contacts, idempotent by client id, with per-row errors (tracking.history)."""

import datetime as dt
import uuid

import pytest
from django.db import transaction

from leadflow.contacts.services import contact_upsert, custom_field_create
from leadflow.core.errors import PermissionDenied, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.tracking import history, listeners
from leadflow.tracking.history import history_event_id, history_ingest
from leadflow.tracking.models import Event, EventId
from leadflow.tracking.services import PUBLIC_TYPES, events_ingest


@pytest.fixture(autouse=True)
def _ten_years_of_events(workspace):
    """History from 2020 on: the workspace keeps events for ten years."""
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])


@pytest.fixture
def ada(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ada@example.com", "phone": "+44 20 7946 0018"},
    ).contact


@pytest.fixture
def heard():
    """What the events listeners hear, as (workspace id, contact ids)."""
    calls: list[tuple[int, set[int]]] = []

    def listener(workspace_id, contact_ids):
        calls.append((workspace_id, contact_ids))

    listeners.EVENTS_LISTENERS.append(listener)
    yield calls
    listeners.EVENTS_LISTENERS.remove(listener)


def activity(**values):
    return {
        "id": "crm-1",
        "email": "ada@example.com",
        "type": "email_open",
        "name": "Spring newsletter",
        "occurred_at": "2021-03-04T10:00:00Z",
        **values,
    }


def test_past_activities_are_stored_with_their_original_time_and_retries_store_nothing(
    api, workspace, ada, heard, django_capture_on_commit_callbacks
):
    body = {
        "activities": [
            activity(),
            activity(id="crm-2", type="webinar_attended", properties={"webinar": "Pricing 101"}),
            activity(id=str(uuid.uuid4()), type="call", phone="020 7946 0018", email=None),
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/activities/bulk", body)
    assert first.status_code == 200, first.content
    assert first.json() == {"accepted": 3, "duplicates": 0, "errors": []}
    events = Event.objects.filter(workspace=workspace).order_by("event_type")
    assert [(e.event_type, e.contact_id, e.visitor_id, e.session_id) for e in events] == [
        ("call", ada.pk, None, None),
        ("email_open", ada.pk, None, None),
        ("webinar_attended", ada.pk, None, None),
    ]
    opened = events.get(event_type="email_open")
    assert opened.occurred_at == dt.datetime(2021, 3, 4, 10, tzinfo=dt.UTC)
    assert opened.event_id == history_event_id(workspace.pk, "crm-1")
    assert events.get(event_type="webinar_attended").properties == {"webinar": "Pricing 101"}
    assert heard == [(workspace.pk, {ada.pk})]

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post("/activities/bulk", body)
    assert again.json() == {"accepted": 0, "duplicates": 3, "errors": []}
    assert Event.objects.filter(workspace=workspace).count() == 3
    assert len(heard) == 1  # nothing new: nobody to rescore


def test_the_same_key_replays_the_first_answer(api, workspace, ada):
    body = {"activities": [activity()]}
    headers = {"Idempotency-Key": "history-1"}
    first = api.post("/activities/bulk", body, headers=headers)
    replay = api.post("/activities/bulk", body, headers=headers)
    assert replay.json() == first.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_unknown_contacts_and_bad_fields_are_row_errors_and_the_good_rows_are_stored(
    api, workspace, other_workspace, ada, owner_actor
):
    stranger = contact_upsert(
        workspace=other_workspace, actor=owner_actor, data={"email": "eve@example.com"}
    ).contact
    rows = [
        activity(),
        activity(id="2", email="nobody@example.com"),
        activity(id="3", email=None, contact_id=stranger.pk),  # another workspace's
        activity(id="4", type="identify"),
        activity(id="5", occurred_at="yesterday"),
        activity(id="6", occurred_at="2999-01-01T00:00:00Z"),
        activity(id="7", email=None),
        activity(id="8", colour="blue"),
        activity(id="", email="not-an-email"),
        activity(id="10", properties=[1, 2]),
        activity(
            id="11",
            properties={
                "deep": {
                    "a": {
                        "b": {
                            "c": {
                                "d": {
                                    "e": {
                                        "f": {
                                            "g": {
                                                "h": {
                                                    "i": {
                                                        "j": {
                                                            "k": {
                                                                "l": {"m": {"n": {"o": {"p": 1}}}}
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
        activity(id="12", properties={"big": "x" * 5000}),
        activity(id="13", name="n" * 201),
        activity(id="14", occurred_at="2012-01-01T00:00:00Z"),  # beyond the retention
    ]
    response = api.post("/activities/bulk", {"activities": rows})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    errors = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert errors == {
        (1, "email"),
        (2, "contact_id"),
        (3, "type"),
        (4, "occurred_at"),
        (5, "occurred_at"),
        (6, "contact"),
        (7, "colour"),
        (8, "id"),
        (8, "email"),
        (9, "properties"),
        (10, "properties"),
        (11, "properties"),
        (12, "name"),
        (13, "occurred_at"),
    }
    messages = {e["index"]: e["message"] for e in response.json()["errors"]}
    assert "workspace" in messages[2] and str(stranger.pk) not in messages[2]
    assert "3,650 days" in messages[13]
    assert not Event.objects.filter(contact_id=stranger.pk).exists()


def test_a_malformed_body_or_more_than_a_thousand_rows_is_a_422_naming_the_field(api, ada):
    too_many = api.post(
        "/activities/bulk", {"activities": [activity(id=str(n)) for n in range(1001)]}
    )
    assert too_many.status_code == 422
    assert "activities" in str(too_many.json())
    assert api.post("/activities/bulk", {"rows": []}).status_code == 422
    assert api.post("/activities/bulk", "[1, 2").status_code == 422
    assert api.post("/activities/bulk", {"activities": "many"}).status_code == 422
    assert Event.objects.count() == 0


def test_the_endpoint_needs_the_contacts_write_scope(workspace, api_key_for, ada):
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ, ApiScope.EVENTS_WRITE])
    assert reader.post("/activities/bulk", {"activities": [activity()]}).status_code == 403
    assert Event.objects.count() == 0


def test_an_external_id_finds_its_contact_by_an_identifying_custom_field(
    api, workspace, owner_actor, ada
):
    custom_field_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "key": "crm_id",
            "label": "CRM id",
            "field_type": "text",
            "identifying": True,
            "match_type": "exact",
        },
    )
    custom_field_create(
        workspace=workspace,
        actor=owner_actor,
        data={"key": "colour", "label": "Colour", "field_type": "text"},
    )
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ada@example.com", "custom_fields": {"crm_id": "C-77", "colour": "red"}},
    )
    rows = [
        activity(email=None, external_id="C-77"),
        activity(id="2", email=None, external_id="C-0"),
    ]
    response = api.post("/activities/bulk", {"activities": rows, "external_field": "crm_id"})
    assert response.json()["accepted"] == 1
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "external_id",
            "message": "No contact of this workspace has this external id.",
        }
    ]
    assert Event.objects.get().contact_id == ada.pk
    not_identifying = api.post("/activities/bulk", {"activities": rows, "external_field": "colour"})
    assert not_identifying.status_code == 422
    assert not_identifying.json()["errors"][0]["field"] == "external_field"


def test_a_shared_phone_finds_the_contact_known_only_by_phone(workspace, owner_actor, ada):
    only_phone = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"phone": "+44 20 7946 0018"}
    ).contact
    result = history_ingest(
        workspace=workspace,
        rows=[activity(email=None, phone="+442079460018")],
        actor=owner_actor,
    )
    assert result.accepted == 1
    assert Event.objects.get().contact_id == only_phone.pk


def test_the_browser_tracker_may_not_send_history_types():
    assert not {"email_open", "call", "meeting", "purchase"} & PUBLIC_TYPES


def test_the_browser_tracker_keeps_its_seven_day_window(workspace):
    old = {
        "id": str(uuid.uuid4()),
        "type": "pageview",
        "ts": "2021-03-04T10:00:00Z",
        "visitor_id": "visitor-0001",
        "session_id": "session-0001",
    }
    result = events_ingest(workspace=workspace, batch={"events": [old]})
    assert result.accepted == 0 and result.errors[0]["field"] == "ts"


def test_a_client_id_is_scoped_to_its_workspace(workspace, other_workspace):
    assert history_event_id(workspace.pk, "crm-1") != history_event_id(other_workspace.pk, "crm-1")
    same = str(uuid.uuid4())
    assert history_event_id(workspace.pk, same) == uuid.UUID(same)


def test_a_viewer_may_not_import_history(workspace, make_member, ada):
    from leadflow.core.actors import Actor

    viewer = make_member("viewer")
    with pytest.raises(PermissionDenied):
        history_ingest(
            workspace=workspace, rows=[activity()], actor=Actor.for_user(viewer.user, viewer)
        )


def test_a_batch_that_is_not_a_list_or_too_long_is_refused(workspace, owner_actor):
    for rows in ({"a": 1}, [activity(id=str(n)) for n in range(history.MAX_ROWS + 1)]):
        with pytest.raises(ValidationFailed):
            history_ingest(workspace=workspace, rows=rows, actor=owner_actor)


@pytest.mark.django_db(transaction=True)
def test_listeners_hear_the_contacts_after_commit_and_nothing_on_rollback(
    workspace, owner_actor, ada, heard
):
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        history_ingest(workspace=workspace, rows=[activity()], actor=owner_actor)
        assert heard == []  # not before the commit
        raise Undo
    assert heard == [] and not EventId.objects.exists()
    with transaction.atomic():
        history_ingest(workspace=workspace, rows=[activity(id="x2")], actor=owner_actor)
        assert heard == []
    assert heard == [(workspace.pk, {ada.pk})]
