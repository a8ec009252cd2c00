"""An event's client id is unique in the workspace whatever time it carries (EventId), on
SQLite and on the partitioned PostgreSQL table; retention frees the ids it deletes."""

import datetime as dt
import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from leadflow.tracking.models import Event, EventId, VisitSession
from leadflow.tracking.services import events_ingest, events_prune

from .helpers import batch, event, send

DAY_MS = 86_400_000


def test_the_same_id_sent_again_with_another_time_is_a_duplicate(workspace, other_workspace):
    now = int(time.time() * 1000)
    first = event(ts=now - 6 * DAY_MS)  # most days, another month's partition
    assert send(batch(workspace, [first])).json()["accepted"] == 1
    again = {**first, "ts": now, "name": "resent later"}
    response = send(batch(workspace, [again, event()]))
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": 0, "errors": []}
    stored = Event.objects.filter(event_id=first["id"])
    assert stored.count() == 1 and stored.get().name == ""
    assert VisitSession.objects.get().pageviews == 2  # the repeat counted nothing
    # Another workspace's event with the same id is its own.
    assert send(batch(other_workspace, [again])).json()["accepted"] == 1


def test_an_id_repeated_within_a_batch_is_stored_once_from_its_first_event(workspace):
    now = int(time.time() * 1000)
    first = event(ts=now - 1000, name="first")
    response = send(batch(workspace, [first, {**first, "ts": now, "name": "second"}]))
    assert response.json()["accepted"] == 1 and response.json()["duplicates"] == 1
    assert list(Event.objects.values_list("name", flat=True)) == ["first"]


def test_the_api_counts_a_resent_id_with_another_time_as_a_duplicate(api, workspace):
    first = event(
        "impression", name="spring-banner", visitor_id="campaign-viewer-1", session_id="ads-00001"
    )
    assert api.post("/events", {"events": [first]}).status_code == 202
    again = api.post("/events", {"events": [{**first, "ts": first["ts"] - 60_000}]})
    assert again.status_code == 202 and again.json()["duplicates"] == 1
    assert Event.objects.filter(event_id=first["id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_batches_racing_with_the_same_ids_and_other_times_store_each_id_once(workspace):
    """Concurrent requests (a retry while the first is still running): the id's primary
    key decides, the loser waits for the winner's commit and stores nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing can race")  # see the test above
    now = int(time.time() * 1000)
    ids = [str(uuid.uuid4()) for _ in range(30)]
    start = threading.Barrier(4)
    results = []

    def post(offset: int) -> None:
        from django.db import connections

        events = [event(ts=now - offset - n, id=id_) for n, id_ in enumerate(ids)]
        start.wait()
        try:
            result = events_ingest(
                workspace=workspace, batch=batch(workspace, events[::-1] if offset % 2 else events)
            )
            results.append(result.accepted)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(offset,)) for offset in (0, 1000, 2000, 3000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 30
    assert Event.objects.filter(workspace=workspace).count() == 30
    assert EventId.objects.filter(workspace_id=workspace.pk).count() == 30


def test_retention_frees_the_ids_of_the_events_it_deletes(workspace):
    now = timezone.now()
    response = send(batch(workspace, [event(), event()]))
    assert response.json()["accepted"] == 2
    kept, old = Event.objects.order_by("id")
    Event.objects.filter(pk=old.pk).update(occurred_at=now - dt.timedelta(days=400))
    EventId.objects.filter(event_id=old.event_id).update(occurred_at=now - dt.timedelta(days=400))
    assert events_prune(now=now) == 1
    assert set(EventId.objects.values_list("event_id", flat=True)) == {kept.event_id}


def test_the_migration_gives_stored_events_their_ids_keeping_the_earliest_time(workspace):
    """Events stored before migration 0003 (a repeated id among them) get one id row each."""
    import importlib

    migration = importlib.import_module(
        "leadflow.tracking.migrations.0003_event_id_unique_in_workspace"
    )
    now = timezone.now()
    repeated, single = uuid.uuid4(), uuid.uuid4()
    for event_id, when in ((repeated, now), (repeated, now - dt.timedelta(days=3)), (single, now)):
        Event.objects.create(
            workspace=workspace, event_id=event_id, event_type="pageview", occurred_at=when
        )
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL)
    assert {(row.event_id, row.occurred_at) for row in EventId.objects.all()} == {
        (repeated, now - dt.timedelta(days=3)),
        (single, now),
    }
