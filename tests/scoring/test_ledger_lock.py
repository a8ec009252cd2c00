"""Two writers of one workspace's ledger at once never count a point twice: a rebuild of
some contacts that starts while the whole workspace is being rebuilt waits for it, then
rebuilds from what it committed (``engagement.ledger_lock``). PostgreSQL only: SQLite
writes one transaction at a time, so the race cannot happen there."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count

from leadflow.scoring import services
from leadflow.scoring.models import ScorePoint
from tests.scoring.engagement_helpers import NOW, days_ago, event, new_contact, only_rules, rule

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite: one writer at a time"),
]


def _points(contact) -> list[tuple]:
    rows = ScorePoint.objects.filter(contact_id=contact.pk)
    return sorted(rows.values_list("rule_id", "source", "source_id", "points"))


def test_a_contacts_rebuild_during_a_full_rebuild_does_not_count_points_twice(workspace):
    services.profile_get(workspace)
    only_rules(workspace)
    rule(workspace, kind="pageview", points=5)
    contact = new_contact(workspace)
    for day in range(3):
        event(workspace, contact, url="https://x.example/", at=days_ago(day))
    services.engagement_rebuild(workspace_id=workspace.pk, now=NOW)
    expected = _points(contact)
    assert len(expected) == 3

    rebuilt, release, finished = threading.Event(), threading.Event(), threading.Event()

    def full() -> None:  # the daily refresh, its transaction still open
        try:
            with transaction.atomic():
                services.engagement_rebuild(workspace_id=workspace.pk, now=NOW)
                rebuilt.set()
                release.wait(30)
        finally:
            connection.close()

    def some() -> None:  # a delivery rescoring the contact meanwhile
        try:
            with transaction.atomic():
                services.engagement_rebuild(
                    workspace_id=workspace.pk, contact_ids=[contact.pk], now=NOW
                )
            finished.set()
        finally:
            connection.close()

    first = threading.Thread(target=full)
    first.start()
    assert rebuilt.wait(30)
    second = threading.Thread(target=some)
    second.start()
    assert not finished.wait(0.5)  # waits for the full rebuild
    release.set()
    first.join(30)
    second.join(30)
    assert finished.is_set()
    assert _points(contact) == sorted(expected)
    doubled = (
        ScorePoint.objects.filter(workspace_id=workspace.pk)
        .values("rule_id", "source", "source_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubled.exists()
