"""The compiled condition tree against a brute-force Python reading of the same tree, over
random contacts and random trees (hypothesis), on SQLite and on PostgreSQL.

Contacts are written once per test with set-based inserts; each example is one query. Text
values come from a tiny alphabet with LIKE's wildcards and mixed case, and comparison
values are drawn from the stored values too, so equality and the boundaries of ranges are hit.
"""

import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.contacts.conditions import (
    Condition,
    ConditionContext,
    Group,
    conditions_compile,
    tree_from_json,
    tree_to_json,
)
from leadflow.contacts.models import (
    STAGE_RANK,
    Activity,
    Company,
    Contact,
    CustomField,
    LifecycleStage,
    Tag,
)

NOW = dt.datetime(2026, 6, 15, 12, 0, 0, tzinfo=dt.UTC)
ALPHABET = "aAb%_"
TAGS = ("t1", "t2", "t3")
PLANS = ("basic", "pro", "max")
LANGS = ("en", "fr", "de")
STAGES = tuple(LifecycleStage.values)
TEXT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "first_touch_source",
    "city",
    "postal_code",
)
# Date fields, read as ISO text: a custom one and a column.
DATE_FIELDS = ("custom.renewal", "date_of_birth")
COMPANY_TEXT = ("company.name", "company.domain", "company.industry")
N_CONTACTS = 40


def _word(rng: random.Random, low: int = 0) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, 3)))


@pytest.fixture
def population(workspace, owner, make_member):
    """40 contacts with every kind of value (and none), their tags, companies, custom values
    and form submissions, written with bulk inserts; returns (context, snapshots)."""
    rng = random.Random(11)
    other = make_member("sales").user
    users = [owner.pk, other.pk, None]
    for key, kind, choices in (
        ("nick", "text", []),
        ("seats", "number", []),
        ("renewal", "date", []),
        ("vip", "boolean", []),
        ("plan", "choice", list(PLANS)),
        ("langs", "multi_choice", list(LANGS)),
    ):
        CustomField.objects.create(
            workspace=workspace, key=key, label=key, field_type=kind, choices=choices
        )
    companies = Company.objects.bulk_create(
        Company(
            workspace=workspace,
            name=_word(rng, 1) + str(index),
            domain=None if index == 0 else f"{_word(rng)}{index}.example",
            industry=_word(rng),
            size=rng.choice(["", "1-10", "11-50"]),
        )
        for index in range(3)
    )
    tags = Tag.objects.bulk_create(Tag(workspace=workspace, name=name) for name in TAGS)
    rows = []
    for index in range(N_CONTACTS):
        custom = {}
        if rng.random() < 0.7:
            custom["nick"] = _word(rng, 1)
        if rng.random() < 0.7:
            custom["seats"] = rng.choice([0, 1, 2, 2.5, 10, -3])
        if rng.random() < 0.7:
            custom["renewal"] = (NOW.date() - dt.timedelta(days=rng.randint(-5, 40))).isoformat()
        if rng.random() < 0.7:
            custom["vip"] = rng.random() < 0.5
        if rng.random() < 0.7:
            custom["plan"] = rng.choice(PLANS)
        if rng.random() < 0.7:
            custom["langs"] = rng.sample(LANGS, rng.randint(0, 3))
        email = None if rng.random() < 0.2 else f"{_word(rng)}{index}@x.example".lower()
        rows.append(
            Contact(
                workspace=workspace,
                email=email,
                phone=None if rng.random() < 0.5 else f"+4470000{index:05d}",
                first_name=_word(rng),
                last_name=_word(rng),
                job_title=_word(rng),
                first_touch_source=_word(rng),
                city=_word(rng),
                postal_code=_word(rng).upper(),
                date_of_birth=None
                if rng.random() < 0.3
                else NOW.date() - dt.timedelta(days=rng.randint(-5, 40)),
                country=rng.choice(["", "GB", "FR"]),
                company=rng.choice([*companies, None]),
                owner_id=rng.choice(users),
                lifecycle_stage=rng.choice(STAGES),
                temperature=rng.choice(["cold", "warm", "hot"]),
                consent_status=rng.choice(["unknown", "granted", "withdrawn"]),
                custom_fields=custom,
                created_at=NOW - dt.timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 9)),
                updated_at=NOW - dt.timedelta(days=rng.randint(0, 10)),
            )
        )
    contacts = Contact.objects.bulk_create(rows)
    through = Contact.tags.through
    links = [
        through(contact_id=contact.pk, tag_id=tag.pk)
        for contact in contacts
        for tag in tags
        if rng.random() < 0.4
    ]
    through.objects.bulk_create(links)
    Activity.objects.bulk_create(
        Activity(
            workspace=workspace,
            contact=contact,
            kind="form.submitted",
            occurred_at=NOW - dt.timedelta(days=rng.randint(0, 40)),
        )
        for contact in contacts
        for _ in range(rng.randint(0, 3))
    )
    snapshots = _snapshots(workspace)
    return ConditionContext(workspace=workspace, user_id=owner.pk, now=NOW), snapshots, users


def _snapshots(workspace) -> dict[int, dict]:
    """Every contact as a plain dict of what conditions read, read back from the database."""
    through = Contact.tags.through
    tags: dict[int, set] = {}
    for contact_id, name in through.objects.values_list("contact_id", "tag__name"):
        tags.setdefault(contact_id, set()).add(name)
    events: dict[int, list] = {}
    for contact_id, when in Activity.objects.filter(kind="form.submitted").values_list(
        "contact_id", "occurred_at"
    ):
        events.setdefault(contact_id, []).append(when)
    result = {}
    for contact in Contact.objects.filter(workspace=workspace).select_related("company"):
        company = contact.company
        values = {name: getattr(contact, name) for name in TEXT_FIELDS}
        values |= {
            "company.name": company.name if company else None,
            "company.domain": company.domain if company else None,
            "company.industry": company.industry if company else None,
            "company.size": company.size if company else None,
            "company": contact.company_id,
            "owner": contact.owner_id,
            "lifecycle_stage": contact.lifecycle_stage,
            "temperature": contact.temperature,
            "consent_status": contact.consent_status,
            "date_of_birth": contact.date_of_birth.isoformat() if contact.date_of_birth else None,
            "tags": tags.get(contact.pk, set()),
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
            "search_text": contact.search_text,
            "activity.form.submitted": events.get(contact.pk, []),
        }
        values |= {f"custom.{key}": value for key, value in contact.custom_fields.items()}
        result[contact.pk] = values
    return result


# --- the brute-force reading ------------------------------------------------------------------

_NEGATIVE = {"ne": "eq", "not_in": "in", "not_contains": "contains", "has_none": "has_any"}


def evaluate(node, contact: dict, user_id: int) -> bool:
    if isinstance(node, Group):
        results = [evaluate(child, contact, user_id) for child in node.children]
        return all(results) if node.match == "all" else any(results)
    field, operator, value = node.field, node.operator, node.value
    if operator in _NEGATIVE:
        return not evaluate(Condition(field, _NEGATIVE[operator], value), contact, user_id)
    have = contact.get(field)
    if operator == "is_set":
        return not evaluate(Condition(field, "is_empty"), contact, user_id)
    if operator == "is_empty":
        return have is None or have in ("", [], set())
    if field == "search":
        company, needle = contact["company.name"] or "", " ".join(value.lower().split())
        return needle in contact["search_text"] or needle in company.lower()
    if field.startswith("activity."):
        within = value["within_days"]
        count = sum(1 for when in have if within is None or when >= NOW - dt.timedelta(within))
        return count >= value["times"] if operator == "at_least" else count <= value["times"]
    if field == "owner":
        value = [user_id if v == "me" else v for v in value] if operator == "in" else value
        value = user_id if value == "me" else value
    if have is None:
        return False
    if field in ("created_at", "updated_at"):
        if operator == "between":
            low, high = (dt.datetime.fromisoformat(v) for v in value)
            return low <= have <= high
        if operator == "in_last_days":
            return have >= NOW - dt.timedelta(days=value)
        if operator == "more_than_days_ago":
            return have < NOW - dt.timedelta(days=value)
        value = dt.datetime.fromisoformat(value)
    if field in DATE_FIELDS and operator in ("in_last_days", "more_than_days_ago"):
        start = (NOW.date() - dt.timedelta(days=value)).isoformat()
        return have >= start if operator == "in_last_days" else have < start
    if field == "lifecycle_stage" and operator in ("at_least", "at_most"):
        rank = STAGE_RANK.get(have)
        if rank is None:
            return False
        return rank >= STAGE_RANK[value] if operator == "at_least" else rank <= STAGE_RANK[value]
    if operator == "eq":
        return (have == value and type(have) is not bool) or have is value
    if operator == "in":
        return have in value
    if operator == "contains":
        return value.lower() in have.lower()
    if operator == "starts_with":
        return have.lower().startswith(value.lower())
    if operator == "ends_with":
        return have.lower().endswith(value.lower())
    if operator == "has_any":
        return any(item in have for item in value)
    if operator == "has_all":
        return all(item in have for item in value)
    if operator == "between":
        return value[0] <= have <= value[1]
    return {"gt": have > value, "gte": have >= value, "lt": have < value, "lte": have <= value}[
        operator
    ]


# --- random trees -----------------------------------------------------------------------------

words = st.text(alphabet=ALPHABET, min_size=1, max_size=3)
numbers = st.sampled_from([-3, 0, 1, 2, 2.5, 3, 10, 11])
days = st.integers(min_value=0, max_value=45)
dates = days.map(lambda n: (NOW.date() - dt.timedelta(days=n - 5)).isoformat())
moments = st.integers(min_value=0, max_value=62 * 86400).map(
    lambda s: (NOW - dt.timedelta(seconds=s)).isoformat()
)


def _pairs(values):
    return st.lists(values, min_size=2, max_size=2).map(sorted)


def _leaf(field, operators: st.SearchStrategy, value) -> st.SearchStrategy:
    names = field if isinstance(field, st.SearchStrategy) else st.just(field)
    return st.builds(Condition, names, operators, value)


def _text_leaf(field: str, pool: st.SearchStrategy) -> st.SearchStrategy:
    value = st.one_of(words, pool)
    return st.one_of(
        _leaf(field, st.sampled_from(["eq", "ne", "contains", "not_contains"]), value),
        _leaf(field, st.sampled_from(["starts_with", "ends_with"]), value),
        _leaf(field, st.sampled_from(["in", "not_in"]), st.lists(value, min_size=1, max_size=3)),
        _leaf(field, st.sampled_from(["is_empty", "is_set"]), st.none()),
    )


def _choice_leaf(field: str, choices, operators=("eq", "ne")) -> st.SearchStrategy:
    return st.one_of(
        _leaf(field, st.sampled_from(operators), st.sampled_from(choices)),
        _leaf(
            field, st.sampled_from(["in", "not_in"]), st.lists(st.sampled_from(choices), min_size=1)
        ),
        _leaf(field, st.sampled_from(["is_empty", "is_set"]), st.none()),
    )


def _set_leaf(field: str, choices) -> st.SearchStrategy:
    return st.one_of(
        _leaf(
            field,
            st.sampled_from(["has_any", "has_all", "has_none"]),
            st.lists(st.sampled_from(choices), min_size=1, max_size=3),
        ),
        _leaf(field, st.sampled_from(["is_empty", "is_set"]), st.none()),
    )


def leaves(snapshots: dict, users: list) -> st.SearchStrategy:
    def pool(name):
        stored = sorted({c[name] for c in snapshots.values() if isinstance(c.get(name), str)})
        stored = [text for text in stored if text.strip()] or ["a"]
        return st.sampled_from(stored + [text[1:] for text in stored if len(text) > 1])

    moments_stored = st.sampled_from(
        sorted(c["created_at"].isoformat() for c in snapshots.values())
    )
    stamps = st.one_of(moments, moments_stored)
    ranges = ["gt", "gte", "lt", "lte"]
    companies = sorted({c["company"] for c in snapshots.values() if c["company"]})
    return st.one_of(
        *(_text_leaf(name, pool(name)) for name in (*TEXT_FIELDS, *COMPANY_TEXT)),
        _text_leaf("custom.nick", pool("custom.nick")),
        _choice_leaf("company.size", ["1-10", "11-50", "51-200"]),
        _choice_leaf("lifecycle_stage", STAGES),
        _leaf(
            "lifecycle_stage",
            st.sampled_from(["at_least", "at_most"]),
            st.sampled_from(list(STAGE_RANK)),
        ),
        _choice_leaf("temperature", ["cold", "warm", "hot"]),
        _choice_leaf("consent_status", ["unknown", "granted", "confirmed", "withdrawn"]),
        _choice_leaf("custom.plan", PLANS),
        _choice_leaf("owner", [u for u in users if u] + ["me"]),
        _choice_leaf("company", companies),
        _set_leaf("tags", TAGS),
        _set_leaf("custom.langs", LANGS),
        _leaf("custom.vip", st.sampled_from(["eq", "ne"]), st.booleans()),
        _leaf("custom.vip", st.sampled_from(["is_empty", "is_set"]), st.none()),
        _leaf("custom.seats", st.sampled_from(["eq", "ne", *ranges]), numbers),
        _leaf("custom.seats", st.just("between"), _pairs(numbers)),
        _leaf("custom.seats", st.sampled_from(["is_empty", "is_set"]), st.none()),
        *(
            leaf
            for name in DATE_FIELDS
            for leaf in (
                _leaf(name, st.sampled_from(["eq", "ne", *ranges]), dates),
                _leaf(name, st.just("between"), _pairs(dates)),
                _leaf(name, st.sampled_from(["in_last_days", "more_than_days_ago"]), days),
                _leaf(name, st.sampled_from(["is_empty", "is_set"]), st.none()),
            )
        ),
        _leaf("created_at", st.sampled_from(ranges), stamps),
        _leaf("updated_at", st.sampled_from(ranges), moments),
        _leaf("created_at", st.just("between"), _pairs(stamps)),
        _leaf(
            st.sampled_from(["created_at", "updated_at"]),
            st.sampled_from(["in_last_days", "more_than_days_ago"]),
            days,
        ),
        _leaf("search", st.just("matches"), st.one_of(words.map(str.lower), pool("last_name"))),
        _leaf(
            "activity.form.submitted",
            st.sampled_from(["at_least", "at_most"]),
            st.fixed_dictionaries(
                {
                    "times": st.integers(min_value=1, max_value=3),
                    "within_days": st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
                }
            ),
        ),
    )


def trees(snapshots, users) -> st.SearchStrategy:
    return st.recursive(
        leaves(snapshots, users),
        lambda children: st.builds(
            Group,
            st.sampled_from(["all", "any"]),
            st.lists(children, max_size=3).map(tuple),
        ),
        max_leaves=6,
    )


@pytest.mark.django_db
def test_compiled_query_matches_the_python_reading(population):
    context, snapshots, users = population
    assert len(snapshots) == N_CONTACTS

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(tree=trees(snapshots, users))
    def check(tree):
        assert tree_from_json(tree_to_json(tree)) == tree
        condition = conditions_compile(tree, context)
        found = set(
            Contact.objects.filter(workspace=context.workspace)
            .filter(condition)
            .values_list("pk", flat=True)
        )
        expected = {
            pk for pk, contact in snapshots.items() if evaluate(tree, contact, context.user_id)
        }
        assert found == expected, tree_to_json(tree)

    check()
