"""The condition editor of the app's forms: a condition tree (contacts' condition
language, docs/conditions.md) as rows of field / operator / value under "match all / any",
and back. One partial (``web/conditions/_editor.html``) and this parser serve every page
that edits a tree (the ideal customer profile's rules, the MQL rule, the contacts list's
advanced filter).

A list page carries its tree in its URL (``tree_from_query``): the editor's rows when its
form was sent, else the tree's compact JSON in one ``conditions`` parameter, which is what
the page's own links (next page, export, saved views) use (``tree_param``).

A tree with nested groups does not fit in rows: the editor then shows its JSON in a
textarea (``<prefix>-json``), which is also always accepted when posted. Values are typed
as text and read by the field's type (numbers, lists separated by commas, "low, high" for
between, "3 within 30" for behaviour); whatever cannot be read is passed on as text, so the
tree's own check names it (``conditions.children[1].value: Must be a number.``), and
``row_errors`` puts that message on the row it belongs to.
"""

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
from leadflow.contacts.conditions import (
    CONDITION_FIELDS,
    OPERATORS_BY_TYPE,
    ConditionContext,
    condition_field_get,
)
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.validation import json_parse

OPERATOR_LABELS = {
    "eq": "is", "ne": "is not", "contains": "contains", "not_contains": "does not contain",
    "starts_with": "starts with", "ends_with": "ends with", "in": "is one of",
    "not_in": "is none of", "is_empty": "is empty", "is_set": "is set", "gt": ">",
    "gte": "≥", "lt": "<", "lte": "≤", "between": "between", "in_last_days": "in the last (days)",
    "more_than_days_ago": "more than (days) ago", "at_least": "at least",
    "at_most": "at most", "has_any": "has any of", "has_all": "has all of",
    "has_none": "has none of", "matches": "matches",
}  # fmt: skip
NO_VALUE = {"is_empty", "is_set"}
LIST_OPERATORS = {"in", "not_in", "has_any", "has_all", "has_none"}
# Fields the editor does not offer (free-text search and an import are the list's own).
HIDDEN_FIELDS = {"search", "import"}
BLANK_ROWS = 2
MAX_ROWS = 30


@dataclass
class Row:
    field: str = ""
    operator: str = ""
    value: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Editor:
    """What the partial renders: the prefix of its inputs, all / any, the rows (with two
    blank ones to add conditions), or the JSON text when the tree nests groups."""

    prefix: str
    legend: str
    match: str = "all"
    rows: list[Row] = dataclasses.field(default_factory=list)
    json_mode: bool = False
    json_text: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)
    fields: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # key, label, type
    operators: list[tuple[str, str, str]] = dataclasses.field(
        default_factory=list
    )  # op, label, types
    max_rows: int = MAX_ROWS  # "Add a condition" (a script) stops there; the parser too


def field_choices(
    context: ConditionContext, *, activities: bool = False
) -> list[tuple[str, str, str]]:
    """(key, label, type) of every field a tree may test, custom fields included, and with
    ``activities`` how often each registered activity kind happened (``activity.<kind>``)."""
    choices = [
        (key, item.label or key.replace("_", " ").replace(".", ": ").capitalize(), item.type)
        for key, item in CONDITION_FIELDS.items()
        if key not in HIDDEN_FIELDS
    ]
    for key, definition in sorted(context.custom_fields.items()):
        item = condition_field_get(context, f"custom.{key}")
        if item is not None:
            choices.append((f"custom.{key}", f"Custom: {definition.label}", item.type))
    if activities:
        choices += [
            (f"activity.{kind}", f"Activity: {definition.label} (times)", "behaviour")
            for kind, definition in ACTIVITY_KINDS.items()
        ]
    return sorted(choices, key=lambda choice: choice[1].lower())


def operator_choices() -> list[tuple[str, str, str]]:
    """(operator, label, the field types it applies to, space-separated)."""
    types: dict[str, list[str]] = {}
    for kind, operators in OPERATORS_BY_TYPE.items():
        for operator in operators:
            types.setdefault(operator, []).append(kind)
    return [
        (operator, OPERATOR_LABELS.get(operator, operator), " ".join(kinds))
        for operator, kinds in types.items()
        if operator != "matches"
    ]


def editor_for(
    tree: dict | None,
    context: ConditionContext,
    *,
    prefix: str = "conditions",
    legend: str = "Conditions",
    errors: list[FieldError] | None = None,
    activities: bool = False,
) -> Editor:
    """The editor showing ``tree`` (a JSON form; {} or None: no condition), with the
    errors of a failed check put on their rows; ``activities`` offers activity counts."""
    editor = Editor(
        prefix=prefix,
        legend=legend,
        fields=field_choices(context, activities=activities),
        operators=operator_choices(),
    )
    tree = dict(tree or {})
    tree.pop("version", None)
    if "field" in tree:
        tree = {"match": "all", "children": [tree]}
    children = tree.get("children") or []
    # A behaviour value with filters on what happened (``where``) has no row form either.
    flat = isinstance(children, list) and all(
        isinstance(child, dict)
        and "field" in child
        and not (isinstance(child.get("value"), dict) and "where" in child["value"])
        for child in children
    )
    if not flat or len(children) > MAX_ROWS:
        editor.json_mode = True
        editor.json_text = json.dumps({"version": 1, **tree}, indent=2, ensure_ascii=False)
    else:
        editor.match = "any" if tree.get("match") == "any" else "all"
        editor.rows = [
            Row(
                field=str(child.get("field", "")),
                operator=str(child.get("operator", "")),
                value=value_text(child.get("value")),
            )
            for child in children
        ]
    editor.rows += [Row() for _ in range(BLANK_ROWS)]
    for error in errors or []:
        place = re.match(r"^conditions\.children\[(\d+)\]\.?(\w*)", error.field)
        if place and not editor.json_mode and int(place.group(1)) < len(editor.rows):
            editor.rows[int(place.group(1))].errors.append(error.message)
        else:
            where = error.field.removeprefix("conditions").lstrip(".")
            editor.errors.append(f"{where}: {error.message}" if where else error.message)
    return editor


def value_text(value: Any) -> str:
    """A value as the editor shows it in its text input."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value_text(part) for part in value)
    if isinstance(value, dict) and "times" in value:
        within = value.get("within_days")
        return f"{value['times']}" + (f" within {within}" if within is not None else "")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tree_from_post(
    post: QueryDict, context: ConditionContext, *, prefix: str = "conditions"
) -> dict:
    """The tree (JSON form) the editor posted: its JSON text when given (the nested
    editor), else its rows (blank rows skipped). ``ValidationFailed`` when the JSON text
    is not JSON; everything else is for the tree's own check."""
    text = post.get(f"{prefix}-json", "").strip()
    if post.get(f"{prefix}-mode") == "json":
        if not text:
            return {}
        data = json_parse(text, field="conditions")
        if not isinstance(data, dict):
            raise ValidationFailed([FieldError("conditions", "Must be a JSON object.")])
        return data
    fields = post.getlist(f"{prefix}-field")[:MAX_ROWS]
    operators = post.getlist(f"{prefix}-operator")[:MAX_ROWS]
    values = post.getlist(f"{prefix}-value")[:MAX_ROWS]
    children = []
    for index, key in enumerate(fields):
        key = key.strip()
        operator = operators[index].strip() if index < len(operators) else ""
        raw = values[index] if index < len(values) else ""
        if not key:
            continue
        child: dict[str, Any] = {"field": key, "operator": operator}
        if operator not in NO_VALUE:
            child["value"] = value_read(context, key, operator, raw)
        children.append(child)
    if not children:
        return {}
    match = "any" if post.get(f"{prefix}-match") == "any" else "all"
    return {"version": 1, "match": match, "children": children}


def value_read(context: ConditionContext, key: str, operator: str, raw: str) -> Any:
    """The typed input read by its field's type and operator (text when unreadable)."""
    raw = raw.strip()
    item = condition_field_get(context, key)
    kind = item.type if item else "text"
    if kind == "behaviour":
        found = re.fullmatch(r"(\d+)(?:\s*(?:within|in|/)\s*(\d+)(?:\s*days?)?)?", raw)
        if not found:
            return raw
        value: dict[str, int] = {"times": int(found.group(1))}
        if found.group(2):
            value["within_days"] = int(found.group(2))
        return value
    if operator in ("in_last_days", "more_than_days_ago"):
        return _number(raw, whole=True)
    if operator == "between" or operator in LIST_OPERATORS:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        return [_scalar(kind, part) for part in parts]
    return _scalar(kind, raw)


def _scalar(kind: str, raw: str) -> Any:
    if kind == "number":
        return _number(raw)
    if kind in ("owner", "reference"):
        return raw if raw == "me" else _number(raw, whole=True)
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
    return raw


def _number(raw: str, *, whole: bool = False) -> Any:
    try:
        number = float(raw)
    except ValueError:
        return raw
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return raw if whole else number


def editor_sent(query: QueryDict, prefix: str = "conditions") -> bool:
    """Whether ``query`` holds the editor's own inputs (its form was sent)."""
    return any(f"{prefix}-{name}" in query for name in ("match", "field", "mode"))


def tree_from_query(
    query: QueryDict, context: ConditionContext, *, prefix: str = "conditions"
) -> dict:
    """The tree (JSON form, {} for none) a list page's query string carries: the editor's
    rows or JSON text when its form was sent, else the ``<prefix>`` parameter's JSON.
    ``ValidationFailed`` (on ``conditions``) when JSON text does not read as an object;
    the tree itself is checked where it is used."""
    if editor_sent(query, prefix):
        return tree_from_post(query, context, prefix=prefix)
    text = query.get(prefix, "").strip()
    if not text:
        return {}
    data = json_parse(text, field="conditions", check_text=False)
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("conditions", "Must be a JSON object.")])
    if "field" in data:  # a single condition: the editor's one row, its errors on that row
        data = {"version": data.pop("version", 1), "match": "all", "children": [data]}
    return data


def tree_param(tree: dict) -> str:
    """A tree as its URL parameter's value: compact JSON, empty for no condition."""
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False) if tree else ""


def error_texts(
    errors: list[FieldError], tree: dict, context: ConditionContext, *, title: str
) -> list[str]:
    """Each error as one sentence saying where it is: a row of the editor as "<title>,
    condition 2 (Engagement score): Must be a number.", deeper paths of the tree after the
    title, any other error (a simple filter's) as "name: message"."""
    labels = {key: label for key, label, _ in field_choices(context, activities=True)}
    children = tree.get("children") if isinstance(tree.get("children"), list) else [tree]
    texts = []
    for error in errors:
        place = re.fullmatch(r"conditions\.children\[(\d+)\]\.(field|operator|value)", error.field)
        if place and int(place.group(1)) < len(children):
            index = int(place.group(1))
            child = children[index] if isinstance(children[index], dict) else {}
            key = str(child.get("field", ""))[:80]
            where = f"{title}, condition {index + 1} ({labels.get(key, key)})"
        elif error.field == "conditions" or error.field.startswith("conditions."):
            rest = error.field.removeprefix("conditions").lstrip(".")
            where = f"{title}, {rest}" if rest else title
        else:
            where = error.field
        texts.append(f"{where}: {error.message}")
    return texts
