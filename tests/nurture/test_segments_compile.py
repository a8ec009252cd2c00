"""Segments' conditions compiled to SQL give the same members as a plain Python reading of
the same data, over random contacts, activities, tracked events, static lists and random
trees (AND/OR groups of the fields nurture registers and the contacts' own)."""

import datetime as dt
import random
import uuid

import pytest

from leadflow.contacts.conditions import (
    Condition,
    ConditionContext,
    Group,
    conditions_compile,
)
from leadflow.contacts.models import Activity, Contact
from leadflow.nurture.models import MemberSource, Segment, SegmentKind, SegmentMember
from leadflow.tracking.models import Event

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
COUNTRIES = ["GB", "US", "DE", ""]
URLS = ["https://acme.test/pricing", "https://acme.test/blog/a", "https://acme.test/"]
PLANS = ["pro", "free", None]


def build(workspace, rng):
    contacts = Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, first_name=f"C{i}", country=rng.choice(COUNTRIES))
            for i in range(40)
        ]
    )
    activities, events = [], []
    for contact in contacts:
        for _ in range(rng.randint(0, 4)):
            activities.append(
                Activity(
                    workspace=workspace,
                    contact=contact,
                    kind=rng.choice(["form.submitted", "note.added"]),
                    occurred_at=NOW - dt.timedelta(days=rng.randint(0, 60), hours=1),
                )
            )
        for _ in range(rng.randint(0, 4)):
            plan = rng.choice(PLANS)
            events.append(
                Event(
                    workspace=workspace,
                    event_id=uuid.uuid4(),
                    contact_id=contact.pk,
                    event_type=rng.choice(["pageview", "custom"]),
                    name=rng.choice(["signup", "demo"]),
                    url=rng.choice(URLS),
                    properties={} if plan is None else {"plan": plan},
                    occurred_at=NOW - dt.timedelta(days=rng.randint(0, 60), hours=1),
                )
            )
    Activity.objects.bulk_create(activities)
    Event.objects.bulk_create(events)
    lists = []
    for n in range(2):
        segment = Segment.objects.create(
            workspace=workspace, name=f"List {n}", kind=SegmentKind.STATIC
        )
        SegmentMember.objects.bulk_create(
            [
                SegmentMember(
                    workspace=workspace, segment=segment, contact=c, source=MemberSource.MANUAL
                )
                for c in contacts
                if rng.random() < 0.4
            ]
        )
        lists.append(segment)
    return contacts, activities, events, lists


def random_leaf(rng, lists):
    within = rng.choice([None, 7, 30])
    times = {"times": rng.randint(0, 2)}
    if within is not None:
        times["within_days"] = within
    operator = rng.choice(["at_least", "at_most"])
    if operator == "at_least":
        times["times"] = max(1, times["times"])
    choice = rng.randrange(6)
    if choice == 0:
        return Condition("country", rng.choice(["eq", "ne"]), rng.choice(COUNTRIES[:3]))
    if choice == 1:
        return Condition("activity.form.submitted", operator, times)
    if choice == 2:
        where = [
            {"property": "url", "operator": rng.choice(["contains", "ne"]), "value": "pricing"}
        ]
        return Condition("event.pageview", operator, {**times, "where": where})
    if choice == 3:
        where = [{"property": "properties.plan", "operator": "eq", "value": "PRO"}]
        return Condition("event.custom", operator, {**times, "where": where})
    if choice == 4:
        return Condition("event.custom", operator, times)
    return Condition("segment", rng.choice(["in", "not_in"]), [rng.choice(lists).pk])


def random_tree(rng, lists, depth=0):
    children = []
    for _ in range(rng.randint(1, 3)):
        if depth < 2 and rng.random() < 0.3:
            children.append(random_tree(rng, lists, depth + 1))
        else:
            children.append(random_leaf(rng, lists))
    return Group(rng.choice(["all", "any"]), tuple(children))


def _count(rows, contact, value, when, match=lambda row: True):
    since = NOW - dt.timedelta(days=value["within_days"]) if value.get("within_days") else None
    return sum(
        1
        for row in rows
        if row[0] == contact.pk and match(row) and (since is None or when(row) >= since)
    )


def brute(node, contact, data):
    activities, events, members = data
    if isinstance(node, Group):
        results = [brute(child, contact, data) for child in node.children]
        return all(results) if node.match == "all" else any(results)
    field, operator, value = node.field, node.operator, node.value
    if field == "country":
        return (contact.country == value) == (operator == "eq")
    if field == "segment":
        inside = any((segment_id, contact.pk) in members for segment_id in value)
        return inside == (operator == "in")
    if field == "activity.form.submitted":
        rows = [(a.contact_id, a.occurred_at) for a in activities if a.kind == "form.submitted"]
        n = _count(rows, contact, value, lambda row: row[1])
    else:
        kind = field.removeprefix("event.")

        def match(row):
            event = row[1]
            for test in value.get("where") or ():
                if test["property"] == "url":
                    hit = test["value"].lower() in event.url.lower()
                    if test["operator"] == "ne":
                        hit = event.url.lower() != test["value"].lower()
                    elif test["operator"] != "contains":
                        raise AssertionError(test)
                else:
                    hit = str(event.properties.get("plan", "")).lower() == test["value"].lower()
                if not hit:
                    return False
            return True

        rows = [(e.contact_id, e) for e in events if e.event_type == kind]
        n = _count(rows, contact, value, lambda row: row[1].occurred_at, match)
    return n >= value["times"] if operator == "at_least" else n <= value["times"]


@pytest.mark.parametrize("seed", range(4))
def test_compiled_segments_match_a_python_reading_of_random_data(workspace, seed):
    rng = random.Random(seed)
    contacts, activities, events, lists = build(workspace, rng)
    members = set(SegmentMember.objects.values_list("segment_id", "contact_id"))
    context = ConditionContext(workspace, now=NOW)
    sizes = set()
    for _ in range(25):
        tree = random_tree(rng, lists)
        compiled = conditions_compile(tree, context)
        got = set(
            Contact.objects.filter(workspace=workspace)
            .filter(compiled)
            .values_list("pk", flat=True)
        )
        expected = {c.pk for c in contacts if brute(tree, c, (activities, events, members))}
        assert got == expected, tree
        sizes.add(len(got))
    # The trees were not all trivial (every contact or none).
    assert len(sizes - {0, len(contacts)}) >= 3


def test_a_segment_count_is_one_query(workspace, django_assert_num_queries):
    rng = random.Random(9)
    _, _, _, lists = build(workspace, rng)
    tree = Group(
        "all",
        (
            Condition("event.pageview", "at_most", {"times": 0, "within_days": 30}),
            Condition("segment", "in", [lists[0].pk]),
            Condition("activity.form.submitted", "at_least", {"times": 1}),
        ),
    )
    context = ConditionContext(workspace, now=NOW)
    context.custom_fields
    compiled = conditions_compile(tree, context)
    with django_assert_num_queries(1):
        Contact.objects.filter(workspace=workspace).filter(compiled).count()
