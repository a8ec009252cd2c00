"""What a condition may test: field types, their operators, the checks of a value, and the
registry of fields (``condition_field_register``) and field families
(``condition_family_register``: every key with a prefix, such as ``custom.<key>``).

A field either names a column (``column``, an ORM path from Contact) and is compiled by its
type, or brings its own ``compile(context, operator, value) -> Q`` (a subquery or ``Exists``
for behaviour: "did X at least N times within 30 days"). Either way the result is one ``Q``
on Contact, so a whole tree is one SQL query.
"""

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Q

from leadflow.contacts.models import STAGE_RANK, CustomField
from leadflow.core.models import Workspace

# Operators by field type. "Negative" operators (ne, not_in, not_contains, has_none) also
# match contacts where the field is empty: they are the exact opposite of their positive.
TEXT_OPERATORS = (
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
    "is_empty", "is_set",
)  # fmt: skip
NUMBER_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty", "is_set")
DATE_OPERATORS = (
    "eq", "ne", "gt", "gte", "lt", "lte", "between", "in_last_days", "more_than_days_ago",
    "is_empty", "is_set",
)  # fmt: skip
DATETIME_OPERATORS = (
    "gt", "gte", "lt", "lte", "between", "in_last_days", "more_than_days_ago",
)  # fmt: skip
BOOLEAN_OPERATORS = ("eq", "ne", "is_empty", "is_set")
CHOICE_OPERATORS = ("eq", "ne", "in", "not_in", "is_empty", "is_set")
STAGE_OPERATORS = (*CHOICE_OPERATORS, "at_least", "at_most")
# A choice whose values rank (a grade): ``choices`` are listed from the lowest to the highest,
# and at_least / at_most compare by that order.
ORDERED_OPERATORS = (*CHOICE_OPERATORS, "at_least", "at_most")
SET_OPERATORS = ("has_any", "has_all", "has_none", "is_empty", "is_set")
REFERENCE_OPERATORS = ("eq", "ne", "in", "not_in", "is_empty", "is_set")
BEHAVIOUR_OPERATORS = ("at_least", "at_most")

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": TEXT_OPERATORS,
    "number": NUMBER_OPERATORS,
    "date": DATE_OPERATORS,
    "datetime": DATETIME_OPERATORS,
    "boolean": BOOLEAN_OPERATORS,
    "choice": CHOICE_OPERATORS,
    "stage": STAGE_OPERATORS,
    "ordered": ORDERED_OPERATORS,
    "multi_choice": SET_OPERATORS,
    "tags": SET_OPERATORS,
    "owner": REFERENCE_OPERATORS,
    "reference": REFERENCE_OPERATORS,
    "behaviour": BEHAVIOUR_OPERATORS,
    "search": ("matches",),
}
NO_VALUE = frozenset({"is_empty", "is_set"})
LIST_VALUE = frozenset({"in", "not_in", "has_any", "has_all", "has_none"})
DAYS_VALUE = frozenset({"in_last_days", "more_than_days_ago"})
MAX_LIST = 100
MAX_TEXT = 1000
MAX_DAYS = 36500
MAX_NUMBER = 1e15


class ValueProblem(ValueError):
    """A value that does not fit its field and operator; the message is shown to the user
    after the value's path."""


@dataclass
class ConditionContext:
    """What compiling needs besides the tree: the workspace (every subquery is scoped to
    it), the member "me" means (None: nobody) and the moment relative dates count from."""

    workspace: Workspace
    user_id: int | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @cached_property
    def custom_fields(self) -> dict:
        return {d.key: d for d in CustomField.objects.filter(workspace=self.workspace)}

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(dt.UTC).date()


Compile = Callable[[ConditionContext, str, Any], Q]


@dataclass(frozen=True)
class ConditionField:
    """A field conditions may test.

    ``type`` picks the operators and value checks (OPERATORS_BY_TYPE). ``column`` is the ORM
    path from Contact for fields compiled by type; ``nullable`` says the column (or the
    path to it) can be NULL, ``blank_empty`` that "" counts as empty (text columns).
    ``compile`` replaces the compiling by type: it gets the context, the operator and the
    checked value and returns a ``Q`` on Contact (use subqueries, never Python loops over
    rows). ``json_key`` says ``column`` is a key inside a JSON column (custom fields), which
    may be missing or null. ``choices`` are the allowed values of choice-like types (for
    the ``ordered`` type, from the lowest to the highest);
    ``operators`` narrows the type's operators. ``value_check(operator, value)``, when
    given, replaces the type's check of the value (raise ``ValueProblem``; return the value
    as compiling uses it): a behaviour field that also takes filters on what happened
    (nurture's ``event.<type>`` with ``where``)."""

    key: str
    type: str
    label: str = ""
    column: str = ""
    nullable: bool = False
    blank_empty: bool = False
    json_key: bool = False
    choices: tuple[Any, ...] = ()
    operators: tuple[str, ...] = ()
    compile: Compile | None = None
    value_check: Callable[[str, Any], Any] | None = None

    def allowed_operators(self) -> tuple[str, ...]:
        return self.operators or OPERATORS_BY_TYPE[self.type]


CONDITION_FIELDS: dict[str, ConditionField] = {}
# prefix ("custom.") -> a function giving the field for the rest of a key in a context.
CONDITION_FAMILIES: dict[str, Callable[[ConditionContext, str], ConditionField | None]] = {}


def condition_field_register(*fields: ConditionField) -> None:
    """Make fields available to every condition tree (call from an AppConfig.ready or at
    import of the app's conditions module). A key registered again replaces the old one."""
    for item in fields:
        if item.type not in OPERATORS_BY_TYPE:
            raise ValueError(f"Unknown condition field type {item.type!r}.")
        if item.compile is None and not item.column:
            raise ValueError(f"Condition field {item.key!r} needs a column or a compile.")
        CONDITION_FIELDS[item.key] = item


def condition_field_unregister(key: str) -> None:
    CONDITION_FIELDS.pop(key, None)


def condition_family_register(
    prefix: str, resolve: Callable[[ConditionContext, str], ConditionField | None]
) -> None:
    """Every key starting with ``prefix`` (which ends with "."): ``resolve(context, rest)``
    gives its field, or None for an unknown key."""
    CONDITION_FAMILIES[prefix] = resolve


def condition_field_get(context: ConditionContext, key: str) -> ConditionField | None:
    if key in CONDITION_FIELDS:
        return CONDITION_FIELDS[key]
    for prefix, resolve in CONDITION_FAMILIES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return resolve(context, key[len(prefix) :])
    return None


# --- value checks -------------------------------------------------------------------------


def value_clean(item: ConditionField, operator: str, value: Any) -> Any:
    """The value in the form compiling uses, or ``ValueProblem``."""
    if operator in NO_VALUE:
        if value is not None:
            raise ValueProblem("Takes no value.")
        return None
    if item.value_check is not None:
        return item.value_check(operator, value)
    if operator in DAYS_VALUE:
        return _days(value)
    if item.type == "behaviour":
        return _behaviour(operator, value)
    if item.type == "search":
        return _text(value)
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueProblem("Must be a list of two values, low then high.")
        low, high = (_scalar(item, part) for part in value)
        if low > high:
            raise ValueProblem("The first value must not be above the second.")
        return [low, high]
    if operator in LIST_VALUE:
        if not isinstance(value, list) or not value:
            raise ValueProblem("Must be a list of at least one value.")
        if len(value) > MAX_LIST:
            raise ValueProblem(f"At most {MAX_LIST} values.")
        return list(dict.fromkeys(_scalar(item, part) for part in value))
    if operator in ("at_least", "at_most") and item.type == "stage":
        stage = _scalar(item, value)
        if stage not in STAGE_RANK:
            raise ValueProblem("Must be a stage of the funnel (not nurture or disqualified).")
        return stage
    return _scalar(item, value)


def _scalar(item: ConditionField, value: Any) -> Any:
    kind = item.type
    if kind in ("text",):
        return _text(value)
    if kind == "number":
        return _number(value)
    if kind == "date":
        return _date(value).isoformat()
    if kind == "datetime":
        return _datetime(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueProblem("Must be true or false.")
        return value
    if kind in ("choice", "stage", "ordered", "multi_choice"):
        if isinstance(value, bool) or value not in item.choices:
            shown = ", ".join(map(str, item.choices[:20]))
            raise ValueProblem(f"Must be one of: {shown}.")
        return value
    if kind == "tags":
        return _text(value)
    if kind == "owner":
        if value == "me":
            return "me"
        return _id(value, 'Must be a user id or "me".')
    if kind == "reference":
        return _id(value, "Must be an id.")
    raise ValueProblem("Takes no value.")  # pragma: no cover - types are checked at register


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem("Must be non-empty text.")
    if len(value) > MAX_TEXT:
        raise ValueProblem(f"At most {MAX_TEXT} characters.")
    if "\x00" in value:
        raise ValueProblem("Must not hold a NUL character.")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueProblem("Must not hold an unpaired surrogate.") from None
    return value.strip()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem("Must be a number.")
    # abs() first: an int too large for a float (401 digits) must not reach isfinite().
    if abs(value) > MAX_NUMBER or not math.isfinite(value):
        raise ValueProblem("Must be a finite number.")
    return value


def _id(value: Any, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValueProblem(message)
    return value


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise ValueProblem(f"Must be a whole number of days from 0 to {MAX_DAYS}.")
    return value


def _date(value: Any) -> dt.date:
    try:
        if not isinstance(value, str):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueProblem("Must be a date (YYYY-MM-DD).") from None


def _datetime(value: Any) -> dt.datetime:
    """An aware moment from ISO text; a bare date or a time without offset is read as UTC."""
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = dt.datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        parsed.astimezone(dt.UTC)  # year 1 or 9999 with an offset has no UTC time
    except (ValueError, OverflowError):
        raise ValueProblem("Must be a date or date-time (ISO 8601).") from None
    return parsed


def behaviour_value_check(
    operator: str, value: Any, *, extra: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The check of a behaviour value; keys in ``extra`` are let through unchecked (the
    field's own ``value_check`` checks them)."""
    base = (
        {key: part for key, part in value.items() if key not in extra}
        if isinstance(value, dict)
        else value
    )
    checked: dict[str, Any] = _behaviour(operator, base)
    if isinstance(value, dict):
        checked.update({key: value[key] for key in extra if key in value})
    return checked


def _behaviour(operator: str, value: Any) -> dict[str, int | None]:
    if not isinstance(value, dict) or set(value) - {"times", "within_days"}:
        raise ValueProblem('Must be {"times": N, "within_days": D} (within_days optional).')
    times = value.get("times")
    least = 1 if operator == "at_least" else 0
    if isinstance(times, bool) or not isinstance(times, int) or not least <= times <= 1_000_000:
        raise ValueProblem(f"times must be a whole number of at least {least}.")
    within = value.get("within_days")
    return {"times": times, "within_days": None if within is None else _days(within)}
