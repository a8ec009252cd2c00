"""The contacts list's simple query parameters (the UI's and the API's) as a condition tree:
the one translation both read, with the messages those parameters always had."""

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from leadflow.contacts.conditions.fields import ConditionContext
from leadflow.contacts.conditions.tree import Condition, Group, Node, tree_from_json
from leadflow.contacts.inputs import custom_value_clean
from leadflow.contacts.models import (
    FIT_GRADES,
    CustomField,
    FunnelSection,
    LifecycleStage,
    Temperature,
)
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.validation import json_parse, phone_normalise

SIMPLE_PARAMETERS = frozenset(
    {
        "email",
        "phone",
        "stage",
        "owner",
        "tag",
        "company",
        "temperature",
        "grade",
        "funnel",
        "score_min",
        "created_after",
        "created_before",
        "created_from",
        "created_to",
        "q",
        "custom",
        "import",
    }
)
_MAX_ID = 2**63 - 1
NOTHING = Group("any", ())


def conditions_from_params(
    params: Mapping[str, Any],
    workspace: Workspace | None = None,
    *,
    context: ConditionContext | None = None,
) -> Group:
    """An "all" group with one condition per parameter given. ``workspace`` is needed for
    ``phone`` (its default country) and ``custom`` (its fields) only; a ``context`` gives
    both, and its custom fields are read once for the translation and the compiling.

    email (exact, lower-cased), phone (normalised), stage, temperature, owner (a user id or
    "none"), tag (a name), company (an id), created_after / created_before (ISO date-times,
    a bare date read as UTC), created_from / created_to (days, both included, in the
    server's time zone), grade (a fit grade: that grade or better), funnel (a funnel
    section), score_min (an engagement score at least this), q (free text), import (an
    import job's id), custom ({key: value}: equality, or "holds every value" for a
    multi-choice field). A value no contact can have
    (an unknown stage) gives a group that matches none, as the filter always did."""
    params = {key: value for key, value in params.items() if value not in (None, "")}
    workspace = context.workspace if context is not None else workspace
    children: list[Node] = []
    errors: list[FieldError] = []
    for name, value in params.items():
        if isinstance(value, str) and "\x00" in value:
            errors.append(FieldError(name, "Must not hold a NUL character."))
            continue
        try:
            children.extend(_translate(name, value, workspace, context))
        except ValidationFailed as failure:
            errors.extend(failure.errors)
    if errors:
        raise ValidationFailed(errors)
    return Group("all", tuple(children))


def conditions_from_query(query: str, workspace: Workspace | None = None) -> Group:
    """The tree of a contacts-list query string (a saved view's ``query``): its simple
    parameters and ``custom.<key>`` ones, ANDed with the tree whose JSON form is its
    ``conditions`` parameter (the list's advanced filter, as the API's ``conditions``);
    anything else (sort, cursor) is not a condition."""
    from django.http import QueryDict

    data = QueryDict(query)
    params: dict[str, Any] = {
        key: data.get(key, "").strip() for key in data if key in SIMPLE_PARAMETERS
    }
    custom = {
        key.removeprefix("custom."): data.get(key, "")
        for key in data
        if key.startswith("custom.") and data.get(key, "")
    }
    if custom:
        params["custom"] = custom
    tree = conditions_from_params(params, workspace)
    text = data.get("conditions", "").strip()
    if not text:
        return tree
    advanced = tree_from_json(json_parse(text, field="conditions", check_text=False))
    return Group("all", (*tree.children, advanced))


def _translate(
    name: str, value: Any, workspace: Workspace | None, context: ConditionContext | None
) -> list[Node]:
    if name == "email":
        email = str(value).strip().lower()
        return [Condition("email", "eq", email) if 0 < len(email) <= 254 else NOTHING]
    if name == "phone":
        country = workspace.default_country if workspace else ""
        phone = phone_normalise(str(value), default_country=country, field="phone")
        return [Condition("phone", "eq", phone) if phone else NOTHING]
    if name in ("stage", "temperature"):
        field, choices = {
            "stage": ("lifecycle_stage", LifecycleStage.values),
            "temperature": ("temperature", Temperature.values),
        }[name]
        return [Condition(field, "eq", value) if value in choices else NOTHING]
    if name == "grade":
        return [Condition("fit_grade", "at_least", value) if value in FIT_GRADES else NOTHING]
    if name == "funnel":
        fits = value in FunnelSection.values
        return [Condition("funnel_section", "eq", value) if fits else NOTHING]
    if name == "score_min":
        try:
            points = float(str(value))
        except ValueError:
            points = math.nan
        if not math.isfinite(points) or abs(points) > 1e9:
            raise ValidationFailed([FieldError(name, "A number of points.")])
        return [Condition("engagement_score", "gte", points)]
    if name == "owner":
        if value == "none":
            return [Condition("owner", "is_empty")]
        return [Condition("owner", "eq", _int(value, "owner"))]
    if name in ("company", "import"):
        return [Condition(name, "eq", _int(value, name))]
    if name == "tag":
        tag = str(value)
        fits = tag.strip() == tag and len(tag) <= 60  # Tag.name holds 60
        return [Condition("tags", "has_any", [tag]) if fits else NOTHING]
    if name in ("created_after", "created_before"):
        moment = datetime_parse(str(value), name).isoformat()
        return [Condition("created_at", "gte" if name == "created_after" else "lt", moment)]
    if name in ("created_from", "created_to"):
        try:
            day = dt.date.fromisoformat(str(value)) + dt.timedelta(
                days=0 if name == "created_from" else 1
            )
        except ValueError:
            raise ValidationFailed([FieldError(name, "Use a date as YYYY-MM-DD.")]) from None
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min)).isoformat()
        return [Condition("created_at", "gte" if name == "created_from" else "lt", moment)]
    if name == "q":
        needle = " ".join(str(value).lower().split())[:100]
        return [Condition("search", "matches", needle)] if needle else []
    if name == "custom":
        return _custom(value, workspace, context)
    raise ValidationFailed([FieldError(name, "Unknown filter.")])


def _custom(
    custom: Any, workspace: Workspace | None, context: ConditionContext | None
) -> list[Node]:
    if not isinstance(custom, Mapping):
        raise ValidationFailed([FieldError("custom", "Use custom.<key>=<value>.")])
    if context is not None:
        definitions = context.custom_fields
    else:
        definitions = {d.key: d for d in CustomField.objects.filter(workspace=workspace)}
    nodes: list[Node] = []
    for key, value in custom.items():
        definition = definitions.get(key)
        if definition is None:
            raise ValidationFailed([FieldError(f"custom.{key}", "Unknown custom field.")])
        try:
            typed = custom_value_clean(definition, value)
        except ValueError as error:
            raise ValidationFailed([FieldError(f"custom.{key}", str(error))]) from None
        if definition.field_type == "multi_choice":
            nodes.append(Condition(f"custom.{key}", "has_all", typed))
        elif typed == "":
            nodes.append(NOTHING)
        else:
            nodes.append(Condition(f"custom.{key}", "eq", typed))
    return nodes


def datetime_parse(value: str, name: str) -> dt.datetime:
    """An aware date-time from ISO text; a bare date or naive time is read as UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        parsed.astimezone(dt.UTC)  # year 1 or 9999 with an offset has no UTC time
    except (ValueError, OverflowError):
        raise ValidationFailed([FieldError(name, "Use an ISO date or date-time.")]) from None
    return parsed


def _int(value: Any, name: str) -> int:
    """An id from a filter: a whole number a row can have (64-bit), else a 422."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed([FieldError(name, "Must be a whole number.")]) from None
    if not 0 <= number <= _MAX_ID:
        raise ValidationFailed([FieldError(name, "No such id.")])
    return number
