"""The fields sales adds to contacts' condition language (docs/conditions.md), so the
home page's counts and the contacts list they link to are the same query:

- ``assigned_at`` (date-time): when the lead was given to its current owner (by routing, a
  claim or by hand); empty for a lead without an owner or never assigned through sales.
  ``owner eq me`` with ``assigned_at gte <time>`` is "new leads given to me since then".
- ``first_touch_overdue`` (``eq true`` / ``eq false``): the lead has a first-touch clock
  that is past its deadline with no touch yet.
"""

from typing import Any

from django.db.models import Exists, OuterRef, Q

from leadflow.contacts.conditions import (
    ConditionContext,
    ConditionField,
    column_compile,
    condition_field_register,
)
from leadflow.sales.models import Assignment, FirstTouch

_ASSIGNED_AT_COLUMN = ConditionField(key="assigned_at", type="datetime", column="assigned_at")


def assigned_at_compile(context: ConditionContext, operator: str, value: Any) -> Q:
    """Contacts with an assignment to their current owner whose time meets the test."""
    given = Assignment.objects.filter(
        workspace_id=context.workspace.pk,
        contact_id=OuterRef("pk"),
        owner_id=OuterRef("owner_id"),
        queued=False,
    ).filter(column_compile(_ASSIGNED_AT_COLUMN, context, operator, value))
    return Q(Exists(given))


def first_touch_overdue_compile(context: ConditionContext, operator: str, value: Any) -> Q:
    """Contacts with (``true``) or without (``false``) an untouched clock past its due time."""
    overdue = FirstTouch.objects.filter(
        workspace_id=context.workspace.pk,
        contact_id=OuterRef("pk"),
        touched_at__isnull=True,
        due_at__lt=context.now,
    )
    condition = Q(Exists(overdue))
    return condition if value is True else ~condition


SALES_FIELDS = (
    ConditionField(
        key="assigned_at",
        type="datetime",
        label="Given to its owner at",
        compile=assigned_at_compile,
    ),
    ConditionField(
        key="first_touch_overdue",
        type="boolean",
        label="First touch overdue",
        operators=("eq",),
        compile=first_touch_overdue_compile,
    ),
)


def register() -> None:
    """Register sales' condition fields (from SalesConfig.ready)."""
    condition_field_register(*SALES_FIELDS)
