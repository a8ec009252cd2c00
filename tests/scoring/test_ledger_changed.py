"""A whole-workspace rescore rebuilds only the points of rules changed since the ledger was
last built whole (``engagement_rebuild(changed_only=True)``), and ends with exactly the
ledger a rebuild from scratch would give: edits, new, disabled and deleted rules, points a
delivery already wrote under a new rule, and a ledger of unknown origin."""

import pytest

from leadflow.cli import main
from leadflow.scoring import services
from leadflow.scoring.models import ScorePoint, ScoringProfile
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

pytestmark = pytest.mark.django_db

PRICING = [{"property": "url", "operator": "matches", "value": "*pricing*"}]


@pytest.fixture
def history(workspace):
    only_rules(workspace)
    rules = {
        "views": rule(workspace, kind="pageview", points=1, cap_per_day=2),
        "pricing": rule(workspace, kind="pageview", points=10, conditions=PRICING),
        "notes": rule(workspace, source="activity", kind="note.added", points=3, cap_total=1),
    }
    people = [new_contact(workspace, f"p{n}@example.com") for n in range(3)]
    for n, person in enumerate(people):
        for day in range(n + 2):
            event(workspace, person, url="https://x.example/pricing", at=days_ago(day))
            event(workspace, person, url="https://x.example/blog", at=days_ago(day))
        activity(workspace, person, "note.added", {"body": "hi"}, at=days_ago(n))
    return rules, people


def rebuild(workspace, **options) -> int:
    return services.engagement_rebuild(workspace_id=workspace.pk, now=NOW, **options)


def from_scratch(workspace) -> list[tuple]:
    """The ledger a rebuild from nothing gives (the rows' own ids aside)."""
    rebuild(workspace)
    return ledger(workspace)


def test_nothing_changed_rebuilds_nothing_and_keeps_the_rows(workspace, history):
    assert rebuild(workspace, changed_only=True) == 3  # never built whole: from nothing
    ids = sorted(ScorePoint.objects.values_list("id", flat=True))
    assert rebuild(workspace, changed_only=True) == 0
    assert sorted(ScorePoint.objects.values_list("id", flat=True)) == ids  # untouched


def test_an_edited_rule_alone_is_rebuilt_and_the_ledger_equals_a_rebuild_from_scratch(
    workspace, history
):
    rules, _ = history
    rebuild(workspace, changed_only=True)
    untouched = set(ScorePoint.objects.exclude(rule_id=rules["pricing"].pk).values_list("id"))
    rules["pricing"].points = 25
    rules["pricing"].cap_per_day = 1
    rules["pricing"].save()
    assert rebuild(workspace, changed_only=True) == 1
    assert set(ScorePoint.objects.exclude(rule_id=rules["pricing"].pk).values_list("id")) == (
        untouched
    )
    assert ledger(workspace) == from_scratch(workspace)


def test_disabled_deleted_and_new_rules_end_as_a_rebuild_from_scratch(workspace, history):
    rules, people = history
    rebuild(workspace, changed_only=True)
    rules["views"].enabled = False
    rules["views"].save()
    rules["notes"].delete()
    added = rule(workspace, kind="pageview", points=2, conditions=PRICING, cap_total=2)
    # A delivery rescored one person under the new rule before the workspace's rescore ran.
    services.engagement_rebuild(workspace_id=workspace.pk, contact_ids=[people[0].pk], now=NOW)
    assert ScorePoint.objects.filter(rule_id=added.pk).exists()
    assert rebuild(workspace, changed_only=True) == 1
    assert not ScorePoint.objects.filter(rule_id__in=[rules["views"].pk, rules["notes"].pk])
    assert ledger(workspace) == from_scratch(workspace)  # no point counted twice


def test_a_ledger_of_unknown_origin_is_rebuilt_from_nothing(workspace, history):
    _, people = history
    services.engagement_rebuild(workspace_id=workspace.pk, contact_ids=[people[1].pk], now=NOW)
    ScoringProfile.objects.filter(workspace=workspace).update(ledger_rules=None)
    assert rebuild(workspace, changed_only=True) == 3
    assert ledger(workspace) == from_scratch(workspace)


def test_the_cli_says_how_many_rules_it_rebuilt_and_can_start_from_scratch(
    workspace, history, capsys
):
    rules, _ = history
    assert main(["scoring", "rescore", "--workspace", workspace.slug]) == 0
    assert "(the points of 3 rules rebuilt)" in capsys.readouterr().out
    rules["views"].points = 2
    rules["views"].save()
    assert main(["scoring", "rescore", "--workspace", workspace.slug]) == 0
    assert "(the points of 1 rule rebuilt)" in capsys.readouterr().out
    assert main(["scoring", "rescore", "--workspace", workspace.slug, "--from-scratch"]) == 0
    assert "(the points of 3 rules rebuilt)" in capsys.readouterr().out
