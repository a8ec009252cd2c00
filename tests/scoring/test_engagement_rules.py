"""Engagement rules: each operator, caps per day and in total, once-only and negative
rules, decay at given moments, the default rules, merges and deleted contacts."""

import pytest

from leadflow.contacts.services import contact_delete, contact_merge
from leadflow.scoring.engagement_sql import glob_to_like
from leadflow.scoring.models import EngagementRule, ScorePoint
from leadflow.scoring.selectors import engagement_breakdown
from leadflow.scoring.services import (
    contacts_rescore,
    engagement_rebuild,
    engagement_scores_write,
    workspace_rescore,
)
from tests.scoring.engagement_helpers import (
    NOW,
    activity,
    days_ago,
    event,
    ledger,
    new_contact,
    only_rules,
    rule,
    score,
)

pytestmark = pytest.mark.django_db


def rescore(workspace, *contacts, now=NOW):
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[c.pk for c in contacts], now=now)


@pytest.fixture
def ada(workspace):
    only_rules(workspace)
    return new_contact(workspace)


URLS = [
    "https://acme.com/pricing",
    "https://acme.com/PRICING/plans",
    "https://acme.com/blog/price",
    "https://acme.com/100%_off",
    "https://acme.com/100xyoff",
]


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", "https://acme.com/pricing", [0]),
        ("eq", "HTTPS://ACME.COM/PRICING", [0]),
        ("ne", "https://acme.com/pricing", [1, 2, 3, 4]),
        ("contains", "pricing", [0, 1]),
        ("contains", "100%_", [3]),  # % and _ are literal, not LIKE wildcards
        ("not_contains", "pricing", [2, 3, 4]),
        ("starts_with", "https://acme.com/pri", [0, 1]),
        ("matches", "*pricing*", [0, 1]),
        ("matches", "https://*/pricing", [0]),
        ("matches", "*100%_off", [3]),
        ("matches", "*blog*price", [2]),
    ],
)
def test_each_operator_selects_exactly_its_rows(workspace, ada, operator, value, expected):
    given = rule(workspace, conditions=[{"property": "url", "operator": operator, "value": value}])
    events = [event(workspace, ada, url=url) for url in URLS]
    rescore(workspace, ada)
    rows = ScorePoint.objects.filter(rule_id=given.pk).values_list("source_id", flat=True)
    assert sorted(rows) == sorted(events[index].pk for index in expected)


def test_a_glob_is_a_like_pattern_with_everything_but_the_star_literal():
    assert glob_to_like("*pricing*") == "%pricing%"
    assert glob_to_like("a_b%c\\d*") == "a\\_b\\%c\\\\d%"


def test_conditions_on_event_properties_and_names_all_must_hold(workspace, ada):
    rule(
        workspace,
        kind="custom",
        points=7,
        conditions=[
            {"property": "name", "operator": "eq", "value": "webinar"},
            {"property": "properties.plan", "operator": "eq", "value": "pro"},
            {"property": "properties.seats", "operator": "eq", "value": "5"},
        ],
    )
    event(workspace, ada, "custom", name="webinar", plan="pro", seats=5)
    event(workspace, ada, "custom", name="webinar", plan="free", seats=5)
    event(workspace, ada, "custom", name="webinar", plan="pro")  # no seats
    event(workspace, ada, "custom", name="other", plan="pro", seats=5)
    rescore(workspace, ada)
    assert score(ada) == 7


def test_a_negative_operator_holds_when_the_property_is_missing(workspace, ada):
    rule(
        workspace,
        kind="custom",
        conditions=[{"property": "properties.plan", "operator": "ne", "value": "pro"}],
    )
    event(workspace, ada, "custom", plan="pro")
    event(workspace, ada, "custom", plan="free")
    event(workspace, ada, "custom")
    rescore(workspace, ada)
    assert score(ada) == 2


def test_activity_conditions_read_the_payload_and_its_aliases(workspace, ada):
    rule(
        workspace,
        source="activity",
        kind="form.submitted",
        points=30,
        conditions=[
            {"property": "form", "operator": "eq", "value": "Demo request"},
            {"property": "data.utm.utm_campaign", "operator": "starts_with", "value": "spring"},
        ],
    )
    demo = {"form": "Demo request", "utm": {"utm_campaign": "spring-2026"}, "values": {}}
    activity(workspace, ada, "form.submitted", demo)
    activity(workspace, ada, "form.submitted", {**demo, "utm": {"utm_campaign": "autumn"}})
    activity(workspace, ada, "form.submitted", {**demo, "form": "Newsletter"})
    rescore(workspace, ada)
    assert score(ada) == 30


def test_the_daily_cap_counts_per_utc_day_in_time_order(workspace, ada):
    capped = rule(workspace, points=2, cap_per_day=2)
    day_one = [event(workspace, ada, at=days_ago(0, at=NOW.replace(hour=h))) for h in (1, 5, 9, 23)]
    day_two = [event(workspace, ada, at=NOW.replace(day=16, hour=0, minute=30))]
    rescore(workspace, ada, now=day_two[0].occurred_at)
    given = ScorePoint.objects.filter(rule_id=capped.pk).values_list("source_id", flat=True)
    assert sorted(given) == sorted([day_one[0].pk, day_one[1].pk, day_two[0].pk])


def test_the_total_cap_counts_only_what_passed_the_daily_cap(workspace, ada):
    capped = rule(workspace, points=3, cap_per_day=1, cap_total=2)
    first = [event(workspace, ada, at=days_ago(10)), event(workspace, ada, at=days_ago(10))]
    second = event(workspace, ada, at=days_ago(9))
    event(workspace, ada, at=days_ago(8))
    rescore(workspace, ada)
    given = ScorePoint.objects.filter(rule_id=capped.pk).values_list("source_id", flat=True)
    assert sorted(given) == sorted([min(e.pk for e in first), second.pk])


def test_a_once_only_rule_gives_points_once_ever(workspace, ada):
    rule(workspace, source="activity", kind="visitor.linked", points=5, cap_total=1)
    for days in (40, 20, 1):
        activity(workspace, ada, "visitor.linked", {"reason": "identify"}, at=days_ago(days))
    rescore(workspace, ada)
    lines = engagement_breakdown(workspace, ada.pk, now=NOW).lines
    assert [(line.count, line.points) for line in lines] == [(1, 5)]
    assert lines[0].last_at == days_ago(40)


def test_negative_rules_take_points_and_a_score_may_go_below_zero(workspace, ada):
    rule(workspace, points=1)
    rule(
        workspace,
        source="activity",
        kind="tag.added",
        points=-100,
        cap_total=1,
        conditions=[{"property": "tag", "operator": "eq", "value": "competitor"}],
    )
    event(workspace, ada)
    activity(workspace, ada, "tag.added", {"tag": "Competitor"})
    activity(workspace, ada, "tag.added", {"tag": "competitor"})
    rescore(workspace, ada)
    assert score(ada) == -99


@pytest.mark.parametrize(
    ("age_days", "expected"),
    [(0, 16.0), (30, 8.0), (60, 4.0), (90, 2.0), (15, 11.31), (-5, 16.0)],
)
def test_points_halve_every_half_life(workspace, ada, age_days, expected):
    rule(workspace, points=16)
    event(workspace, ada, at=days_ago(age_days))
    rescore(workspace, ada)
    assert score(ada) == expected
    assert engagement_breakdown(workspace, ada.pk, now=NOW).total == expected


def test_the_score_decays_with_the_moment_it_is_computed_at(workspace, ada):
    rule(workspace, points=10)
    event(workspace, ada, at=NOW)
    rescore(workspace, ada)
    for days, expected in ((0, 10.0), (30, 5.0), (300, 0.01)):
        engagement_scores_write(workspace_id=workspace.pk, now=days_ago(-days))
        assert score(ada) == expected


def test_the_breakdown_lists_rules_largest_first_with_decay(workspace, ada):
    page = rule(workspace, points=1)
    form = rule(workspace, source="activity", kind="form.submitted", points=20)
    event(workspace, ada, at=days_ago(30))
    event(workspace, ada, at=days_ago(0))
    activity(workspace, ada, "form.submitted", {"form": "Contact"}, at=days_ago(30))
    rescore(workspace, ada)
    breakdown = engagement_breakdown(workspace, ada.pk, now=NOW)
    lines = breakdown.lines
    assert [(x.rule_id, x.count, x.points, x.decayed) for x in lines] == [
        (form.pk, 1, 20, 10.0),
        (page.pk, 2, 2, 1.5),
    ]
    assert (breakdown.total, breakdown.points, breakdown.half_life_days) == (11.5, 22, 30)


def test_another_workspaces_rules_and_rows_never_count(workspace, other_workspace, ada):
    only_rules(other_workspace)
    rule(other_workspace, points=50)
    rule(workspace, points=1)
    stranger = new_contact(other_workspace, "bob@example.com")
    event(workspace, ada)
    event(other_workspace, stranger)
    rescore(workspace, ada)
    assert score(ada) == 1
    assert engagement_breakdown(other_workspace, ada.pk, now=NOW).lines == []


def test_disabled_rules_give_nothing(workspace, ada):
    rule(workspace, points=4, enabled=False)
    event(workspace, ada)
    rescore(workspace, ada)
    assert score(ada) == 0
    assert ledger(workspace) == []


def test_a_merge_drops_the_merged_contacts_points_and_the_primary_gets_its_history(
    workspace, owner_actor, ada
):
    rule(workspace, points=3)
    rule(workspace, source="activity", kind="form.submitted", points=20)
    bob = new_contact(workspace, "bob@example.com")
    event(workspace, bob)
    activity(workspace, bob, "form.submitted", {"form": "Contact"})
    event(workspace, ada)
    rescore(workspace, ada, bob)
    assert (score(ada), score(bob)) == (3, 23)
    contact_merge(workspace=workspace, primary_id=ada.pk, secondary_id=bob.pk, actor=owner_actor)
    assert ScorePoint.objects.filter(contact_id=bob.pk).count() == 0
    rescore(workspace, ada)  # what the contact.merged delivery does
    assert score(ada) == 26


def test_a_full_rebuild_drops_deleted_contacts_and_ignores_their_events(
    workspace, owner_actor, ada
):
    rule(workspace, points=3)
    bob = new_contact(workspace, "bob@example.com")
    event(workspace, bob)
    event(workspace, ada)
    workspace_rescore(workspace_id=workspace.pk, now=NOW)
    assert ScorePoint.objects.filter(contact_id=bob.pk).count() == 1
    contact_delete(workspace=workspace, contact_id=bob.pk, actor=owner_actor)
    workspace_rescore(workspace_id=workspace.pk, now=NOW)
    assert [row[0] for row in ledger(workspace)] == [ada.pk]
    engagement_rebuild(workspace_id=workspace.pk, contact_ids=[bob.pk], now=NOW)
    assert [row[0] for row in ledger(workspace)] == [ada.pk]


def test_incremental_and_full_rebuilds_write_the_same_ledger(workspace, ada):
    rule(workspace, points=2, cap_per_day=2, cap_total=5)
    rule(workspace, source="activity", kind="note.added", points=1, cap_per_day=1)
    bob = new_contact(workspace, "bob@example.com")
    for days in range(8):
        for person in (ada, bob):
            event(workspace, person, at=days_ago(days))
            event(workspace, person, at=days_ago(days + 0.5))
            activity(workspace, person, "note.added", {"body": "x"}, at=days_ago(days))
    rescore(workspace, ada)
    rescore(workspace, bob)
    incremental = ledger(workspace)
    scores = (score(ada), score(bob))
    workspace_rescore(workspace_id=workspace.pk, now=NOW)
    assert ledger(workspace) == incremental
    assert (score(ada), score(bob)) == scores


def test_a_rule_deleted_before_the_recompute_still_shows_in_the_breakdown(workspace, ada):
    given = rule(workspace, points=2)
    event(workspace, ada)
    rescore(workspace, ada)
    EngagementRule.objects.filter(pk=given.pk).delete()
    assert engagement_breakdown(workspace, ada.pk, now=NOW).lines[0].rule_name.startswith("A rule")
