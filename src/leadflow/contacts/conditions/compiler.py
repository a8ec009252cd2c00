"""Checking a tree against the registry and compiling it to one ``Q`` on Contact."""

import datetime as dt
import json
from typing import Any

from django.db.models import BooleanField, Count, F, Func, Q, QuerySet

from leadflow.contacts.conditions.fields import (
    ConditionContext,
    ConditionField,
    ValueProblem,
    condition_field_get,
    value_clean,
)
from leadflow.contacts.conditions.tree import Condition, Group, Node
from leadflow.contacts.models import STAGE_RANK
from leadflow.core.errors import FieldError, ValidationFailed

NOTHING = Q(pk__in=[])
# An empty Q is dropped when ORed with another, so a nested empty "all" says so outright.
EVERYTHING = Q(pk__isnull=False)


def conditions_validate(node: Node, context: ConditionContext, path: str = "conditions") -> Node:
    """The tree with every value checked and in its compiled form; ``ValidationFailed``
    naming each bad path (``conditions.children[1].value: Must be a date``) otherwise."""
    errors: list[FieldError] = []
    checked = _validate(node, context, path, errors)
    if errors:
        raise ValidationFailed(errors)
    return checked


def _validate(node: Node, context: ConditionContext, path: str, errors: list) -> Node:
    if isinstance(node, Group):
        return Group(
            node.match,
            tuple(
                _validate(child, context, f"{path}.children[{index}]", errors)
                for index, child in enumerate(node.children)
            ),
        )
    item = condition_field_get(context, node.field)
    if item is None:
        errors.append(FieldError(f"{path}.field", f"Unknown field {node.field[:80]!r}."))
        return node
    if node.operator not in item.allowed_operators():
        allowed = ", ".join(item.allowed_operators())
        errors.append(FieldError(f"{path}.operator", f"Use one of: {allowed}."))
        return node
    try:
        value = value_clean(item, node.operator, node.value)
    except ValueProblem as problem:
        errors.append(FieldError(f"{path}.value", str(problem)))
        return node
    return Condition(node.field, node.operator, value)


def conditions_compile(node: Node, context: ConditionContext, path: str = "conditions") -> Q:
    """One ``Q`` on Contact meaning the whole tree (checked first: see conditions_validate).
    Apply it to a queryset already scoped to the workspace and the actor."""
    return _compile(conditions_validate(node, context, path), context, top=True)


def _compile(node: Node, context: ConditionContext, *, top: bool = False) -> Q:
    if isinstance(node, Group):
        parts = [_compile(child, context) for child in node.children]
        if not parts:
            if node.match == "any":
                return NOTHING
            return Q() if top else EVERYTHING
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node.match == "all" else combined | part
        return combined
    item = condition_field_get(context, node.field)
    assert item is not None  # checked by _validate
    if item.compile is not None:
        return item.compile(context, node.operator, node.value)
    return column_compile(item, context, node.operator, node.value)


# --- compiling by type ----------------------------------------------------------------------

_NEGATIVE = {"ne": "eq", "not_in": "in", "not_contains": "contains", "has_none": "has_any"}
_LOOKUPS = {
    "eq": "exact",
    "contains": "icontains",
    "starts_with": "istartswith",
    "ends_with": "iendswith",
    "in": "in",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
}


def column_compile(item: ConditionField, context: ConditionContext, operator: str, value) -> Q:
    """The ``Q`` of a field compiled by its type from its column."""
    column = item.column
    missing = _missing(item)
    if operator in _NEGATIVE:
        positive = column_compile(item, context, _NEGATIVE[operator], value)
        return ~positive | missing if missing is not None else ~positive
    if operator == "is_empty":
        empty = missing if missing is not None else NOTHING
        if item.blank_empty:
            empty |= Q(**{column: ""})
        if item.type == "multi_choice":
            empty |= Q(**{column: []})
        return empty
    if operator == "is_set":
        return ~column_compile(item, context, "is_empty", None)
    if item.type == "owner":
        value = _owner_value(value, context)
        if value is None:
            return NOTHING
        if operator == "in":
            value = [user for user in (_owner_value(v, context) for v in value) if user]
    if item.type == "multi_choice":
        return _json_list_has(item, value, operator)
    if item.type == "stage" and operator in ("at_least", "at_most"):
        return Q(**{f"{column}__in": _stages(value, operator)})
    if item.type == "ordered" and operator in ("at_least", "at_most"):
        place = item.choices.index(value)
        ranked = item.choices[place:] if operator == "at_least" else item.choices[: place + 1]
        return Q(**{f"{column}__in": list(ranked)})
    if operator == "between":
        low, high = value
        return Q(**{f"{column}__gte": low}) & Q(**{f"{column}__lte": high})
    if operator in ("in_last_days", "more_than_days_ago"):
        start = _days_ago(item, context, value)
        return Q(**{f"{column}__{'gte' if operator == 'in_last_days' else 'lt'}": start})
    return Q(**{f"{column}__{_LOOKUPS[operator]}": value})


def _missing(item: ConditionField) -> Q | None:
    """The condition "this field has no value" (never unknown, so its opposite is exact)."""
    if item.json_key:
        return Q(**{f"{item.column}__isnull": True}) | Q(**{item.column: None})
    if item.nullable:
        return Q(**{f"{item.column}__isnull": True})
    return None


def _owner_value(value: Any, context: ConditionContext) -> int | None:
    return context.user_id if value == "me" else value


def _stages(stage: str, operator: str) -> list[str]:
    rank = STAGE_RANK[stage]
    if operator == "at_least":
        return [name for name, place in STAGE_RANK.items() if place >= rank]
    return [name for name, place in STAGE_RANK.items() if place <= rank]


def _days_ago(item: ConditionField, context: ConditionContext, days: int) -> Any:
    if item.type == "date":
        return (context.today - dt.timedelta(days=days)).isoformat()
    return context.now - dt.timedelta(days=days)


# --- multi-choice values (a JSON list under a key of custom_fields) -------------------------


class JsonListHas(Func):
    """True when the JSON list at ``key`` of the JSON column holds ``value``: jsonb
    containment on PostgreSQL, json_each on SQLite. ``key`` is a custom-field key (a slug)."""

    output_field = BooleanField()

    def __init__(self, column: str, key: str, value: Any) -> None:
        super().__init__(F(column))
        self.key, self.value = key, value

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"COALESCE(({sql} -> %s) @> %s::jsonb, false)", (
                *params,
                self.key,
                json.dumps([self.value]),
            )
        return (
            f"EXISTS (SELECT 1 FROM json_each({sql}, %s) AS e WHERE e.value = %s)",  # noqa: S608
            (*params, f'$."{self.key}"', self.value),
        )


def _json_list_has(item: ConditionField, values: list, operator: str) -> Q:
    column, _, key = item.column.partition("__")
    parts = [Q(JsonListHas(column, key, value)) for value in values]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if operator == "has_all" else combined | part
    return combined


# --- behaviour: "did X at least N times within D days" --------------------------------------


def behaviour_compile(
    events: QuerySet,
    context: ConditionContext,
    operator: str,
    value: dict,
    *,
    contact_column: str = "contact_id",
    time_column: str = "occurred_at",
) -> Q:
    """Contacts with at least (or at most) ``value["times"]`` rows of ``events`` (a queryset
    already scoped to the workspace), counting only the last ``within_days`` days when given:
    one subquery grouped by contact."""
    rows = events
    if value.get("within_days") is not None:
        since = context.now - dt.timedelta(days=value["within_days"])
        rows = rows.filter(**{f"{time_column}__gte": since})
    times = value["times"] if operator == "at_least" else value["times"] + 1
    # COUNT(*), not COUNT(id): with the contact in the index (activity_ws_kind_contact), the count
    # of a kind's recent activities reads the index alone (bench_segment_count).
    often = (
        rows.order_by()
        .values(contact_column)
        .annotate(occurrences=Count("*"))
        .filter(occurrences__gte=times)
        .values(contact_column)
    )
    matched = Q(pk__in=often)
    return matched if operator == "at_least" else ~matched
