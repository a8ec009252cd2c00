"""Reads for contacts, companies, timelines and saved views. The workspace always comes first.

List selectors return querysets with related rows loaded; pagination is keyset-based
(``cursor_paginate``) so a page costs the same at row 1 and at row 1,000,000.
"""

import base64
import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, models
from django.db.models import F, Prefetch, Q, QuerySet

from leadflow.contacts.conditions import (
    SIMPLE_PARAMETERS,
    ConditionContext,
    Node,
    conditions_compile,
    conditions_from_params,
    conditions_from_query,
    tree_from_json,
)
from leadflow.contacts.conditions.params import datetime_parse
from leadflow.contacts.models import (
    ADDRESS_FIELDS,
    Activity,
    Company,
    Contact,
    CustomField,
    SavedView,
    Tag,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.exports import SPREADSHEET_SAFE_SQL
from leadflow.core.models import Workspace
from leadflow.core.validation import json_parse

# Each sort, both ways; the scores (denormalised on the contact by scoring) sort hottest,
# best fit and likeliest first with a "-" (a grade sorts A first without one).
CONTACT_SORTS = {
    f"{way}{column}": f"{way}{column}"
    for column in (
        "created_at", "updated_at", "last_name",
        "engagement_score", "fit_grade", "conversion_probability",
    )
    for way in ("", "-")
}  # fmt: skip
CONTACT_FILTERS = SIMPLE_PARAMETERS


# Apps that tell members about leads (form notifications, lead sources) register here, in
# their AppConfig.ready, a function giving (workspace, user id) the ids of the contacts that
# user was notified of, as a subquery: a member notified of a lead can always open it.
NOTIFIED_CONTACT_IDS: list[Callable[[Workspace, int], QuerySet]] = []


def own_leads_condition(workspace: Workspace, actor: Actor, path: str = "") -> Q:
    """The condition a contact meets when it is one of the actor's own leads: the actor owns
    it, or was notified of it. ``path`` reaches the contact from another model ("contact",
    "other"); empty means the Contact model itself."""
    owner = f"{path}__owner_id" if path else "owner_id"
    contact_id = f"{path}_id__in" if path else "pk__in"
    condition = Q(**{owner: actor.user_id})
    for notified in NOTIFIED_CONTACT_IDS:
        condition |= Q(**{contact_id: notified(workspace, actor.user_id)})
    return condition


def contacts_visible(workspace: Workspace, actor: Actor) -> QuerySet[Contact]:
    """Every contact the actor may see: all of the workspace, or, for a sales member who
    sees only own leads, the contacts they own or were notified of."""
    queryset = Contact.objects.filter(workspace=workspace)
    if actor.sees_only_own_leads:
        queryset = queryset.filter(own_leads_condition(workspace, actor))
    return queryset


def contact_get(workspace: Workspace, actor: Actor, contact_id: int) -> Contact:
    contact = (
        contacts_visible(workspace, actor)
        .select_related("company", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def contact_list(
    workspace: Workspace,
    actor: Actor,
    filters: Mapping[str, Any] | None = None,
    conditions: Node | None = None,
) -> QuerySet[Contact]:
    """Contacts matching the filters and the condition tree, related rows loaded (no N+1 on
    list pages): one query over contacts whatever the tree.

    Filters are the list's simple parameters (``conditions.conditions_from_params``: email,
    phone, stage, owner, tag, company, temperature, created dates, q, custom, import),
    translated into a tree and ANDed with ``conditions`` (docs/conditions.md). Bad
    filters or conditions raise ValidationFailed naming each.
    """
    queryset = contacts_visible(workspace, actor)
    return (
        queryset.filter(contact_condition(workspace, actor, filters, conditions))
        .select_related("company", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    )


def contact_condition(
    workspace: Workspace,
    actor: Actor,
    filters: Mapping[str, Any] | None = None,
    conditions: Node | None = None,
) -> Q:
    """The one ``Q`` the filters and the tree make ("me" is the actor)."""
    filters = {key: value for key, value in (filters or {}).items() if value not in (None, "")}
    unknown = [key for key in filters if key not in CONTACT_FILTERS]
    if unknown:
        raise ValidationFailed([FieldError(key, "Unknown filter.") for key in unknown])
    context = ConditionContext(workspace=workspace, user_id=actor.user_id)
    tree = conditions_from_params(filters, context=context)
    condition = conditions_compile(tree, context, path="filters")
    if conditions is not None:
        condition &= conditions_compile(conditions, context)
    return condition


# --- keyset pagination ---------------------------------------------------------------------


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


_BAD_CURSOR = "This cursor is not valid."
_MAX_ID = 2**63 - 1


def _decode(cursor: str, field: models.Field, *, nullable: bool = False) -> tuple[Any, int]:
    """The (value, id) a cursor carries, checked as the sort column's type (None only for
    a column that may be empty): a cursor is client input, so anything but a pair this
    module could have made is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json_parse(base64.urlsafe_b64decode(padded.encode()), field="cursor")
    except (ValueError, TypeError, ValidationFailed):
        raise ValidationFailed([FieldError("cursor", _BAD_CURSOR)]) from None
    if not isinstance(values, list) or len(values) != 2:
        raise ValidationFailed([FieldError("cursor", _BAD_CURSOR)])
    value, last_id = values
    if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 <= last_id <= _MAX_ID:
        raise ValidationFailed([FieldError("cursor", _BAD_CURSOR)])
    if value is None and nullable:
        return None, last_id
    if isinstance(field, models.DateTimeField):
        return datetime_parse(str(value), "cursor"), last_id
    try:
        if value is None or isinstance(value, list | dict | bool):
            raise ValueError
        value = field.to_python(value)
        if isinstance(field, models.IntegerField) and not -_MAX_ID <= value <= _MAX_ID:
            raise ValueError
    except (ValueError, TypeError, DjangoValidationError):
        raise ValidationFailed([FieldError("cursor", _BAD_CURSOR)]) from None
    return value, last_id


def cursor_paginate(queryset: QuerySet, *, sort: str, cursor: str | None, limit: int) -> Page:
    """One page ordered by ``sort`` then id; the cursor carries the last row's (value, id).
    A cursor that is not one this function made answers 422 (ValidationFailed)."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    field = queryset.model._meta.get_field(name)
    tie = f"{'-' if descending else ''}id"
    if field.null:
        # An empty value ranks lowest: last when descending, first when ascending.
        column = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_first=True)
        ordered = queryset.order_by(column, tie)
    else:
        ordered = queryset.order_by(sort, tie)
    if cursor:
        value, last_id = _decode(cursor, field, nullable=field.null)
        op = "lt" if descending else "gt"
        same = Q(**{f"id__{op}": last_id})
        if value is None:
            after = Q(**{f"{name}__isnull": True}) & same
            if not descending:
                after |= Q(**{f"{name}__isnull": False})
        else:
            after = Q(**{f"{name}__{op}": value}) | (Q(**{name: value}) & same)
            if descending and field.null:
                after |= Q(**{f"{name}__isnull": True})
        ordered = ordered.filter(after)
    rows = list(ordered[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        raw = getattr(last, name)
        next_cursor = _encode([raw.isoformat() if hasattr(raw, "isoformat") else raw, last.pk])
    return Page(items=rows, next_cursor=next_cursor)


def count_capped(queryset: QuerySet, cap: int = 10_000) -> tuple[int, bool]:
    """How many rows, counting at most ``cap`` (no full COUNT(*) over a million rows)."""
    count = queryset.order_by().values("pk")[: cap + 1].count()
    return min(count, cap), count > cap


# --- timeline, companies, fields, duplicates ----------------------------------------------


def contact_timeline(
    workspace: Workspace,
    actor: Actor,
    contact_id: int,
    *,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Activity]:
    contact_get(workspace, actor, contact_id)
    return _timeline_activities(workspace, contact_id, limit=limit, before_id=before_id)


def _timeline_activities(
    workspace: Workspace, contact_id: int, *, limit: int, before_id: int | None
) -> list[Activity]:
    queryset = Activity.objects.filter(workspace=workspace, contact_id=contact_id)
    if before_id:
        queryset = queryset.filter(id__lt=before_id)
    return list(queryset.select_related("actor_user").order_by("-occurred_at", "-id")[:limit])


@dataclass(frozen=True)
class TimelineItem:
    """Something on a contact's timeline that an app keeps in its own tables rather than as an
    activity row (tracking's visits). ``data`` is its JSON form for the API; ``source`` is the
    row it came from, for the app's own rendering."""

    kind: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    source: Any = None


# Apps whose rows belong on a contact's timeline register here, in their AppConfig.ready, a
# function giving (workspace, contact, since, until, limit) their items that started in
# [since, until), newest first. The app's timeline and the API's both read them from here.
TIMELINE_SOURCES: list[
    Callable[[Workspace, Contact, dt.datetime | None, dt.datetime | None, int], list[TimelineItem]]
] = []


@dataclass(frozen=True)
class ContactHistory:
    """One page of a contact's timeline: its activities (newest first, at most ``limit``),
    the other apps' items that fall between them, and the oldest activity when older pages
    remain."""

    activities: list[Activity]
    items: list[TimelineItem]
    older: Activity | None


def contact_history(
    workspace: Workspace,
    actor: Actor,
    contact_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    until: dt.datetime | None = None,
) -> ContactHistory:
    """A page of the contact's timeline as both the app and the API show it. Items from other
    apps belong to the page whose activities surround them: those after its oldest activity
    (all of them on the last page) and before the previous page's oldest (``until``, or the
    cursor activity's time)."""
    contact = contact_get(workspace, actor, contact_id)
    activities = _timeline_activities(workspace, contact.pk, limit=limit + 1, before_id=before_id)
    older = None
    if len(activities) > limit:
        activities = activities[:limit]
        older = activities[-1]
    if before_id and until is None:
        until = (
            Activity.objects.filter(workspace=workspace, contact_id=contact_id, pk=before_id)
            .values_list("occurred_at", flat=True)
            .first()
        )
    since = older.occurred_at if older else None
    items = [
        item
        for source in TIMELINE_SOURCES
        for item in source(workspace, contact, since, until, limit)
    ]
    return ContactHistory(activities=activities, items=items, older=older)


def company_list(workspace: Workspace, q: str = "") -> QuerySet[Company]:
    queryset = Company.objects.filter(workspace=workspace)
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    return queryset


def company_get(workspace: Workspace, company_id: int) -> Company:
    companies = Company.objects.select_related("owner").filter(workspace=workspace, pk=company_id)
    if (company := companies.first()) is None:
        raise NotFound("No such company.")
    return company


def custom_field_list(workspace: Workspace) -> QuerySet[CustomField]:
    return CustomField.objects.filter(workspace=workspace).order_by("position", "id")


def custom_field_get(workspace: Workspace, field_id: int) -> CustomField:
    definition = CustomField.objects.filter(workspace=workspace, pk=field_id).first()
    if definition is None:
        raise NotFound("No such custom field.")
    return definition


def identifying_fields(workspace: Workspace) -> dict[str, str]:
    """The workspace's identifying custom fields as key -> match type ("exact", "digits",
    "fuzzy"), in the list's order: what the duplicate finder compares besides the contact's
    own identity fields. One query; empty when none is marked."""
    return dict(
        CustomField.objects.filter(workspace=workspace, identifying=True)
        .order_by("position", "id")
        .values_list("key", "match_type")
    )


def tag_names(workspace: Workspace) -> list[str]:
    return list(
        Tag.objects.filter(workspace=workspace).order_by("name").values_list("name", flat=True)
    )


def saved_views(workspace: Workspace, actor: Actor) -> QuerySet[SavedView]:
    return SavedView.objects.filter(workspace=workspace, user_id=actor.user_id)


def saved_view_conditions(view: SavedView) -> Node:
    """The tree of a saved view: its stored JSON, else (a row from before the tree, or one
    whose JSON no longer reads) the tree of its query string. ValidationFailed when neither
    reads (the query's filter names the problem)."""
    if view.conditions:
        try:
            return tree_from_json(view.conditions)
        except ValidationFailed:
            pass
    return conditions_from_query(view.query, view.workspace)


# --- export ------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "company_name",
    "country",
    *ADDRESS_FIELDS,
    "date_of_birth",
    "owner_email",
    "lifecycle_stage",
    "stage_changed_at",
    "temperature",
    "consent_status",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "first_touch_channel",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "last_touch_channel",
    # The scores scoring keeps on the contact.
    "engagement_score",
    "fit_grade",
    "conversion_probability",
    "funnel_section",
    "outcome",
    "outcome_at",
    "tags",
)
_EXPORT_TIMES = ("stage_changed_at", "outcome_at")  # ISO 8601 in UTC, as created_at
# The columns read as they are: every one of EXPORT_COLUMNS before the tags (the last).
_PLAIN_COUNT = len(EXPORT_COLUMNS) - 1
EXPORT_CHUNK = 2000


def contact_export_rows(
    workspace: Workspace,
    actor: Actor,
    filters: Mapping[str, Any] | None = None,
    *,
    sort: str = "created_at",
    conditions: Node | None = None,
) -> Iterator[list[Any]]:
    """The contacts ``contact_list`` would show, as a header then one row per contact.

    Filters are checked at once (a bad filter raises here, before anything is streamed);
    rows are read ``EXPORT_CHUNK`` at a time with company and owner joined and tags loaded
    by one query per chunk, so the query count does not grow with the rows. Each custom
    field is a column ``custom.<key>``; tags and multi-choice values are joined with "; ".
    Values are plain (text, numbers, None): the CSV and Excel writers make them safe.
    """
    if sort not in CONTACT_SORTS:
        raise ValidationFailed([FieldError("sort", "Unknown sort.")])
    queryset = contact_list(workspace, actor, filters, conditions)
    tie = "-id" if sort.startswith("-") else "id"
    ordered = queryset.order_by(CONTACT_SORTS[sort], tie)
    keys = list(custom_field_list(workspace).values_list("key", flat=True))
    return ContactExportRows(ordered, keys)


class ContactExportRows:
    """The export's rows (header first) when iterated; on PostgreSQL, ``csv_pieces()`` gives
    the same rows as CSV text written by the database itself (COPY), for the CSV writers."""

    def __init__(self, queryset: QuerySet[Contact], keys: list[str]) -> None:
        self.queryset, self.keys = queryset, keys

    def header(self) -> list[str]:
        return [
            *EXPORT_COLUMNS,
            *(f"custom.{key}" for key in self.keys),
            "created_at",
            "updated_at",
        ]

    def __iter__(self) -> Iterator[list[Any]]:
        return _export_rows(self.queryset, self.keys, self.header())

    def csv_pieces(self) -> Iterator[str] | None:
        if connection.vendor != "postgresql":
            return None
        return _export_csv_copy(self.queryset, self.keys, self.header())


# What is read per contact: EXPORT_COLUMNS but the tags (added per chunk), then the custom
# fields and the dates.
_EXPORT_SOURCES = {"company_name": "company__name", "owner_email": "owner__email"}
_EXPORT_FIELDS = (
    *(_EXPORT_SOURCES.get(column, column) for column in EXPORT_COLUMNS if column != "tags"),
    "custom_fields",
    "created_at",
    "updated_at",
)


def _export_rows(
    queryset: QuerySet[Contact], keys: list[str], header: list[str]
) -> Iterator[list[Any]]:
    """Plain tuples from one streamed query (a server-side cursor on PostgreSQL), no model
    instances; the tags of each chunk of contacts come from one more query."""
    yield header
    through = Contact.tags.through
    tuples = (
        queryset.prefetch_related(None)
        .select_related(None)
        .values_list(*_EXPORT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for chunk in itertools.batched(tuples, EXPORT_CHUNK):
        tags: dict[int, list[str]] = {}
        for contact_id, name in (
            through.objects.filter(contact_id__in=[row[0] for row in chunk])
            .order_by("tag__name")
            .values_list("contact_id", "tag__name")
        ):
            tags.setdefault(contact_id, []).append(name)
        for row in chunk:
            custom = row[_PLAIN_COUNT] or {}
            yield [
                *(_plain_value(v) for v in row[:_PLAIN_COUNT]),
                "; ".join(tags.get(row[0], ())),
                *(_export_value(custom.get(key)) for key in keys),
                row[_PLAIN_COUNT + 1].isoformat(),
                row[_PLAIN_COUNT + 2].isoformat(),
            ]


def _export_csv_copy(
    queryset: QuerySet[Contact], keys: list[str], header: list[str]
) -> Iterator[str]:
    """The rows of ``_export_rows`` as CSV written by PostgreSQL (COPY ... TO STDOUT): each
    value turned into the text the Python writers would write (``_export_value``, ISO
    dates, tags joined in name order) and made safe by ``SPREADSHEET_SAFE_SQL``. Lines end
    with a line feed; empty cells are written empty, as csv.writer writes them."""
    fields = [name for name in _EXPORT_FIELDS if name != "custom_fields"]
    inner, params = (
        queryset.prefetch_related(None)
        .select_related(None)
        .values_list(*fields, "custom_fields")
        .query.sql_with_params()
    )
    names = [f"f{position}" for position in range(len(fields))] + ["custom"]

    def when(column: str) -> str:
        return (
            f"to_char(c.{column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"extract(microseconds FROM c.{column})::bigint %% 1000000 = 0 THEN '' ELSE "
            f"to_char(c.{column} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
        )

    tags = (
        "(SELECT string_agg(t.name, '; ' ORDER BY t.name) FROM contacts_contact_tags ct "
        "JOIN contacts_tag t ON t.id = ct.tag_id WHERE ct.contact_id = c.f0)"
    )
    # Each custom field's value (its key is a parameter, three times), as _export_value.
    value = "(c.custom -> %s)"
    custom = [
        f"CASE jsonb_typeof({value}) WHEN 'array' THEN (SELECT string_agg(e, '; ' "  # noqa: S608
        f"ORDER BY i) FROM jsonb_array_elements_text({value}) WITH ORDINALITY AS a(e, i)) "
        f"WHEN 'null' THEN NULL ELSE {value} #>> '{{}}' END"
    ] * len(keys)
    # EXPORT_COLUMNS (f0 to f<_PLAIN_COUNT - 1> then the tags; a date as ISO text), custom
    # fields, created_at, updated_at: each worked out once (v0, v1, ...), then made safe.
    times = {n: when(f"f{n}") for n in map(EXPORT_COLUMNS.index, _EXPORT_TIMES)}
    cells = [times.get(n, f"c.f{n}::text") for n in range(_PLAIN_COUNT)] + [tags, *custom]
    cells += [when(f"f{len(fields) - 2}"), when(f"f{len(fields) - 1}")]
    values = ", ".join(f"{cell} AS v{position}" for position, cell in enumerate(cells))
    safe = ", ".join(
        f"NULLIF({SPREADSHEET_SAFE_SQL.format(f'r.v{position}')}, '')"
        for position in range(len(cells))
    )
    # The inner query's order, said again (a subquery's order is not the outer one's).
    sorts = [
        (f"c.f{fields.index(name.lstrip('-'))} AS s{position}", name.startswith("-"))
        for position, name in enumerate(queryset.query.order_by)
    ]
    order = ", ".join(
        f"r.s{position}{' DESC' if descending else ''}"
        for position, (_, descending) in enumerate(sorts)
    )
    # OFFSET 0 keeps the values worked out once: a flattened subquery would repeat each
    # (the tags subquery among them) in every place the safety check names it.
    sql = (
        f"COPY (SELECT {safe} FROM (SELECT {values}, {', '.join(s for s, _ in sorts)} "  # noqa: S608
        f"FROM ({inner}) AS c({', '.join(names)}) ORDER BY {order.replace('r.', '')} "
        f"OFFSET 0) AS r ORDER BY {order}) TO STDOUT WITH (FORMAT csv)"
    )
    params = [key for key in keys for _ in range(3)] + list(params)
    first = io.StringIO()
    csv.writer(first, lineterminator="\n").writerow(header)  # the database ends lines so
    yield first.getvalue()
    with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        # The database sends a row at a time: hand on pieces of about 64 kB instead.
        piece, size = [], 0
        for block in copy:
            piece.append(block)
            size += len(block)
            if size >= 65536:
                yield b"".join(piece).decode("utf-8")
                piece, size = [], 0
        if piece:
            yield b"".join(piece).decode("utf-8")


def _plain_value(value: Any) -> Any:
    """A column's value as the database writes it: a date as ISO text, a whole float
    without its ".0" (scores)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _export_value(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value
