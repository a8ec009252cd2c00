"""The condition language: its checks (each bad path named), its JSON form, the registry
other apps extend, the API's ``conditions`` parameter, bulk actions by a tree and saved
views keeping the tree."""

import csv
import datetime as dt
import importlib
import io
import json
from urllib.parse import quote

import pytest
from django.db.models import Q
from django.db.models.functions import Length

from leadflow.contacts import selectors, services
from leadflow.contacts.conditions import (
    Condition,
    ConditionContext,
    ConditionField,
    Group,
    behaviour_compile,
    column_compile,
    condition_field_register,
    condition_field_unregister,
    conditions_compile,
    conditions_from_params,
    conditions_from_query,
    tree_from_json,
    tree_to_json,
)
from leadflow.contacts.models import Activity, Contact, CustomField, SavedView
from leadflow.core.errors import ValidationFailed


def problems(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return {error.field: error.message for error in caught.value.errors}


def ids(workspace, node, user_id=None) -> set[int]:
    condition = conditions_compile(node, ConditionContext(workspace, user_id))
    return set(
        Contact.objects.filter(workspace=workspace).filter(condition).values_list("pk", flat=True)
    )


@pytest.fixture
def contacts(workspace, owner):
    CustomField.objects.create(workspace=workspace, key="seats", label="Seats", field_type="number")
    ann = Contact.objects.create(
        workspace=workspace,
        email="ann@initech.com",
        first_name="Ann",
        lifecycle_stage="sql",
        owner=owner,
        custom_fields={"seats": 12},
    )
    bob = Contact.objects.create(
        workspace=workspace,
        email="bob@globex.com",
        first_name="Bob",
        lifecycle_stage="nurture",
        created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    return ann, bob


# --- checks ----------------------------------------------------------------------------------


def test_every_bad_path_is_named_at_once(workspace, contacts):
    tree = tree_from_json(
        {
            "version": 1,
            "match": "all",
            "children": [
                {"field": "email", "operator": "eq", "value": "ann@initech.com"},
                {"field": "created_at", "operator": "gt", "value": "yesterday"},
                {"field": "nope", "operator": "eq", "value": 1},
                {"field": "email", "operator": "gt", "value": "a"},
                {
                    "match": "any",
                    "children": [
                        {"field": "custom.seats", "operator": "between", "value": [5, 1]},
                        {"field": "lifecycle_stage", "operator": "at_least", "value": "nurture"},
                        {"field": "tags", "operator": "has_any", "value": []},
                        {"field": "owner", "operator": "is_empty", "value": 3},
                        {"field": "updated_at", "operator": "in_last_days", "value": -1},
                    ],
                },
            ],
        }
    )
    found = problems(lambda: conditions_compile(tree, ConditionContext(workspace)))
    assert found == {
        "conditions.children[1].value": "Must be a date or date-time (ISO 8601).",
        "conditions.children[2].field": "Unknown field 'nope'.",
        "conditions.children[3].operator": found["conditions.children[3].operator"],
        "conditions.children[4].children[0].value": (
            "The first value must not be above the second."
        ),
        "conditions.children[4].children[1].value": (
            "Must be a stage of the funnel (not nurture or disqualified)."
        ),
        "conditions.children[4].children[2].value": "Must be a list of at least one value.",
        "conditions.children[4].children[3].value": "Takes no value.",
        "conditions.children[4].children[4].value": (
            "Must be a whole number of days from 0 to 36500."
        ),
    }
    assert found["conditions.children[3].operator"].startswith("Use one of: eq, ne, contains")


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ([], "conditions", "Must be a JSON object."),
        ({"version": 2, "children": []}, "conditions.version", "Must be 1."),
        ({"match": "either", "children": []}, "conditions.match", 'Must be "all" or "any".'),
        ({"children": {}}, "conditions.children", "Must be a list."),
        ({"children": [3]}, "conditions.children[0]", "Must be a JSON object."),
        ({"children": [{"operator": "eq"}]}, "conditions.children[0].field", "Name a field."),
        ({"field": "email", "value": 1}, "conditions.operator", "Name an operator."),
        ({"field": "email", "operator": "eq", "regex": "."}, "conditions.regex", "Unknown key."),
    ],
)
def test_shape_problems_are_named(data, path, message):
    assert problems(lambda: tree_from_json(data))[path] == message


def test_depth_and_size_are_bounded():
    deep: dict = {"field": "email", "operator": "is_set"}
    for _ in range(8):
        deep = {"match": "all", "children": [deep]}
    assert any("nest at most" in m for m in problems(lambda: tree_from_json(deep)).values())
    wide = {"children": [{"field": "email", "operator": "is_set"}] * 250}
    assert problems(lambda: tree_from_json(wide))["conditions.children[199]"].startswith("At most")


def test_there_is_no_regex_operator(workspace, contacts):
    for field in ("email", "custom.seats", "company.name", "tags"):
        tree = Condition(field, "regex", ".*")
        found = problems(lambda t=tree: ids(workspace, t))
        assert list(found) == ["conditions.operator"], field
        assert "regex" not in found["conditions.operator"]


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        ("email", "eq", "", "Must be non-empty text."),
        ("email", "eq", 3, "Must be non-empty text."),
        ("email", "contains", "a\x00b", "Must not hold a NUL character."),
        ("custom.seats", "gt", "3", "Must be a number."),
        ("custom.seats", "gt", 1e300, "Must be a finite number."),
        ("owner", "eq", "you", 'Must be a user id or "me".'),
        ("company", "eq", 2**64, "Must be an id."),
        ("temperature", "eq", "boiling", "Must be one of: cold, warm, hot."),
        ("created_at", "between", ["2024-01-01"], "Must be a list of two values, low then high."),
        ("activity.form.submitted", "at_least", {"times": 0}, "times must be a whole number "),
    ],
)
def test_values_are_checked_per_type(workspace, contacts, field, operator, value, message):
    found = problems(lambda: ids(workspace, Condition(field, operator, value)))
    assert found["conditions.value"].startswith(message)


# --- meaning ---------------------------------------------------------------------------------


def test_funnel_order_owner_me_and_relative_dates(workspace, owner, contacts):
    ann, bob = contacts
    assert ids(workspace, Condition("lifecycle_stage", "at_least", "mql")) == {ann.pk}
    assert ids(workspace, Condition("lifecycle_stage", "at_most", "mql")) == set()
    assert ids(workspace, Condition("owner", "eq", "me"), owner.pk) == {ann.pk}
    assert ids(workspace, Condition("owner", "eq", "me")) == set()  # nobody is "me"
    assert ids(workspace, Condition("owner", "ne", "me"), owner.pk) == {bob.pk}
    assert ids(workspace, Condition("created_at", "in_last_days", 7)) == {ann.pk}
    assert ids(workspace, Condition("created_at", "more_than_days_ago", 7)) == {bob.pk}
    assert ids(workspace, Group("any", ())) == set()
    assert ids(workspace, Group("all", ())) == {ann.pk, bob.pk}
    assert ids(workspace, Group("any", (Group("all", ()), Group("any", ())))) == {ann.pk, bob.pk}


def test_other_workspaces_fields_are_unknown(workspace, other_workspace, contacts):
    CustomField.objects.create(
        workspace=other_workspace, key="theirs", label="Theirs", field_type="text"
    )
    found = problems(lambda: ids(workspace, Condition("custom.theirs", "eq", "x")))
    assert found == {"conditions.field": "Unknown field 'custom.theirs'."}


def test_json_form_round_trips_with_a_version():
    tree = Group(
        "any",
        (
            Condition("email", "ends_with", "@initech.com"),
            Group(
                "all", (Condition("tags", "has_all", ["vip", "eu"]), Condition("owner", "is_empty"))
            ),
        ),
    )
    data = tree_to_json(tree)
    assert data["version"] == 1
    assert data["children"][1]["children"][1] == {"field": "owner", "operator": "is_empty"}
    assert tree_from_json(json.loads(json.dumps(data))) == tree


def test_simple_parameters_become_one_tree(workspace):
    tree = conditions_from_params({"stage": "mql", "owner": "none", "tag": "vip"}, workspace)
    assert tree == Group(
        "all",
        (
            Condition("lifecycle_stage", "eq", "mql"),
            Condition("owner", "is_empty"),
            Condition("tags", "has_any", ["vip"]),
        ),
    )
    assert conditions_from_params({"stage": "unheard-of"}).children == (Group("any", ()),)
    assert problems(lambda: conditions_from_params({"owner": "x", "created_from": "May"})) == {
        "owner": "Must be a whole number.",
        "created_from": "Use a date as YYYY-MM-DD.",
    }


def test_one_query_for_the_whole_tree(workspace, contacts, django_assert_num_queries):
    tree = Group(
        "all",
        (
            Condition("tags", "has_none", ["spam"]),
            Condition("activity.form.submitted", "at_least", {"times": 2, "within_days": 30}),
            Condition("company.name", "contains", "init"),
            Condition("custom.seats", "gte", 10),
        ),
    )
    condition = conditions_compile(tree, ConditionContext(workspace))  # reads the custom fields
    with django_assert_num_queries(1):
        list(Contact.objects.filter(workspace=workspace).filter(condition))


# --- the registry ----------------------------------------------------------------------------


@pytest.fixture
def registered():
    """A field and a behaviour condition another app would register (not contacts)."""

    def name_length(context, operator, value):
        lengths = Contact.objects.filter(workspace=context.workspace).annotate(
            size=Length("first_name")
        )
        item = ConditionField(key="name_length", type="number", column="size")
        return Q(pk__in=lengths.filter(column_compile(item, context, operator, value)).values("pk"))

    def noted(context, operator, value):
        notes = Activity.objects.filter(workspace=context.workspace, kind="note.added")
        return behaviour_compile(notes, context, operator, value)

    condition_field_register(
        ConditionField(key="test.name_length", type="number", compile=name_length),
        ConditionField(key="test.noted", type="behaviour", compile=noted),
    )
    yield
    condition_field_unregister("test.name_length")
    condition_field_unregister("test.noted")


def test_an_app_registers_fields_without_editing_contacts(workspace, contacts, registered):
    ann, bob = contacts
    now = dt.datetime.now(dt.UTC)
    Activity.objects.bulk_create(
        [
            Activity(workspace=workspace, contact=bob, kind="note.added", occurred_at=now),
            Activity(workspace=workspace, contact=bob, kind="note.added", occurred_at=now),
            Activity(
                workspace=workspace,
                contact=ann,
                kind="note.added",
                occurred_at=now - dt.timedelta(days=90),
            ),
        ]
    )
    assert ids(workspace, Condition("test.name_length", "gte", 3)) == {ann.pk, bob.pk}
    tree = tree_from_json(
        {
            "match": "all",
            "children": [
                {"field": "test.name_length", "operator": "eq", "value": 3},
                {"field": "test.noted", "operator": "at_least", "value": {"times": 2}},
            ],
        }
    )
    assert ids(workspace, tree) == {bob.pk}
    within = {"times": 1, "within_days": 30}
    assert ids(workspace, Condition("test.noted", "at_least", within)) == {bob.pk}
    assert ids(workspace, Condition("test.noted", "at_most", {"times": 0, "within_days": 30})) == {
        ann.pk
    }
    found = problems(lambda: ids(workspace, Condition("test.name_length", "eq", "3")))
    assert found == {"conditions.value": "Must be a number."}


# --- API, bulk, saved views ------------------------------------------------------------------


def _query(tree: dict) -> str:
    return quote(json.dumps(tree))


def test_api_list_and_export_take_conditions(api, workspace, contacts):
    ann, _ = contacts
    tree = {"version": 1, "children": [{"field": "lifecycle_stage", "operator": "at_least",
                                        "value": "lead"}]}  # fmt: skip
    response = api.get(f"/contacts?conditions={_query(tree)}")
    assert response.status_code == 200, response.content
    assert [item["id"] for item in response.json()["items"]] == [ann.pk]
    both = api.get(f"/contacts?email=bob@globex.com&conditions={_query(tree)}")
    assert both.json()["items"] == []
    export = api.get(f"/contacts/export.csv?conditions={_query(tree)}")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["ann@initech.com"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{", "conditions"),
        ('{"children": [{"field": "email", "operator": "eq", "value": 1}]}',
         "conditions.children[0].value"),
        ('{"children": [{"field": "email", "operator": "is_set"}, {"field": "x", "operator": "eq"}]}',  # noqa: E501
         "conditions.children[1].field"),
        ('{"field": "created_at", "operator": "lt", "value": "soon"}', "conditions.value"),
        # An int past a float's range was a 500 (OverflowError in the finite check).
        ('{"field": "custom.seats", "operator": "gt", "value": 1' + "9" * 400 + "}",
         "conditions.value"),
        ('{"field": "custom.seats", "operator": "between", "value": [1, 1' + "0" * 400 + "]}",
         "conditions.value"),
        # Bad text is named by its path in the tree, as every other error.
        ('{"children": [{"field": "search", "operator": "matches", "value": "a\\u0000"}]}',
         "conditions.children[0].value"),
        ('{"children": [{"field": "first_name", "operator": "contains", "value": "a\\ud800"}]}',
         "conditions.children[0].value"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/contacts", "/contacts/export.csv"])
def test_api_names_the_bad_path(api, contacts, raw, field, path):
    response = api.get(f"{path}?conditions={quote(raw)}")
    assert response.status_code == 422, response.content
    assert field in {error["field"] for error in response.json()["errors"]}


def test_a_parameter_that_is_not_json_is_not_called_the_body(api, contacts):
    response = api.get(f"/contacts?conditions={quote('{not json')}")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "conditions"
    assert error["message"].startswith("The value is not valid JSON")


def test_bulk_action_by_conditions(workspace, owner_actor, contacts, make_member):
    ann, bob = contacts
    tree = Condition("first_name", "eq", "Bob")
    touched = services.contacts_bulk_action(
        workspace=workspace, action="tag", value="old", actor=owner_actor, conditions=tree
    )
    assert touched == 1
    assert list(bob.tags.values_list("name", flat=True)) == ["old"]
    assert not ann.tags.exists()
    with pytest.raises(ValidationFailed):
        services.contacts_bulk_action(
            workspace=workspace,
            action="tag",
            value="x",
            actor=owner_actor,
            conditions=Condition("first_name", "regex", "."),
        )


def test_saved_views_keep_the_tree(workspace, owner_actor, contacts):
    ann, _ = contacts
    view = services.saved_view_save(
        workspace=workspace, actor=owner_actor, name="Hot", query="stage=sql&sort=last_name"
    )
    assert view.conditions == {
        "version": 1,
        "match": "all",
        "children": [{"field": "lifecycle_stage", "operator": "eq", "value": "sql"}],
    }
    tree = selectors.saved_view_conditions(view)
    assert ids(workspace, tree) == {ann.pk}
    chosen = Group("any", (Condition("owner", "is_set"),))
    view = services.saved_view_save(
        workspace=workspace, actor=owner_actor, name="Mine", query="", conditions=chosen
    )
    assert selectors.saved_view_conditions(view) == chosen
    bad = Condition("nope", "eq", 1)
    assert problems(
        lambda: services.saved_view_save(
            workspace=workspace, actor=owner_actor, name="Bad", query="", conditions=bad
        )
    ) == {"conditions.field": "Unknown field 'nope'."}


def test_a_query_strings_conditions_parameter_joins_its_tree(workspace, owner_actor, contacts):
    ann, _ = contacts
    advanced = {"match": "any", "children": [{"field": "custom.seats", "operator": "gte",
                                              "value": 10}]}  # fmt: skip
    query = f"stage=sql&sort=last_name&conditions={quote(json.dumps(advanced))}"
    tree = conditions_from_query(query, workspace)
    assert tree_to_json(tree)["children"] == [
        {"field": "lifecycle_stage", "operator": "eq", "value": "sql"},
        advanced,
    ]
    assert ids(workspace, tree) == {ann.pk}
    assert problems(lambda: conditions_from_query("conditions=%7B", workspace)) == {
        "conditions": "The value is not valid JSON (Expecting property name enclosed in "
        "double quotes)."
    }


def test_a_saved_query_too_long_to_keep_is_refused_not_cut(workspace, owner_actor):
    query = "q=" + "x" * 1999
    assert problems(
        lambda: services.saved_view_save(
            workspace=workspace, actor=owner_actor, name="Long", query=query
        )
    ) == {"query": "Too long to keep (2,000 characters at most)."}
    assert not SavedView.objects.exists()


def test_migration_converts_existing_views(workspace, owner, contacts):
    migration = importlib.import_module("leadflow.contacts.migrations.0014_savedview_conditions")
    from django.apps import apps

    old = SavedView.objects.bulk_create(
        [
            SavedView(workspace=workspace, user=owner, name="a", query="stage=sql&owner=none"),
            SavedView(workspace=workspace, user=owner, name="b", query="created_from=May"),
            SavedView(workspace=workspace, user=owner, name="c", query="custom.seats=12"),
            SavedView(workspace=workspace, user=owner, name="d", query="sort=last_name"),
        ]
    )
    migration.views_convert(apps, None)
    converted = {
        view.name: view.conditions for view in SavedView.objects.filter(pk__in=[v.pk for v in old])
    }
    assert converted["a"]["children"] == [
        {"field": "lifecycle_stage", "operator": "eq", "value": "sql"},
        {"field": "owner", "operator": "is_empty"},
    ]
    assert converted["b"] == converted["c"] == {}  # read from the query when used
    assert converted["d"] == {"version": 1, "match": "all", "children": []}
    ann, _ = contacts
    unconverted = SavedView.objects.get(name="c")
    assert ids(workspace, selectors.saved_view_conditions(unconverted)) == {ann.pk}
    broken = SavedView.objects.get(name="b")
    assert problems(lambda: selectors.saved_view_conditions(broken)) == {
        "created_from": "Use a date as YYYY-MM-DD."
    }


def test_custom_filters_read_the_fields_once(
    workspace, owner_actor, contacts, django_assert_num_queries
):
    ann, _ = contacts
    tree = Condition("custom.seats", "gte", 10)
    with django_assert_num_queries(3):  # the custom fields, the contacts, their tags
        found = list(
            selectors.contact_list(workspace, owner_actor, {"custom": {"seats": "12"}}, tree)
        )
    assert found == [ann]
