"""Engagement rules as SQL: which source rows a rule counts (its kind and conditions,
compiled through Django's JSON key transforms, so one definition runs on SQLite and
PostgreSQL), and what decay leaves of a point at a given moment.

Shared by the ledger's writes (``services.engagement``) and its reads (the breakdown in
``selectors.engagement``), so both use the same arithmetic.

Conditions compare text, case-insensitively (ASCII letters on SQLite, every letter on
PostgreSQL). ``matches`` takes a glob: ``*`` is any run of characters, everything else is
literal; it becomes a ``LIKE`` pattern with ``%``, ``_`` and ``\\`` escaped, never a regular
expression.
"""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    DateTimeField,
    Expression,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, TruncDate
from django.db.models.lookups import IsNull

from leadflow.contacts.models import Activity, Contact
from leadflow.scoring.models import RuleSource
from leadflow.tracking.models import Event

OPERATORS = ("eq", "ne", "contains", "not_contains", "starts_with", "matches")
NEGATIVE_OPERATORS = frozenset({"ne", "not_contains"})
# Event columns a condition may name directly; anything else is ``properties.<key>``.
EVENT_COLUMNS = ("url", "name", "referrer")
# Short names for activity payload keys (docs/scoring/engagement.md).
ACTIVITY_ALIASES = {
    "form": "data.form",
    "page_url": "data.page_url",
    "campaign": "data.utm.utm_campaign",
    "to": "data.to",
    "from": "data.from",
    "reason": "data.reason",
}
# "A tag was added", whatever wrote it: a bulk action writes ``tag.added`` ({"tag"}), an
# edit ``contact.updated`` ({"tags_added": [...]}), a new or upserted contact its kind
# with {"tags": [...]}. A rule of kind ``tag.added`` counts all of them; its ``tag``
# property is each tag the row added.
TAG_ADDED = "tag.added"
TAG_KINDS = ("tag.added", "contact.created", "contact.updated", "contact.imported")
TAG_KINDS += ("form.submitted",)
TAG_KEYS = ("tag", "tags", "tags_added")
# A key inside a JSON payload: letters, digits, "_", "-", "$" (dots separate nesting).
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_$-]{1,100}$")
MAX_DEPTH = 4


class PropertyUnknown(ValueError):
    """A condition names a property its rule's source does not have."""


def property_path(source: str, name: str) -> tuple[str, ...]:
    """The property a condition names, as (column, *json keys); PropertyUnknown if the
    source has no such property. (``tag`` of an activity is special: see TAG_KEYS.)"""
    name = str(name).strip()
    if source == RuleSource.ACTIVITY and name == "tag":
        return ("data", "tag")
    if source == RuleSource.ACTIVITY:
        name = ACTIVITY_ALIASES.get(name, name)
        column, prefix = "data", "data."
    elif source == RuleSource.EVENT:
        if name in EVENT_COLUMNS:
            return (name,)
        column, prefix = "properties", "properties."
    else:
        raise PropertyUnknown("unknown source")
    if not name.startswith(prefix):
        raise PropertyUnknown(name)
    keys = tuple(name[len(prefix) :].split("."))
    if len(keys) > MAX_DEPTH or not all(KEY_PATTERN.match(key) for key in keys):
        raise PropertyUnknown(name)
    return (column, *keys)


def property_expression(source: str, name: str) -> Expression:
    """The property as text (NULL when the row lacks it)."""
    column, *keys = property_path(source, name)
    if not keys:
        return Cast(F(column), TextField())
    inner: Any = column
    for key in keys[:-1]:
        inner = KeyTransform(key, inner)
    # Numbers and booleans in the payload compare as their text on both databases.
    return Cast(KeyTextTransform(keys[-1], inner), TextField())


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def glob_to_like(pattern: str) -> str:
    """``*pricing*`` → ``%pricing%``: ``*`` is the only wildcard; the rest is literal."""
    return "%".join(like_escape(part) for part in pattern.split("*"))


class TextMatch(Func):
    """``UPPER(text) = UPPER(value)`` or ``UPPER(text) LIKE UPPER(pattern) ESCAPE '\\'``:
    a boolean usable in ``filter()`` and ``Q``."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, expression: Expression, value: str, *, like: bool):
        super().__init__(expression, Value(value, output_field=TextField()))
        self.like = like

    def as_sql(self, compiler, connection, **extra):
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        rhs, rhs_params = compiler.compile(self.source_expressions[1])
        if self.like:
            return f"UPPER({lhs}) LIKE UPPER({rhs}) ESCAPE '\\'", (*lhs_params, *rhs_params)
        return f"UPPER({lhs}) = UPPER({rhs})", (*lhs_params, *rhs_params)


class ElementMatch(Func):
    """True when the JSON value at ``key`` of the column, or one of its elements if it is
    a list, matches (as ``TextMatch``): jsonb_array_elements_text on PostgreSQL, json_each
    on SQLite (which reads a scalar as a one-element list)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, key: str, value: str, *, like: bool):
        super().__init__(F(column))
        self.key, self.value, self.like = key, value, like

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        column, params = compiler.compile(self.source_expressions[0])
        test = "LIKE UPPER(%s) ESCAPE '\\'" if self.like else "= UPPER(%s)"
        value = f"({column} -> %s)"
        sql = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE jsonb_typeof("  # noqa: S608
            f"{value}) WHEN 'array' THEN {value} ELSE jsonb_build_array({value}) END) "
            f"AS element(text) WHERE UPPER(element.text) {test})"
        )
        return sql, (*params, self.key, *params, self.key, *params, self.key, self.value)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        test = "LIKE UPPER(%s) ESCAPE '\\'" if self.like else "= UPPER(%s)"
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS element "  # noqa: S608
            f"WHERE UPPER(element.value) {test})"
        )
        return sql, (*params, f'$."{self.key}"', self.value)


def _pattern(operator: str, value: str) -> tuple[str, bool]:
    """The value to compare with, and whether it is a LIKE pattern."""
    if operator in ("eq", "ne"):
        return value, False
    if operator in ("contains", "not_contains"):
        return f"%{like_escape(value)}%", True
    if operator == "starts_with":
        return f"{like_escape(value)}%", True
    if operator == "matches":
        return glob_to_like(value), True
    raise ValueError(f"unknown operator {operator!r}")


def condition_q(source: str, condition: dict[str, Any]) -> Q:
    """One cleaned condition as a ``Q`` on the source rows. A negative operator holds when
    the property is missing too ("the form is not X" is true of a row without a form)."""
    operator, value = condition["operator"], str(condition["value"])
    pattern, like = _pattern(operator, value)
    if source == RuleSource.ACTIVITY and str(condition["property"]).strip() == "tag":
        match = Q()
        for key in TAG_KEYS:
            match |= Q(ElementMatch("data", key, pattern, like=like))
        return ~match if operator in NEGATIVE_OPERATORS else match
    expression = property_expression(source, condition["property"])
    match = TextMatch(expression, pattern, like=like)
    if operator in NEGATIVE_OPERATORS:
        return Q(IsNull(expression, True)) | ~Q(match)
    return Q(match)


@dataclass(frozen=True)
class RuleSpec:
    """What a rule counts, detached from its row (the settings preview builds one for an
    unsaved edit)."""

    source: str
    kind: str
    conditions: Sequence[dict[str, Any]]


def rule_rows(
    rule: RuleSpec,
    workspace_id: int,
    contact_ids: Sequence[int] | None,
    *,
    day: bool,
    existing: bool = True,
) -> QuerySet:
    """The rows the rule counts, as ``contact_id, id, occurred_at`` (and ``day``, the UTC
    date, when a daily cap needs it), of the workspace's existing contacts (those in
    ``contact_ids`` when given). Events name their contact by a plain id: with
    ``existing=False`` the events of contacts that no longer exist are not filtered out
    (a whole-workspace rebuild removes their points once, after every rule)."""
    if rule.source == RuleSource.ACTIVITY and rule.kind == TAG_ADDED:
        rows = Activity.objects.filter(workspace_id=workspace_id, kind__in=TAG_KINDS).filter(
            Q(kind=TAG_ADDED) | Q(data__has_key="tags") | Q(data__has_key="tags_added")
        )
    elif rule.source == RuleSource.ACTIVITY:
        rows = Activity.objects.filter(workspace_id=workspace_id, kind=rule.kind)
    else:
        # Events refer to contacts by a plain id: only contacts that exist score.
        rows = Event.objects.filter(workspace_id=workspace_id, event_type=rule.kind)
        if existing:
            contacts = Contact.objects.filter(workspace_id=workspace_id)
            rows = rows.filter(contact_id__in=contacts.values("pk"))
        else:
            rows = rows.filter(contact_id__isnull=False)
    if contact_ids is not None:
        rows = rows.filter(contact_id__in=list(contact_ids))
    for condition in rule.conditions:
        rows = rows.filter(condition_q(rule.source, condition))
    fields = ["contact_id", "id", "occurred_at"]
    if day:
        rows = rows.annotate(day=TruncDate("occurred_at", tzinfo=dt.UTC))
        fields.append("day")
    return rows.order_by().values(*fields)


class AgeDays(Func):
    """Days from ``occurred_at`` to ``now`` as a float, never below 0 (a row stamped in
    the future is as fresh as now)."""

    output_field = FloatField()

    def __init__(self, moment: Any, now: dt.datetime):
        super().__init__(moment, Value(now, output_field=DateTimeField()))

    def _parts(self, compiler):
        moment, moment_params = compiler.compile(self.source_expressions[0])
        now, now_params = compiler.compile(self.source_expressions[1])
        return moment, now, (*now_params, *moment_params)

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        moment, now, params = self._parts(compiler)
        sql = f"GREATEST(0.0, EXTRACT(EPOCH FROM ({now} - {moment}))::float8 / 86400.0)"
        return sql, params

    def as_sqlite(self, compiler, connection, **extra):
        moment, now, params = self._parts(compiler)
        return f"MAX(0.0, julianday({now}) - julianday({moment}))", params


class Decayed(Func):
    """``points * 2^(-age_days / half_life_days)`` of a ledger row at ``now``."""

    output_field = FloatField()

    def __init__(self, now: dt.datetime, half_life_days: int):
        super().__init__(F("points"), AgeDays(F("occurred_at"), now))
        self.half_life = float(max(half_life_days, 1))

    def as_sql(self, compiler, connection, **extra):
        points, points_params = compiler.compile(self.source_expressions[0])
        age, age_params = compiler.compile(self.source_expressions[1])
        sql = f"({points} * POWER(2.0, -({age}) / {self.half_life!r}))"
        return sql, (*points_params, *age_params)


class Round2(Func):
    """Rounded to 2 decimals (PostgreSQL rounds only numerics to a number of places)."""

    output_field = FloatField()

    def __init__(self, expression: Any):
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra):
        inner, params = compiler.compile(self.source_expressions[0])
        return f"ROUND(({inner})::numeric, 2)::float8", params

    def as_sqlite(self, compiler, connection, **extra):
        inner, params = compiler.compile(self.source_expressions[0])
        return f"ROUND({inner}, 2)", params
