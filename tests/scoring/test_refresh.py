"""The one write of every score column (``services.refresh.scores_refresh``): the same
values as the column-by-column writers, and no new row version for an unchanged contact."""

from django.db import connection

from leadflow.contacts.models import Contact
from leadflow.scoring import services
from leadflow.scoring.services.refresh import COLUMNS, scores_refresh
from tests.scoring.engagement_helpers import NOW, days_ago, event, rule

PRICING = [{"property": "url", "operator": "matches", "value": "*pricing*"}]


def _history(workspace, person):
    services.profile_get(workspace)
    rule(workspace, kind="pageview", points=30, conditions=PRICING, cap_per_day=1)
    people = [
        person("cold@example.com"),
        person("warm@initech.example", job_title="Head of Sales", size="201-1000"),
        person("hot@initech.example", job_title="CEO", size="51-200"),
        person("stale@example.com", job_title="Analyst"),
    ]
    for contact, visits, age in zip(people, (0, 1, 3, 4), (0, 1, 0, 200), strict=True):
        for day in range(visits):
            event(workspace, contact, url="https://x.example/pricing", at=days_ago(age + day))
    services.engagement_rebuild(workspace_id=workspace.pk, now=NOW)
    return people


def _columns(people) -> list[tuple]:
    rows = Contact.objects.filter(pk__in=[p.pk for p in people]).order_by("pk")
    return list(rows.values_list(*COLUMNS))


def test_one_write_equals_the_column_by_column_writers(workspace, person):
    people = _history(workspace, person)
    services.engagement_scores_write(workspace_id=workspace.pk, now=NOW)
    services.fit_grades_write(workspace_id=workspace.pk)
    services.lifecycle_apply(workspace_id=workspace.pk)  # the default profile: no MQL rule
    expected = _columns(people)
    Contact.objects.filter(pk__in=[p.pk for p in people]).update(
        engagement_score=-1, fit_grade="", temperature="cold", funnel_section=""
    )
    assert scores_refresh(workspace_id=workspace.pk, now=NOW) == len(people)
    assert _columns(people) == expected
    assert {row[2] for row in expected} >= {"cold", "hot"}  # the fixture covers both ends
    assert len({row[1] for row in expected}) > 1  # and more than one grade


def test_an_unchanged_contact_is_not_written_again(workspace, person):
    people = _history(workspace, person)
    assert scores_refresh(workspace_id=workspace.pk, now=NOW) == len(people)
    assert scores_refresh(workspace_id=workspace.pk, now=NOW) == 0
    assert scores_refresh(workspace_id=workspace.pk, contact_ids=[p.pk for p in people]) > 0
    if connection.vendor == "postgresql":  # the row versions did not move either
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text FROM contacts_contact WHERE id = %s", [people[0].pk])
            before = cursor.fetchone()
            scores_refresh(workspace_id=workspace.pk, contact_ids=[people[0].pk], now=NOW)
            cursor.execute("SELECT ctid::text FROM contacts_contact WHERE id = %s", [people[0].pk])
            assert cursor.fetchone() == before


def test_only_the_given_contacts_are_written(workspace, person):
    people = _history(workspace, person)
    Contact.objects.filter(pk__in=[p.pk for p in people]).update(engagement_score=-1)
    assert scores_refresh(workspace_id=workspace.pk, contact_ids=[people[2].pk], now=NOW) == 1
    values = dict(
        Contact.objects.filter(pk__in=[p.pk for p in people]).values_list("pk", "engagement_score")
    )
    assert values[people[2].pk] > 0
    assert [values[p.pk] for p in people if p != people[2]] == [-1, -1, -1]
