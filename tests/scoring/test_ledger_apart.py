"""A whole-workspace rescore run outside any transaction on PostgreSQL shares the rebuilt
rules' INSERTs with a second connection (``ledger._rules_insert_apart``): it ends with the
ledger and scores a single-connection rebuild gives, the second connection really wrote
some of them, and a failure after the second connection committed leaves the ledger
"unknown", so the next rescore rebuilds it from nothing (no point counted twice).
PostgreSQL only: SQLite writes one transaction at a time."""

import threading

import pytest
from django.db import connection, transaction

from leadflow.scoring import services
from leadflow.scoring.models import ScoringProfile
from leadflow.scoring.services import ledger as ledger_module
from leadflow.scoring.services import pipeline
from tests.scoring.engagement_helpers import (
    NOW,
    activity,
    days_ago,
    event,
    ledger,
    new_contact,
    only_rules,
    rule,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite: one writer at a time"),
]

PRICING = [{"property": "url", "operator": "matches", "value": "*pricing*"}]


@pytest.fixture
def history(workspace):
    services.profile_get(workspace)
    only_rules(workspace)
    rules = [
        rule(workspace, kind="pageview", points=1, cap_per_day=2),
        rule(workspace, kind="pageview", points=10, conditions=PRICING),
        rule(workspace, source="activity", kind="note.added", points=3, cap_total=1),
        rule(workspace, kind="click", points=2),
    ]
    people = [new_contact(workspace, f"p{n}@example.com") for n in range(4)]
    for n, person in enumerate(people):
        for day in range(n + 2):
            event(workspace, person, url="https://x.example/pricing", at=days_ago(day))
            event(workspace, person, url="https://x.example/blog", at=days_ago(day))
            event(workspace, person, event_type="click", name="cta", at=days_ago(day))
        activity(workspace, person, "note.added", {"body": "hi"}, at=days_ago(n))
    return rules, people


def _single_connection(workspace) -> tuple[list, dict]:
    """The ledger and scores a rescore from nothing on this connection alone gives (in a
    transaction: no second connection)."""
    with transaction.atomic():
        services.workspace_rescore(workspace_id=workspace.pk, now=NOW, from_scratch=True)
    return ledger(workspace), _scores(workspace)


def _scores(workspace) -> dict:
    from leadflow.contacts.models import Contact

    return dict(
        Contact.objects.filter(workspace=workspace).values_list("email", "engagement_score")
    )


def _threads_writing(monkeypatch) -> set[str]:
    """The names of the threads that ran a rule's INSERT."""
    seen: set[str] = set()
    insert = ledger_module._rule_insert

    def recorded(*args, **kwargs):
        seen.add(threading.current_thread().name)
        return insert(*args, **kwargs)

    monkeypatch.setattr(ledger_module, "_rule_insert", recorded)
    return seen


def test_two_connections_build_the_ledger_a_single_one_builds(workspace, history, monkeypatch):
    rules, _ = history
    writers = _threads_writing(monkeypatch)
    assert services.workspace_rescore(workspace_id=workspace.pk, now=NOW) == len(rules)
    assert "ledger-rules" in writers and len(writers) == 2  # both connections wrote rules
    built, scores = ledger(workspace), _scores(workspace)
    assert ScoringProfile.objects.get(workspace=workspace).ledger_rules  # known again
    assert not connection.in_atomic_block
    monkeypatch.undo()
    assert (built, scores) == _single_connection(workspace)
    assert any(scores.values())


def test_an_unchanged_ledger_stays_unchanged_through_a_two_connection_rescore(workspace, history):
    services.workspace_rescore(workspace_id=workspace.pk, now=NOW)
    before = ledger(workspace)
    assert services.workspace_rescore(workspace_id=workspace.pk, now=NOW) == 0
    assert ledger(workspace) == before
    assert ScoringProfile.objects.get(workspace=workspace).ledger_rules


def test_a_failure_after_the_second_connection_committed_forgets_the_ledger(
    workspace, history, monkeypatch
):
    rules, _ = history
    services.workspace_rescore(workspace_id=workspace.pk, now=NOW)
    expected = ledger(workspace)
    for changed in rules:  # every rule edited: all rebuilt, shared by the two connections
        changed.points += 1
        changed.save()

    def broken(**_):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(pipeline, "scores_refresh", broken)
    with pytest.raises(RuntimeError):
        services.workspace_rescore(workspace_id=workspace.pk, now=NOW)
    # The second connection's rules committed beside the old rows this transaction's
    # rollback brought back: the ledger is recorded as unknown, not as built.
    assert ScoringProfile.objects.get(workspace=workspace).ledger_rules is None
    assert len(ledger(workspace)) > len(expected)
    monkeypatch.undo()
    assert services.workspace_rescore(workspace_id=workspace.pk, now=NOW) == len(rules)
    rebuilt = ledger(workspace)
    assert len(rebuilt) == len(expected)  # nothing counted twice
    assert rebuilt == _single_connection(workspace)[0]


def test_a_delivery_waits_for_the_whole_rebuild_and_its_session_lock(workspace, history):
    """The session lock taken before the rebuild's transaction keeps deliveries out until
    the rescore is over (the second connection wrote without the lock)."""
    _, people = history
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_lock(%s, %s)", [ledger_module.SCORING_LOCK, workspace.pk]
        )
    finished = threading.Event()

    def delivery() -> None:
        try:
            with transaction.atomic():
                services.engagement_rebuild(
                    workspace_id=workspace.pk, contact_ids=[people[0].pk], now=NOW
                )
            finished.set()
        finally:
            connection.close()

    thread = threading.Thread(target=delivery)
    thread.start()
    try:
        assert not finished.wait(1)  # held back by the session lock
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, %s)", [ledger_module.SCORING_LOCK, workspace.pk]
            )
    thread.join(10)
    assert finished.is_set()
