"""Scoring's condition fields compiled against a plain Python reading of the same trees,
over random scores (hypothesis), on SQLite and on PostgreSQL: the grade's order, the
probability in percent over a 0..1 column that may be empty, the choices."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import FIT_GRADES, Contact

SCORES = (0, 10, 15, 49.5, 50, 80)
PROBABILITIES = (None, 0.0, 0.1, 0.3, 0.305, 1.0)
SECTIONS = ("", "top", "middle", "bottom")
OUTCOMES = ("", "won", "lost")
GRADES = ("", *FIT_GRADES)


@pytest.fixture
def population(workspace):
    rng = random.Random(13)
    Contact.objects.bulk_create(
        Contact(
            workspace=workspace,
            email=f"c{index}@x.example",
            engagement_score=rng.choice(SCORES),
            fit_grade=rng.choice(GRADES),
            conversion_probability=rng.choice(PROBABILITIES),
            funnel_section=rng.choice(SECTIONS),
            outcome=rng.choice(OUTCOMES),
        )
        for index in range(40)
    )
    rows = Contact.objects.filter(workspace=workspace).values(
        "pk", "engagement_score", "fit_grade", "conversion_probability", "funnel_section",
        "outcome",
    )  # fmt: skip
    return ConditionContext(workspace=workspace), {row["pk"]: row for row in rows}


number = st.sampled_from([0, 10, 15, 30, 30.5, 49.5, 50, 100])
leaf = st.one_of(
    st.tuples(
        st.just("engagement_score"),
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "is_empty", "is_set"]),
        number,
    ),
    st.tuples(
        st.just("conversion_probability"),
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty", "is_set"]),
        number,
    ),
    st.tuples(
        st.just("fit_grade"),
        st.sampled_from(["eq", "ne", "at_least", "at_most", "in", "not_in", "is_empty"]),
        st.sampled_from(FIT_GRADES),
    ),
    st.tuples(
        st.sampled_from(["funnel_section", "outcome"]),
        st.sampled_from(["eq", "ne", "is_empty", "is_set"]),
        st.sampled_from(["top", "middle", "bottom", "won", "lost"]),
    ),
)


def as_json(field: str, operator: str, value) -> dict | None:
    if operator in ("is_empty", "is_set"):
        return {"field": field, "operator": operator}
    if field in ("funnel_section", "outcome"):
        allowed = {"funnel_section": SECTIONS, "outcome": OUTCOMES}[field]
        if value not in allowed:
            return None
    if operator == "between":
        value = [value, value + 20]
    if operator in ("in", "not_in"):
        value = [value, "A"]
    return {"field": field, "operator": operator, "value": value}


def holds(row: dict, field: str, operator: str, value) -> bool:
    stored = row[field]
    if field == "conversion_probability" and stored is not None:
        stored = stored * 100
    empty = stored is None or stored == ""
    if operator == "is_empty":
        return empty
    if operator == "is_set":
        return not empty
    if operator in ("ne", "not_in"):
        positive = {"ne": "eq", "not_in": "in"}[operator]
        return empty or not holds(row, field, positive, value)
    if empty:
        return False
    if field == "fit_grade":
        place = FIT_GRADES.index(stored)
        if operator == "at_least":
            return place <= FIT_GRADES.index(value)
        if operator == "at_most":
            return place >= FIT_GRADES.index(value)
        if operator == "in":
            return stored in value
        return stored == value
    if operator == "between":
        low, high = value
        return low - 1e-9 <= stored <= high + 1e-9
    if field == "conversion_probability":
        # The comparison happens on the 0..1 column: compare there too.
        stored, value = row[field], value / 100
    compare = {
        "eq": stored == value,
        "gt": stored > value,
        "gte": stored >= value,
        "lt": stored < value,
        "lte": stored <= value,
    }
    return compare[operator]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(leaves=st.lists(leaf, min_size=1, max_size=3), match=st.sampled_from(["all", "any"]))
def test_scoring_fields_match_a_plain_reading(population, leaves, match):
    context, rows = population
    children = [(json, parts) for parts in leaves if (json := as_json(*parts)) is not None]
    if not children:
        return
    tree = {"version": 1, "match": match, "children": [json for json, _ in children]}
    condition = conditions_compile(tree_from_json(tree), context)
    found = set(
        Contact.objects.filter(workspace=context.workspace)
        .filter(condition)
        .values_list("pk", flat=True)
    )
    combine = all if match == "all" else any
    expected = {
        pk
        for pk, row in rows.items()
        if combine(
            holds(row, json["field"], json["operator"], json.get("value")) for json, _ in children
        )
    }
    assert found == expected, tree
