"""Monthly partitions of the event table (PostgreSQL) and retention (both databases)."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from leadflow.tracking import partitions
from leadflow.tracking.models import Event
from leadflow.tracking.services import events_prune


def add_event(workspace, when):
    return Event.objects.create(
        workspace=workspace, event_id=uuid.uuid4(), event_type="pageview", occurred_at=when
    )


def test_partitions_exist_and_rows_land_in_their_month(workspace):
    now = timezone.now()
    add_event(workspace, now)
    if connection.vendor != "postgresql":
        assert not partitions.is_partitioned() and partitions.ensure() == []
        return
    assert partitions.is_partitioned()
    this_month = partitions.partition_name(now.date().replace(day=1))
    assert this_month in partitions.existing()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {this_month}")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_ensure_moves_rows_out_of_the_default_partition(workspace):
    far = timezone.now() + dt.timedelta(days=400)  # beyond the partitions made ahead
    event = add_event(workspace, far)
    if connection.vendor != "postgresql":
        assert Event.objects.filter(pk=event.pk).exists()
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_event_default")
        assert cursor.fetchone()[0] == 1
    created = partitions.ensure(months_ahead=14)
    name = partitions.partition_name(far.date().replace(day=1))
    assert name in created
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_event_default")
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT count(*) FROM {name}")
        assert cursor.fetchone()[0] == 1
    assert Event.objects.filter(event_id=event.event_id).count() == 1
    for table in created:  # leave the schema as the other tests expect it
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")


def test_retention_deletes_old_events_per_workspace(workspace, other_workspace):
    now = timezone.now()
    workspace.event_retention_days = 30
    workspace.save()
    old = add_event(workspace, now - dt.timedelta(days=40))
    kept = add_event(workspace, now - dt.timedelta(days=10))
    other_old = add_event(other_workspace, now - dt.timedelta(days=40))  # keeps 395 days
    assert events_prune(now=now) == 1
    assert not Event.objects.filter(event_id=old.event_id).exists()
    assert Event.objects.filter(event_id=kept.event_id).exists()
    assert Event.objects.filter(event_id=other_old.event_id).exists()
