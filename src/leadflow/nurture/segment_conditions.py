"""The fields segments add to the condition language (docs/conditions.md):

- ``segment`` (``in`` / ``not_in`` a list of segment ids): membership of other segments, read
  from their member rows (a static list's or a dynamic segment's kept members). Cycles are
  refused when a segment is saved (``services.segments``).
- ``event.<type>`` (behaviour): did a tracked event of that type (``pageview``, ``click``,
  ``custom``...) at least / at most N times, within D days, optionally only events whose
  properties match ``where``: ``[{"property": "url" | "name" | "referrer" |
  "properties.<key>", "operator": "eq" | "ne" | "contains" | "not_contains" |
  "starts_with", "value": "text"}]`` (text compared ignoring case, all must hold).
  ``at_most`` with ``times: 0`` is "did not".

Each compiles to a subquery on its table scoped to the workspace: a tree stays one query.
"""

import re
from typing import Any

from django.db.models import Q

from leadflow.contacts.conditions import (
    ConditionContext,
    ConditionField,
    ValueProblem,
    behaviour_compile,
    behaviour_value_check,
    condition_family_register,
    condition_field_register,
)
from leadflow.nurture.models import SegmentMember
from leadflow.tracking.models import Event, EventType

SEGMENT_FIELD = "segment"
EVENT_PREFIX = "event."
WHERE_OPERATORS = ("eq", "ne", "contains", "not_contains", "starts_with")
WHERE_COLUMNS = ("url", "name", "referrer")
PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MAX_WHERE = 10


def segment_compile(context: ConditionContext, operator: str, value: Any) -> Q:
    """Contacts with a member row in any of the segments (``in``) or in none (``not_in``)."""
    members = SegmentMember.objects.filter(
        workspace_id=context.workspace.pk, segment_id__in=value
    ).values("contact_id")
    inside = Q(pk__in=members)
    return inside if operator == "in" else ~inside


def where_check(where: Any) -> list[dict[str, str]]:
    if not isinstance(where, list) or len(where) > MAX_WHERE:
        raise ValueProblem(f"where must be a list of at most {MAX_WHERE} property tests.")
    checked = []
    for index, test in enumerate(where):
        if not isinstance(test, dict) or set(test) != {"property", "operator", "value"}:
            raise ValueProblem(f"where[{index}] needs property, operator and value.")
        prop, operator, value = test["property"], test["operator"], test["value"]
        if not isinstance(prop, str) or not (
            prop in WHERE_COLUMNS
            or (prop.startswith("properties.") and PROPERTY_KEY.match(prop[11:]))
        ):
            raise ValueProblem(
                f"where[{index}].property must be url, name, referrer or properties.<key>."
            )
        if operator not in WHERE_OPERATORS:
            raise ValueProblem(f"where[{index}].operator: use one of {', '.join(WHERE_OPERATORS)}.")
        if not isinstance(value, str) or not value.strip() or len(value) > 1000 or "\x00" in value:
            raise ValueProblem(f"where[{index}].value must be non-empty text.")
        checked.append({"property": prop, "operator": operator, "value": value.strip()})
    return checked


def event_value_check(operator: str, value: Any) -> dict[str, Any]:
    checked = behaviour_value_check(operator, value, extra=frozenset({"where"}))
    if "where" in checked:
        checked["where"] = where_check(checked["where"])
    return checked


def _where_q(test: dict[str, str]) -> Q:
    prop = test["property"]
    column = prop if prop in WHERE_COLUMNS else f"properties__{prop[11:]}"
    value = test["value"]
    positive = {"eq": "iexact", "ne": "iexact", "contains": "icontains"}.get(test["operator"])
    lookup = (
        positive or {"not_contains": "icontains", "starts_with": "istartswith"}[test["operator"]]
    )
    q = Q(**{f"{column}__{lookup}": value})
    if test["operator"] in ("ne", "not_contains"):
        # The opposite, also where the property is missing.
        q = ~q | Q(**{f"{column}__isnull": True}) if column.startswith("properties") else ~q
    return q


def _event_field(context: ConditionContext, event_type: str) -> ConditionField | None:
    if event_type not in EventType.values:
        return None

    def compile_event(context: ConditionContext, operator: str, value: dict) -> Q:
        events = Event.objects.filter(
            workspace_id=context.workspace.pk, event_type=event_type, contact_id__isnull=False
        )
        for test in value.get("where") or ():
            events = events.filter(_where_q(test))
        return behaviour_compile(events, context, operator, value, time_column="occurred_at")

    return ConditionField(
        key=f"{EVENT_PREFIX}{event_type}",
        type="behaviour",
        label=f"Tracked event: {EventType(event_type).label}",
        compile=compile_event,
        value_check=event_value_check,
    )


def segment_ids_named(node: Any) -> set[int]:
    """The segment ids a tree's ``segment`` conditions name (for cycles and ordering)."""
    from leadflow.contacts.conditions import Condition, Group

    if isinstance(node, Group):
        found: set[int] = set()
        for child in node.children:
            found |= segment_ids_named(child)
        return found
    if isinstance(node, Condition) and node.field == SEGMENT_FIELD:
        values = node.value if isinstance(node.value, list) else [node.value]
        return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    return set()


def register() -> None:
    condition_field_register(
        ConditionField(
            key=SEGMENT_FIELD,
            type="reference",
            label="In segment",
            operators=("in", "not_in"),
            compile=segment_compile,
        )
    )
    condition_family_register(EVENT_PREFIX, _event_field)
