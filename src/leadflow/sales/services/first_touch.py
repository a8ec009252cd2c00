"""Speed to lead: a routed lead's first-touch clock (``FirstTouch``): started by routing,
stopped by the first touch a person makes, and acted on when its deadline passes.

Guarantees:

- One open clock per lead: routing a new or newly qualified lead (trigger ``created`` or
  ``mql``, by a rule) starts one unless the lead already has one running. It starts when
  the lead arrived (the contact's creation) or qualified (the routing), and its deadline
  is the rule's ``first_touch_minutes`` later, counted in the owner's working hours (his
  team membership's hours and time zone) when the rule says business hours.
- The clock stops at the first call, meeting or email a person logs or sends to the lead
  after it started (``TOUCH_KINDS`` activities with a user as actor): once, keeping the
  response time. The activity subscriber stops it after the commit; the deadline sweep
  first reads the timeline itself, so a touch made just before the deadline never draws a
  reminder because its announcement was still on its way.
- A missed deadline: the sweep (``first_touch_deadlines_process``, run every 30 s by the
  worker's clock) claims the reminder with a conditional UPDATE of ``reminded_at``, so
  each clock is reminded once however many sweeps run at once, writes
  ``first_touch.overdue`` on the timeline and schedules the email to the owner (or, for a
  lead still in a queue, to the team). ``escalate_after_minutes`` later, if still
  untouched, the escalation is claimed the same way (``escalated_at``): the team's leads
  (else the workspace's owners and admins) are told, or the lead is given to the next
  available member of the team.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError
from leadflow.core.models import NotificationKind
from leadflow.core.notifications import notifications_create
from leadflow.core.selectors import member_users
from leadflow.core.tasks import task_schedule
from leadflow.sales.hours import time_zone_get, working_deadline
from leadflow.sales.kinds import FIRST_TOUCH_ESCALATED, FIRST_TOUCH_OVERDUE
from leadflow.sales.models import (
    TOUCH_KINDS,
    Assignment,
    AssignmentRule,
    Escalation,
    FirstTouch,
    TeamMember,
    Trigger,
)

logger = logging.getLogger("leadflow.sales")

NOTIFY_TASK = "leadflow.sales.tasks.first_touch_notify"
SWEEP_BATCH = 500
CLOCK_ACTOR = "speed to lead"


@dataclass(frozen=True)
class Touch:
    """A person touching a lead: a ``TOUCH_KINDS`` activity by a user."""

    contact_id: int
    occurred_at: dt.datetime
    user_id: int
    kind: str


def first_touches_start(
    decisions: list[tuple[Assignment, Contact, AssignmentRule | None, str]], now: dt.datetime
) -> list[FirstTouch]:
    """Start the clocks of these routings (``(assignment, contact, rule, trigger)``; see the
    module's guarantees), set-based: one query for the clocks already running, one for the
    owners' working hours, one INSERT. Routing by hand, without a rule, or of a lead whose
    clock still runs starts none."""
    wanted = [
        (assignment, contact, rule, trigger)
        for assignment, contact, rule, trigger in decisions
        if rule is not None and trigger in (Trigger.CREATED, Trigger.MQL)
    ]
    if not wanted:
        return []
    running = set(
        FirstTouch.objects.filter(
            contact_id__in=[contact.pk for _, contact, _, _ in wanted], touched_at__isnull=True
        ).values_list("contact_id", flat=True)
    )
    hours = {
        (team_id, user_id): (working_hours, time_zone)
        for team_id, user_id, working_hours, time_zone in TeamMember.objects.filter(
            team_id__in={a.team_id for a, _, _, _ in wanted if a.team_id}
        ).values_list("team_id", "user_id", "working_hours", "time_zone")
    }
    clocks = []
    for assignment, contact, rule, trigger in wanted:
        if contact.pk in running:
            continue
        running.add(contact.pk)
        started = min(contact.created_at if trigger == Trigger.CREATED else now, now)
        due = escalate = None
        if rule.first_touch_minutes is not None:
            working, zone = {}, dt.UTC
            member = hours.get((assignment.team_id, assignment.owner_id))
            if rule.first_touch_business_hours and assignment.owner_id and member:
                working, zone = member[0], time_zone_get(member[1]) or dt.UTC
            due = working_deadline(working, zone, started, rule.first_touch_minutes)
            if rule.breach_escalation != Escalation.NONE:
                escalate = due + dt.timedelta(minutes=rule.escalate_after_minutes)
        clocks.append(
            FirstTouch(
                workspace_id=assignment.workspace_id,
                contact=contact,
                assignment=assignment,
                team_id=assignment.team_id,
                rule=rule,
                owner_id=assignment.owner_id,
                source=contact.first_touch_source[:200],
                started_at=started,
                due_at=due,
                escalation=rule.breach_escalation if escalate else "",
                escalate_at=escalate,
            )
        )
    return FirstTouch.objects.bulk_create(clocks)


def first_touches_record(touches: Iterable[Touch]) -> int:
    """Stop the running clocks these touches are the first touch of (earliest first; a
    touch before a clock started does not count for it); returns how many stopped."""
    stopped = 0
    for touch in sorted(touches, key=lambda touch: touch.occurred_at):
        running = FirstTouch.objects.filter(
            contact_id=touch.contact_id, touched_at__isnull=True, started_at__lte=touch.occurred_at
        ).values_list("pk", "started_at")
        for pk, started_at in running:
            seconds = max(0, int((touch.occurred_at - started_at).total_seconds()))
            stopped += FirstTouch.objects.filter(pk=pk, touched_at__isnull=True).update(
                touched_at=touch.occurred_at,
                touched_by_id=touch.user_id,
                touch_kind=touch.kind,
                response_seconds=seconds,
            )
    return stopped


def touches_from_activities(activities: Iterable[Activity]) -> list[Touch]:
    """The touches among these activities (a touch kind, by a person)."""
    return [
        Touch(activity.contact_id, activity.occurred_at, activity.actor_user_id, activity.kind)
        for activity in activities
        if activity.kind in TOUCH_KINDS and activity.actor_user_id is not None
    ]


def first_touch_deadlines_process(now: dt.datetime | None = None) -> dict[str, int]:
    """Remind and escalate every clock whose deadline or escalation time has passed
    untouched (see the module's guarantees); returns how many of each this call did."""
    now = now or timezone.now()
    done = {"reminded": 0, "escalated": 0}
    due = Q(reminded_at__isnull=True, due_at__lte=now) | Q(
        escalated_at__isnull=True, escalate_at__lte=now
    )
    after = 0
    while True:
        batch = list(
            FirstTouch.objects.filter(due, touched_at__isnull=True, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "contact_id", "started_at")[:SWEEP_BATCH]
        )
        if not batch:
            return done
        after = batch[-1][0]
        _touches_catch_up(batch)
        for clock in FirstTouch.objects.filter(
            pk__in=[pk for pk, _, _ in batch], touched_at__isnull=True
        ).select_related("workspace", "contact"):
            if clock.reminded_at is None and clock.due_at and clock.due_at <= now:
                done["reminded"] += _remind(clock, now)
            if clock.escalated_at is None and clock.escalate_at and clock.escalate_at <= now:
                done["escalated"] += _escalate(clock, now)


def _touches_catch_up(batch: list[tuple[int, int, dt.datetime]]) -> None:
    """Stop the clocks of this batch that a touch on the timeline already stopped (its
    announcement may not have reached the subscriber yet)."""
    earliest = min(started for _, _, started in batch)
    activities = Activity.objects.filter(
        contact_id__in={contact_id for _, contact_id, _ in batch},
        kind__in=TOUCH_KINDS,
        actor_user__isnull=False,
        occurred_at__gte=earliest,
    ).only("contact_id", "occurred_at", "actor_user_id", "kind")
    first_touches_record(touches_from_activities(activities))


def first_touch_recipients(clock: FirstTouch, kind: str) -> list[int]:
    """Who hears of an overdue first touch: for ``overdue`` the lead's owner (the team's
    members while it waits in a queue), for ``escalated`` the team's leads, else the
    workspace's owners and admins (user ids)."""
    members = TeamMember.objects.filter(team_id=clock.team_id).values_list("user_id", "is_lead")
    if kind == "overdue":
        owner_id = Contact.objects.filter(pk=clock.contact_id).values_list("owner_id", flat=True)
        owner = owner_id.first()
        return [owner] if owner else [user_id for user_id, _ in members]
    leads = [user_id for user_id, is_lead in members if is_lead]
    return leads or list(
        member_users(clock.workspace, permission="manage_members").values_list("pk", flat=True)
    )


def _tell_in_app(clock: FirstTouch, kind: str) -> None:
    """The in-app side of a reminder or an escalation, in the sweep's transaction."""
    contact = clock.contact
    notifications_create(
        workspace=clock.workspace,
        user_ids=first_touch_recipients(clock, kind),
        kind=NotificationKind.FIRST_TOUCH_OVERDUE,
        title=(
            f"First touch overdue: {contact}"
            if kind == "overdue"
            else f"Lead still untouched: {contact}"
        ),
        body=f"Due {clock.due_at:%Y-%m-%d %H:%M} UTC." if clock.due_at else "",
        link=reverse(
            "contact_detail",
            kwargs={"workspace_slug": clock.workspace.slug, "contact_id": contact.pk},
        ),
        contact_id=contact.pk,
    )


def _remind(clock: FirstTouch, now: dt.datetime) -> int:
    with transaction.atomic():
        claimed = FirstTouch.objects.filter(
            pk=clock.pk, touched_at__isnull=True, reminded_at__isnull=True
        ).update(reminded_at=now)
        if not claimed:
            return 0
        activity_record(
            workspace=clock.workspace,
            contact=clock.contact,
            kind=FIRST_TOUCH_OVERDUE,
            actor=Actor.system(CLOCK_ACTOR),
            data={
                "first_touch_id": clock.pk,
                "owner_id": clock.contact.owner_id,
                "due_at": clock.due_at.isoformat(),
            },
            occurred_at=now,
        )
        _tell_in_app(clock, "overdue")
        task_schedule(NOTIFY_TASK, clock.pk, "overdue")
    return 1


def _escalate(clock: FirstTouch, now: dt.datetime) -> int:
    # Imported here: routing starts clocks (imports this module) and escalation reroutes.
    from leadflow.sales.services.routing import leads_reassign

    with transaction.atomic():
        claimed = FirstTouch.objects.filter(
            pk=clock.pk, touched_at__isnull=True, escalated_at__isnull=True
        ).update(escalated_at=now)
        if not claimed:
            return 0
        action = clock.escalation
        to = None
        if action == Escalation.REASSIGN and clock.team_id is not None:
            try:
                with transaction.atomic():
                    made = leads_reassign(
                        workspace=clock.workspace,
                        contact_ids=[clock.contact_id],
                        actor=Actor.system(CLOCK_ACTOR),
                        team_id=clock.team_id,
                        exclude_user_ids={clock.contact.owner_id} - {None},
                        now=now,
                    )
                to = made[0].owner_id if made else None
            except DomainError:
                logger.exception("first touch %s: reassignment failed", clock.pk)
        if to is None:  # told the leads: asked to, or nobody to reassign to
            action = Escalation.NOTIFY_TEAM_LEAD
            _tell_in_app(clock, "escalated")
            task_schedule(NOTIFY_TASK, clock.pk, "escalated")
        activity_record(
            workspace=clock.workspace,
            contact=clock.contact,
            kind=FIRST_TOUCH_ESCALATED,
            actor=Actor.system(CLOCK_ACTOR),
            data={"first_touch_id": clock.pk, "action": action, "owner_id": to},
            occurred_at=now,
        )
    return 1
