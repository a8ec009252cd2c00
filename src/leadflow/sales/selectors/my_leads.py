"""The salesperson's queue ("My leads"): a member's own open leads, hot and new first, a
page at a time, each with what the salesperson needs to decide the next step.

The order is one SQL ``ORDER BY``: temperature (hot, warm, cold), then the conversion
probability (none counts as lowest), then the capture time (newest first), then the id.
The rows are bounded by the ``contact_ws_owner`` index (workspace, owner, -created_at):
the database reads one salesperson's leads and sorts those (a top-N sort, about 10,000
rows for a busy salesperson). No index covers the sort itself on purpose: temperature and
probability are rewritten by scoring all day, and an index on them would cost every
rescore its heap-only update (decision 0025).

Keyset pagination: the cursor carries the last row's (rank, probability, created_at, id),
so page 400 costs what page 1 does. A page is decorated by ``my_leads_rows`` in a fixed
number of queries, whatever its size.
"""

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, Temperature
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.sales.models import Assignment, FirstTouch, FollowUp, LeadSnooze
from leadflow.sales.selectors.routing import OPEN_STAGES
from leadflow.scoring.models import Prediction

ACTIVITIES_PER_LEAD = 3
REASONS_PER_LEAD = 2
_BAD_CURSOR = "This cursor is not valid."
_MAX_ID = 2**63 - 1
NO_PROBABILITY = -1.0  # sorts below every probability (0 to 1)


def _temperature_rank() -> Case:
    return Case(
        When(temperature=Temperature.HOT, then=Value(0)),
        When(temperature=Temperature.WARM, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


MY_LEADS_ORDER = ("queue_rank", "-queue_probability", "-created_at", "-id")


def my_leads(
    workspace: Workspace, user_id: int, *, now: dt.datetime | None = None
) -> QuerySet[Contact]:
    """``user_id``'s open leads (owned by them, stage lead / MQL / SQL / opportunity) that
    they have not snoozed past ``now``, in the queue's order, company loaded. Another
    workspace's leads, or someone else's, are never in it."""
    now = now or timezone.now()
    snoozed = LeadSnooze.objects.filter(contact_id=OuterRef("pk"), user_id=user_id, until__gt=now)
    return (
        Contact.objects.filter(
            workspace=workspace, owner_id=user_id, lifecycle_stage__in=OPEN_STAGES
        )
        .exclude(Exists(snoozed))
        .annotate(
            queue_rank=_temperature_rank(),
            queue_probability=Coalesce(
                "conversion_probability", Value(NO_PROBABILITY), output_field=FloatField()
            ),
        )
        .select_related("company")
        .order_by(*MY_LEADS_ORDER)
    )


@dataclass
class LeadsPage:
    items: list[Contact]
    next_cursor: str | None


def _encode(contact: Contact) -> str:
    values = [
        contact.queue_rank,
        contact.queue_probability,
        contact.created_at.isoformat(),
        contact.pk,
    ]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, float, dt.datetime, int]:
    """The (rank, probability, created_at, id) a cursor carries; anything else is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        rank, probability, created, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if (
            type(rank) is not int
            or rank not in (0, 1, 2)
            or type(probability) not in (int, float)
            or type(last_id) is not int
            or not 0 < last_id <= _MAX_ID
        ):
            raise ValueError
        created_at = dt.datetime.fromisoformat(created)
        if timezone.is_naive(created_at):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed([FieldError("cursor", _BAD_CURSOR)]) from None
    return rank, float(probability), created_at, last_id


def my_leads_page(queryset: QuerySet[Contact], *, cursor: str | None, limit: int) -> LeadsPage:
    """One page of ``my_leads`` after ``cursor`` (None: the first), and the next cursor
    (None: the last page). A cursor this function did not make answers 422."""
    if cursor:
        rank, probability, created_at, last_id = _decode(cursor)
        after = (
            Q(queue_rank__gt=rank)
            | Q(queue_rank=rank, queue_probability__lt=probability)
            | Q(queue_rank=rank, queue_probability=probability, created_at__lt=created_at)
            | Q(
                queue_rank=rank,
                queue_probability=probability,
                created_at=created_at,
                pk__lt=last_id,
            )
        )
        queryset = queryset.filter(after)
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return LeadsPage(rows, _encode(rows[-1]))
    return LeadsPage(rows, None)


@dataclass
class QueueRow:
    """One lead of the queue as the page shows it."""

    contact: Contact
    activities: list[Activity] = field(default_factory=list)
    first_touch: FirstTouch | None = None
    next_followup: FollowUp | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_touch_due(self) -> dt.datetime | None:
        return self.first_touch.due_at if self.first_touch else None


def my_leads_rows(workspace: Workspace, contacts: list[Contact]) -> list[QueueRow]:
    """The page's leads with their last ``ACTIVITIES_PER_LEAD`` activities, their running
    first-touch clock (with a deadline), their next open follow-up and the top
    ``REASONS_PER_LEAD`` factors of their probability: four queries, whatever the number
    of leads (none for an empty page)."""
    rows = {contact.pk: QueueRow(contact) for contact in contacts}
    if not rows:
        return []
    ids = list(rows)
    recent = (
        Activity.objects.filter(workspace=workspace, contact_id__in=ids)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("contact_id")],
                order_by=[F("occurred_at").desc(), F("id").desc()],
            )
        )
        .filter(position__lte=ACTIVITIES_PER_LEAD)
        .select_related("actor_user")
        .order_by("contact_id", "position")
    )
    for activity in recent:
        rows[activity.contact_id].activities.append(activity)
    clocks = FirstTouch.objects.filter(
        workspace=workspace, contact_id__in=ids, touched_at__isnull=True, due_at__isnull=False
    ).order_by("contact_id", "-started_at", "-id")
    for clock in clocks:
        if rows[clock.contact_id].first_touch is None:
            rows[clock.contact_id].first_touch = clock
    nexts = (
        FollowUp.objects.filter(workspace=workspace, contact_id__in=ids, done_at__isnull=True)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("contact_id")],
                order_by=[F("due_at").asc(), F("id").asc()],
            )
        )
        .filter(position=1)
    )
    for followup in nexts:
        rows[followup.contact_id].next_followup = followup
    predictions = Prediction.objects.filter(
        workspace_id=workspace.pk, contact_id__in=ids
    ).values_list("contact_id", "factors")
    for contact_id, factors in predictions:
        ranked = sorted(
            (f for f in factors or [] if isinstance(f, dict) and f.get("text")),
            key=lambda f: -abs(float(f.get("effect") or 0)),
        )
        rows[contact_id].reasons = ranked[:REASONS_PER_LEAD]
    return [rows[contact.pk] for contact in contacts]


def my_leads_changed(
    workspace: Workspace, user_id: int, *, since: dt.datetime, now: dt.datetime | None = None
) -> int:
    """How many leads came into ``user_id``'s queue after ``since``: given to them (an
    assignment, by routing, a claim or a hand-over) or back from a snooze that ended. A
    cheap poll (two index range reads); 0 means the queue shown at ``since`` is current
    but for leads that left it."""

    now = now or timezone.now()
    given = Assignment.objects.filter(
        workspace=workspace, owner_id=user_id, assigned_at__gt=since
    ).count()
    woke = LeadSnooze.objects.filter(
        workspace=workspace, user_id=user_id, until__gt=since, until__lte=now
    ).count()
    return given + woke
