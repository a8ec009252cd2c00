"""The history import's batch path (tracking.history): the event id written as text, the
properties' size measured as the JSON stored, and a batch that mixes known contacts,
unknown ones and repeated client ids counted row by row on both databases."""

import uuid

import pytest

from leadflow.contacts.services import contact_upsert
from leadflow.tracking.history import history_event_id, history_event_id_text, history_ingest
from leadflow.tracking.models import Event


@pytest.fixture(autouse=True)
def _ten_years_of_events(workspace):
    workspace.event_retention_days = 3650
    workspace.save(update_fields=["event_retention_days"])


def activity(**values):
    return {
        "id": "crm-1",
        "email": "ada@example.com",
        "type": "email_open",
        "occurred_at": "2021-03-04T10:00:00Z",
        **values,
    }


def test_the_event_id_as_text_is_the_uuid_of_the_client_id():
    same = uuid.uuid4()
    client_ids = [
        "crm-1",
        "Grüße 😀",
        "x" * 200,
        str(same),
        same.hex,
        f"{{{same}}}",
        f"urn:uuid:{same}",
        "not-a-uuid-but-thirty-six-characters",
    ]
    for workspace_id in (1, 987_654_321):
        for client_id in client_ids:
            expected = str(history_event_id(workspace_id, client_id))
            assert history_event_id_text(workspace_id, client_id) == expected, client_id


def test_properties_are_measured_as_the_json_stored_whatever_their_characters(
    workspace, owner_actor
):
    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "ada@example.com"})
    rows = [
        activity(id="fits", properties={"note": "😀" * 300, "n": 12, "ok": True, "none": None}),
        activity(id="escaped", properties={"note": "😀" * 400}),  # 400 characters, 4,800 bytes
        activity(id="long", properties={"note": "x" * 4090}),
        activity(id="bad", properties={"note": "a\x00b"}),
        activity(id="bad-key", properties={"a\ud800": "b"}),
    ]
    result = history_ingest(workspace=workspace, rows=rows, actor=owner_actor)
    assert result.accepted == 1
    assert [(error["index"], error["field"]) for error in result.errors] == [
        (1, "properties"),
        (2, "properties"),
        (3, "properties"),
        (4, "properties"),
    ]
    assert "4096 bytes" in result.errors[0]["message"]
    assert "well-formed" in result.errors[2]["message"]
    assert Event.objects.get().properties == {"note": "😀" * 300, "n": 12, "ok": True, "none": None}


def test_a_batch_mixing_known_unknown_and_repeated_ids_counts_each_row_once(
    workspace, other_workspace, owner_actor
):
    ada = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "ada@example.com"}
    ).contact
    bob = contact_upsert(
        workspace=workspace, actor=owner_actor, data={"email": "bob@example.com"}
    ).contact
    stranger = contact_upsert(
        workspace=other_workspace, actor=owner_actor, data={"email": "eve@example.com"}
    ).contact
    rows = [
        activity(id="a", name="first"),
        activity(id="a", name="second", email="bob@example.com"),  # same id: the first wins
        activity(id="b", email="nobody@example.com"),
        activity(id="c", email=None, contact_id=bob.pk),
        activity(id="d", email="eve@example.com"),  # another workspace's contact
        activity(id="e", email=None, contact_id=str(stranger.pk)),
        activity(id="b", email="BOB@Example.com"),  # the unknown row's id, a known contact
    ]
    first = history_ingest(workspace=workspace, rows=rows, actor=owner_actor)
    assert (first.accepted, first.duplicates) == (3, 1)
    assert [(error["index"], error["field"]) for error in first.errors] == [
        (2, "email"),
        (4, "email"),
        (5, "contact_id"),
    ]
    assert first.contact_ids == {ada.pk, bob.pk}
    stored = {event.name: event.contact_id for event in Event.objects.filter(workspace=workspace)}
    assert stored == {"first": ada.pk, "": bob.pk}
    assert Event.objects.filter(workspace=workspace).count() == 3
    again = history_ingest(workspace=workspace, rows=rows, actor=owner_actor)
    assert (again.accepted, again.duplicates) == (0, 4)
    assert again.errors == first.errors and again.contact_ids == set()
