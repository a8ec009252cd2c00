"""Incremental and full computation of the engagement score agree exactly: for random
histories (activities and tracked events over random days), random rules with caps and
conditions, arriving in random batches with the touched contacts rescored one at a time in
random order, the ledger and every score equal those of one full rebuild. Runs on SQLite
and on PostgreSQL (the suite's database)."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.contacts.models import Contact
from leadflow.scoring.models import EngagementRule
from leadflow.scoring.services import contacts_rescore, workspace_rescore
from tests.scoring.engagement_helpers import NOW, activity, event, ledger, new_contact, only_rules

N_CONTACTS = 4
START = NOW - dt.timedelta(days=12)

ACTIVITIES = st.one_of(
    st.tuples(st.just("form.submitted"), st.sampled_from(["Demo", "Contact"])),
    st.tuples(st.just("note.added"), st.just("")),
    st.tuples(st.just("tag.added"), st.sampled_from(["competitor", "partner"])),
)
EVENTS = st.one_of(
    st.tuples(st.just("pageview"), st.sampled_from(["/pricing", "/blog/a", "/careers", "/"])),
    st.tuples(st.just("click"), st.sampled_from(["Start trial", "Book"])),
)
HAPPENINGS = st.tuples(
    st.integers(0, N_CONTACTS - 1),
    st.one_of(ACTIVITIES.map(lambda a: ("activity", *a)), EVENTS.map(lambda e: ("event", *e))),
    st.integers(0, 14),  # day from START (past NOW: rows from the future count as new)
    st.integers(0, 23),  # hour, so several rows share a day
    st.integers(0, 3),  # minute, so several rows share a moment (ties broken by id)
)
CONDITIONS = {
    ("activity", "form.submitted"): [{"property": "form", "operator": "eq", "value": "Demo"}],
    ("activity", "tag.added"): [{"property": "tag", "operator": "eq", "value": "competitor"}],
    ("event", "pageview"): [{"property": "url", "operator": "matches", "value": "*pricing*"}],
    ("event", "click"): [{"property": "name", "operator": "contains", "value": "trial"}],
    ("activity", "note.added"): [],
}
RULES = st.lists(
    st.tuples(
        st.sampled_from(sorted(CONDITIONS)),
        st.booleans(),  # with its condition
        st.integers(-5, 10).filter(bool),
        st.one_of(st.none(), st.integers(1, 3)),
        st.one_of(st.none(), st.integers(1, 4)),
    ),
    min_size=1,
    max_size=4,
)


def _write(workspace, contacts, happening):
    index, (source, kind, detail), day, hour, minute = happening
    at = START + dt.timedelta(days=day, hours=hour, minutes=minute)
    contact = contacts[index]
    if source == "event":
        url = f"https://acme.com{detail}" if kind == "pageview" else "https://acme.com/"
        name = detail if kind == "click" else ""
        event(workspace, contact, kind, url=url, name=name, at=at)
    elif kind == "form.submitted":
        activity(workspace, contact, kind, {"form": detail, "values": {}}, at=at)
    elif kind == "tag.added":
        activity(workspace, contact, kind, {"tag": detail}, at=at)
    else:
        activity(workspace, contact, kind, {"body": "x"}, at=at)


def _scores(workspace) -> list[tuple[int, float]]:
    return sorted(Contact.objects.filter(workspace=workspace).values_list("pk", "engagement_score"))


@pytest.mark.django_db
def test_incremental_rebuilds_equal_the_full_rebuild(workspace):
    only_rules(workspace)
    contacts = [new_contact(workspace, f"person{i}@example.com") for i in range(N_CONTACTS)]

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        rules=RULES,
        history=st.lists(HAPPENINGS, min_size=1, max_size=24),
        data=st.data(),
    )
    def check(rules, history, data):
        with transaction.atomic():
            for position, ((source, kind), conditioned, points, per_day, total) in enumerate(rules):
                EngagementRule.objects.create(
                    workspace=workspace,
                    name=f"rule {position}",
                    position=position,
                    source=source,
                    kind=kind,
                    conditions=CONDITIONS[(source, kind)] if conditioned else [],
                    points=points,
                    cap_per_day=per_day,
                    cap_total=total,
                )
            remaining = list(history)
            while remaining:  # activities arrive in batches; each batch's contacts rescored
                size = data.draw(st.integers(1, len(remaining)), label="batch")
                batch, remaining = remaining[:size], remaining[size:]
                for happening in batch:
                    _write(workspace, contacts, happening)
                touched = sorted({happening[0] for happening in batch})
                for index in data.draw(st.permutations(touched), label="order"):
                    contacts_rescore(
                        workspace_id=workspace.pk, contact_ids=[contacts[index].pk], now=NOW
                    )
            incremental = (ledger(workspace), _scores(workspace))
            workspace_rescore(workspace_id=workspace.pk, now=NOW)
            assert (ledger(workspace), _scores(workspace)) == incremental
            transaction.set_rollback(True)

    check()
