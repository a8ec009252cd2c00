"""Moving enrolments through their sequence's steps (docs/nurture/sequences.md).

A run leases the enrolments whose time has come (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, one conditional UPDATE on SQLite, as the sender claims deliveries), then, per
sequence and in one transaction, checks the goal and the exit conditions for all of them
(one query each), and walks the rest forward step by step, a whole group of enrolments at a
time: the contacts standing on the same step are handled together (one ``message_send`` for
an email step, one bulk action for a tag, one query for a branch). An enrolment stops at a
wait step (asleep until ``wake_at``) or at the end. Every passed step is an
``EnrollmentStep`` row; the step, the wake time and what the steps did commit together, so
a run that dies changes nothing and the next one (after the lease) does it again. Sending
twice is impossible anyway: a delivery is unique per (message, contact, step, entry).
"""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services.bulk import contacts_bulk_action
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.nurture.models import Message, Segment
from leadflow.nurture.models.sequences import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    Sequence,
    SequenceStatus,
)
from leadflow.nurture.reply_kinds import REPLY_KINDS
from leadflow.nurture.selectors.pacing import pacing_settings_get, settings_zone
from leadflow.nurture.sequence_kinds import SEQUENCE_FINISHED, sequence_data
from leadflow.nurture.services.sequence_triggers import is_own, sequence_actor, trigger_matches
from leadflow.nurture.zones import contact_zone, next_wall_time

logger = logging.getLogger("leadflow.sequences")
LEASE = dt.timedelta(minutes=5)
BATCH = 500

BULK_ACTION = {
    "tag": "tag",
    "untag": "untag",
    "stage": "set_stage",
    "owner": "assign_owner",
    "field": "set_field",
}
STEP_VALUE = {"tag": "tag", "untag": "tag", "stage": "stage", "owner": "user_id"}


@dataclass
class RunResult:
    claimed: int = 0
    moved: int = 0
    finished: dict[str, int] = field(default_factory=dict)


@dataclass
class _Walker:
    """An enrolment in memory while a run moves it."""

    pk: int
    contact_id: int
    entry: int
    step: int | None
    waiting: bool
    waiting_since: dt.datetime | None
    wake_at: dt.datetime | None = None
    passed: list[tuple[int, str]] = field(default_factory=list)
    done: str = ""  # the final status when it finished in this run


def enrollments_claim(*, owner: str, limit: int, now: dt.datetime) -> int:
    table = Enrollment._meta.db_table
    sequences = Sequence._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET lease_owner = %s, lease_expires_at = %s
                WHERE id IN (
                    SELECT e.id FROM {table} e
                    WHERE e.status = 'active' AND e.wake_at <= %s
                      AND (e.lease_expires_at IS NULL OR e.lease_expires_at < %s)
                      AND e.sequence_id IN (SELECT id FROM {sequences} WHERE status = 'active')
                    ORDER BY e.wake_at, e.id LIMIT %s{lock})""",  # noqa: S608
            [owner, now + LEASE, now, now, limit],
        )
        return max(cursor.rowcount, 0)


def sequences_run(*, limit: int = BATCH, now: dt.datetime | None = None) -> RunResult:
    """Move the enrolments whose time has come (up to ``limit``); returns what it did."""
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    result = RunResult(claimed=enrollments_claim(owner=owner, limit=limit, now=now))
    if not result.claimed:
        return result
    rows = list(
        Enrollment.objects.filter(lease_owner=owner, status=EnrollmentStatus.ACTIVE).values(
            "pk", "sequence_id", "contact_id", "entry", "step", "waiting", "waiting_since"
        )
    )
    by_sequence: dict[int, list[_Walker]] = defaultdict(list)
    for row in rows:
        by_sequence[row.pop("sequence_id")].append(_Walker(**row))
    sequences = Sequence.objects.select_related("workspace").in_bulk(list(by_sequence))
    for sequence_id, walkers in by_sequence.items():
        with transaction.atomic():
            _advance(sequences[sequence_id], walkers, now, result)
    return result


def _matching(sequence: Sequence, tree_json: dict, contact_ids: list[int], now) -> set[int]:
    if not tree_json or not contact_ids:
        return set()
    context = ConditionContext(sequence.workspace, now=now)
    query = conditions_compile(tree_from_json(tree_json), context)
    return set(
        Contact.objects.filter(workspace_id=sequence.workspace_id, pk__in=contact_ids)
        .filter(query)
        .values_list("pk", flat=True)
    )


def _replied(sequence: Sequence, walkers: list) -> set[int]:
    """The enrolments whose contact replied (``REPLY_KINDS``: never an auto-reply) since
    entering: one query."""
    if not sequence.exit_on_reply or not walkers:
        return set()
    replies = Activity.objects.filter(
        workspace_id=sequence.workspace_id,
        kind__in=REPLY_KINDS,
        contact_id=OuterRef("contact_id"),
        occurred_at__gte=OuterRef("enrolled_at"),
    )
    return set(
        Enrollment.objects.filter(pk__in=[walker.pk for walker in walkers])
        .filter(Exists(replies))
        .values_list("pk", flat=True)
    )


def outcomes_check(sequence: Sequence, walkers: list, now: dt.datetime) -> dict[int, str]:
    """Which of these enrolments meet the goal (converted), an exit condition (exited) or,
    with ``exit_on_reply`` on, replied (``REPLIED``: exited, for that reason): {enrolment
    id: outcome}; the goal wins, then the exit conditions."""
    contact_ids = [walker.contact_id for walker in walkers]
    goal = _matching(sequence, sequence.goal, contact_ids, now)
    leaving = _matching(sequence, sequence.exit_conditions, contact_ids, now)
    replied = _replied(sequence, walkers)
    outcome = {}
    for walker in walkers:
        if walker.contact_id in goal:
            outcome[walker.pk] = EnrollmentStatus.CONVERTED
        elif walker.contact_id in leaving:
            outcome[walker.pk] = EnrollmentStatus.EXITED
        elif walker.pk in replied:
            outcome[walker.pk] = REPLIED
    return outcome


# An exit because the contact replied: status exited, its own reason.
REPLIED = "replied"
REASONS = {
    EnrollmentStatus.CONVERTED: "Met the goal",
    EnrollmentStatus.EXITED: "Met an exit condition",
    REPLIED: "Replied",
    EnrollmentStatus.COMPLETED: "Reached the end",
}


def _advance(sequence: Sequence, walkers: list[_Walker], now, result: RunResult) -> None:
    if sequence.status != SequenceStatus.ACTIVE:
        Enrollment.objects.filter(pk__in=[w.pk for w in walkers]).update(lease_owner="")
        return
    by_pk = {walker.pk: walker for walker in walkers}
    for pk, status in outcomes_check(sequence, walkers, now).items():
        by_pk[pk].done = status
    moving = [walker for walker in walkers if not walker.done]
    for _ in range(len(sequence.steps) + 2):  # a DAG: each round moves every walker on
        if not moving:
            break
        groups: dict[int | None, list[_Walker]] = defaultdict(list)
        for walker in moving:
            groups[walker.step].append(walker)
        moving = []
        for step_id, group in groups.items():
            moving.extend(_step_run(sequence, sequence.step(step_id), group, now))
    _write_back(sequence, walkers, now, result)


def _step_run(sequence: Sequence, step: dict | None, group: list[_Walker], now) -> list:
    """Run one step for the walkers standing on it; returns those that moved on (to run
    their next step in this run)."""
    if step is None:
        for walker in group:
            walker.done = EnrollmentStatus.COMPLETED
        return []
    kind = step["type"]
    contact_ids = [walker.contact_id for walker in group]
    outcome: dict[int, str] = {}
    if kind in ("wait", "wait_until", "wait_for"):
        group = _waits(sequence, step, group, now, outcome)
    else:
        try:
            with transaction.atomic():  # a savepoint: a refused action undoes only itself
                _act(sequence, step, group, contact_ids, now, outcome)
        except (ValidationFailed, NotFound, Conflict) as refused:
            # A step the data no longer allows (an owner who left, a list deleted...):
            # logged on the enrolment's step as "failed", and the contacts go on.
            logger.warning("sequence %s step %s refused: %s", sequence.pk, step["id"], refused)
            for walker in group:
                outcome[walker.pk] = "failed"
    moved = []
    for walker in group:
        result = outcome.get(walker.pk, "")
        walker.passed.append((step["id"], result))
        link = {"yes": "yes", "no": "no", "timeout": "timeout_next"}.get(result, "next")
        if result == "failed" and step["type"] == "branch":
            link = "no"  # conditions that cannot be read any more: the cautious way
        walker.step = step.get(link)
        walker.waiting = False
        walker.waiting_since = now
        if walker.step is None:
            walker.done = EnrollmentStatus.COMPLETED
        else:
            moved.append(walker)
    return moved


def _act(sequence, step, group, contact_ids, now, outcome) -> None:
    """What an action step does, for the walkers standing on it (one call per group)."""
    kind = step["type"]
    if kind == "email":
        _email(sequence, step, group)
    elif kind == "branch":
        yes = _matching(sequence, step["conditions"], contact_ids, now)
        for walker in group:
            outcome[walker.pk] = "yes" if walker.contact_id in yes else "no"
    elif kind in BULK_ACTION:
        contacts_bulk_action(
            workspace=sequence.workspace,
            contact_ids=contact_ids,
            action=BULK_ACTION[kind],
            value=(
                {"field": step["field"], "value": step["value"]}
                if kind == "field"
                else step[STEP_VALUE[kind]]
            ),
            actor=sequence_actor(sequence),
        )
    elif kind == "list_add":
        _list_add(sequence, step, contact_ids)
    elif kind == "enroll":
        _enroll_other(sequence, step, contact_ids, now)
    elif kind == "notify_owner":
        _notify_owners(sequence, step, contact_ids)
    elif kind == "sms":
        from leadflow.nurture.services.sms import sms_enqueue

        sms_enqueue(sequence=sequence, step=step, walkers=group, now=now)
    elif kind == "followup":
        from leadflow.contacts.actions import contact_action_get

        action = contact_action_get("sales.followup")
        if action is not None:
            params = {k: step[k] for k in ("title", "due_hours", "kind") if k in step}
            action.run(sequence.workspace, contact_ids, params, sequence_actor(sequence))


def _waits(sequence, step, group, now, outcome) -> list:
    """The walkers whose wait is over (the others fall asleep until ``wake_at``). One that
    just arrived sleeps until the wait's end; one woken at its time (or by the activity)
    goes on."""
    kind = step["type"]
    over: list = []
    arrived = [walker for walker in group if not walker.waiting]
    woken = [walker for walker in group if walker.waiting]
    if kind == "wait_for":
        happened = _did(sequence, step["kind"], group)
        for walker in group:
            since = walker.waiting_since or now
            deadline = since + dt.timedelta(seconds=step["timeout_seconds"])
            if walker.contact_id in happened.get(walker.pk, ()):
                outcome[walker.pk] = "activity"
                over.append(walker)
            elif walker.waiting and now >= deadline:
                outcome[walker.pk] = "timeout"
                over.append(walker)
            else:
                walker.waiting, walker.wake_at = True, deadline
        return over
    if kind == "wait":
        for walker in arrived:
            since = walker.waiting_since or now
            walker.waiting, walker.wake_at = True, since + dt.timedelta(seconds=step["seconds"])
            if walker.wake_at <= now:
                over.append(walker)
    else:  # wait_until
        zones = _zones(sequence, [walker.contact_id for walker in arrived])
        hours, minutes = map(int, step["time"].split(":"))
        for walker in arrived:
            walker.waiting = True
            walker.wake_at = next_wall_time(
                now, zones[walker.contact_id], step["weekdays"], dt.time(hours, minutes)
            )
    return over + woken


def _did(sequence, kind: str, group: list[_Walker]) -> dict[int, set[int]]:
    """{enrolment: {contact}} for walkers whose contact did ``kind`` since they arrived."""
    earliest = min((w.waiting_since for w in group if w.waiting_since), default=None)
    if earliest is None:
        return {}
    seen = defaultdict(list)
    for contact_id, at in Activity.objects.filter(
        workspace_id=sequence.workspace_id,
        kind=kind,
        contact_id__in=[w.contact_id for w in group],
        occurred_at__gte=earliest,
    ).values_list("contact_id", "occurred_at"):
        seen[contact_id].append(at)
    return {
        w.pk: {w.contact_id}
        for w in group
        if w.waiting_since and any(at >= w.waiting_since for at in seen.get(w.contact_id, ()))
    }


def _zones(sequence: Sequence, contact_ids: list[int]) -> dict:
    default = settings_zone(pacing_settings_get(sequence.workspace_id))
    return {
        pk: contact_zone(phone=phone or "", country=country or "", default=default)
        for pk, phone, country in Contact.objects.filter(pk__in=contact_ids).values_list(
            "pk", "phone", "country"
        )
    }


def _email(sequence: Sequence, step: dict, group: list[_Walker]) -> None:
    from leadflow.nurture.services.sending import message_send

    message = Message.objects.filter(
        workspace_id=sequence.workspace_id, pk=step["message_id"]
    ).first()
    if message is None:  # deleted since: the step passes, nothing to send
        return
    by_entry: dict[int, list[int]] = defaultdict(list)
    for walker in group:
        by_entry[walker.entry].append(walker.contact_id)
    for entry, contact_ids in by_entry.items():
        # The step's id in the delivery's key: the same message at two steps goes twice,
        # at one step of one entry once, however often this runs.
        message_send(message=message, contact_ids=contact_ids, step=step["id"], entry=entry)


def _list_add(sequence: Sequence, step: dict, contact_ids: list[int]) -> None:
    from leadflow.nurture.models import MemberSource, SegmentKind
    from leadflow.nurture.services.segments import segment_members_add

    segment = Segment.objects.filter(
        workspace_id=sequence.workspace_id, pk=step["segment_id"], kind=SegmentKind.STATIC
    ).first()
    if segment is not None:
        segment_members_add(
            workspace=sequence.workspace,
            segment=segment,
            contact_ids=contact_ids,
            actor=sequence_actor(sequence),
            source=MemberSource.SEQUENCE,
        )


def _notify_owners(sequence: Sequence, step: dict, contact_ids: list[int]) -> None:
    """Each contact's owner is told, in the app and by email (one notification each)."""
    from leadflow.core.notifications import notifications_create

    for contact_id, owner_id, first, last, email in Contact.objects.filter(
        workspace_id=sequence.workspace_id, pk__in=contact_ids, owner__isnull=False
    ).values_list("pk", "owner_id", "first_name", "last_name", "email"):
        name = " ".join(part for part in (first, last) if part) or email or f"Contact {contact_id}"
        notifications_create(
            workspace=sequence.workspace,
            user_ids=[owner_id],
            kind="sequence",
            title=f"{step['title']}: {name}"[:200],
            body=f"From the sequence “{sequence.name}”.",
            link=f"/w/{sequence.workspace.slug}/contacts/{contact_id}/",
            contact_id=contact_id,
            email=True,
        )


def _enroll_other(sequence: Sequence, step: dict, contact_ids: list[int], now) -> None:
    from leadflow.nurture.services.sequences import enroll

    other = Sequence.objects.filter(workspace_id=sequence.workspace_id, pk=step["sequence_id"])
    target = other.select_related("workspace").first()
    if target is not None and target.pk != sequence.pk:
        enroll(
            workspace=sequence.workspace,
            sequence=target,
            contact_ids=contact_ids,
            actor=sequence_actor(sequence),
            source="sequence",
            now=now,
        )


def _write_back(sequence: Sequence, walkers: list[_Walker], now, result: RunResult) -> None:
    EnrollmentStep.objects.bulk_create(
        [
            EnrollmentStep(
                enrollment_id=walker.pk, sequence=sequence, step=step, outcome=outcome, at=now
            )
            for walker in walkers
            for step, outcome in walker.passed
        ],
        ignore_conflicts=True,
    )
    # Walkers that stopped at the same place share their new values (the same step and
    # wait): one UPDATE per such group, not a CASE per row.
    staying: dict[tuple, list[int]] = defaultdict(list)
    for walker in walkers:
        if not walker.done:
            wake = walker.wake_at if walker.waiting else now
            staying[(walker.step, walker.waiting, walker.waiting_since, wake)].append(walker.pk)
    for (step, waiting, since, wake), ids in staying.items():
        Enrollment.objects.filter(pk__in=ids).update(
            step=step,
            waiting=waiting,
            waiting_since=since,
            wake_at=wake,
            lease_owner="",
            lease_expires_at=None,
        )
    result.moved += sum(1 for walker in walkers if walker.passed)
    ending: dict[str, list[_Walker]] = defaultdict(list)
    for walker in walkers:
        if walker.done:
            ending[walker.done].append(walker)
    for outcome, group in ending.items():
        status = EnrollmentStatus.EXITED if outcome == REPLIED else outcome
        finish(
            sequence,
            [walker.pk for walker in group],
            [walker.contact_id for walker in group],
            status,
            reason=REASONS.get(outcome, ""),
            actor=sequence_actor(sequence),
            now=now,
        )
        result.finished[status] = result.finished.get(status, 0) + len(group)


def finish(
    sequence: Sequence,
    enrollment_ids: list[int],
    contact_ids: list[int],
    status: str,
    *,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> int:
    """End these active enrolments with ``status`` (one UPDATE) and write each contact's
    ``sequence.finished``. Only those still active change (a racing end wins once)."""
    from leadflow.nurture.services.sequences import activities_write

    ids = list(
        Enrollment.objects.filter(
            pk__in=enrollment_ids, status=EnrollmentStatus.ACTIVE
        ).values_list("pk", "contact_id")
    )
    if not ids:
        return 0
    Enrollment.objects.filter(pk__in=[pk for pk, _ in ids]).update(
        status=status,
        finished_at=now,
        reason=reason[:200],
        wake_at=None,
        waiting=False,
        lease_owner="",
        lease_expires_at=None,
    )
    data = sequence_data(sequence, outcome=str(status), reason=reason)
    activities_write(
        sequence.workspace_id,
        [(contact, SEQUENCE_FINISHED, data) for _, contact in ids],
        actor=actor,
        now=now,
    )
    return len(ids)


# --- reacting to activities (the subscriber) -------------------------------------------------


def activities_react(workspace: Workspace, activities: list[Activity]) -> None:
    """Triggers enrol, a waited-for activity wakes its enrolment, and the goal and exit
    conditions are checked at once for the contacts the activities are about."""
    from leadflow.nurture.services.sequences import enroll, run_schedule

    sequences = list(
        Sequence.objects.filter(workspace=workspace, status=SequenceStatus.ACTIVE).select_related(
            "workspace"
        )
    )
    if not sequences:
        return
    now = timezone.now()
    contact_ids = sorted({activity.contact_id for activity in activities})
    kinds = {activity.kind for activity in activities}
    woke = 0
    for sequence in sequences:
        starting = [
            a.contact_id
            for a in activities
            if trigger_matches(sequence, a) and not is_own(sequence, a.actor_label)
        ]
        if starting:
            enroll(
                workspace=workspace,
                sequence=sequence,
                contact_ids=starting,
                actor=Actor.system("sequence trigger"),
                source=sequence.trigger.get("kind", ""),
                now=now,
            )
        waiting_steps = [
            step["id"]
            for step in sequence.steps
            if step["type"] == "wait_for" and step.get("kind") in kinds
        ]
        if waiting_steps:
            woke += Enrollment.objects.filter(
                sequence=sequence,
                status=EnrollmentStatus.ACTIVE,
                waiting=True,
                step__in=waiting_steps,
                contact_id__in=contact_ids,
            ).update(wake_at=now)
        if sequence.goal or sequence.exit_conditions or sequence.exit_on_reply:
            _outcomes_now(sequence, contact_ids, now)
    if woke:
        run_schedule()


def _outcomes_now(sequence: Sequence, contact_ids: list[int], now) -> None:
    walkers = [
        _Walker(pk=pk, contact_id=contact, entry=0, step=step, waiting=True, waiting_since=None)
        for pk, contact, step in Enrollment.objects.filter(
            sequence=sequence, status=EnrollmentStatus.ACTIVE, contact_id__in=contact_ids
        ).values_list("pk", "contact_id", "step")
    ]
    by_pk = {walker.pk: walker for walker in walkers}
    ending: dict[str, list[_Walker]] = defaultdict(list)
    for pk, status in outcomes_check(sequence, walkers, now).items():
        ending[status].append(by_pk[pk])
    for outcome, group in ending.items():
        finish(
            sequence,
            [w.pk for w in group],
            [w.contact_id for w in group],
            EnrollmentStatus.EXITED if outcome == REPLIED else outcome,
            reason=REASONS[outcome],
            actor=sequence_actor(sequence),
            now=now,
        )
