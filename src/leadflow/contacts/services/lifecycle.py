"""Lifecycle stage and consent moves: a submission's promotion (capture), the set-based
advance scoring's MQL rule and sales' accept / reject use, and what every stage change
writes beside the stage (``Contact.stage_changed_at``, and the outcome a customer or a
disqualified contact has: docs/lifecycle.md)."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from leadflow.contacts.kind_writers import stage_changed_data
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Contact,
    LifecycleStage,
    Outcome,
)
from leadflow.contacts.services.activities import (
    activities_record_many,
    activity_record,
    actor_columns,
)
from leadflow.contacts.services.consent import consent_status_set
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace

# The outcome a stage means: a customer was won, a disqualified contact lost.
OUTCOME_OF_STAGE: dict[str, str] = {
    LifecycleStage.CUSTOMER: Outcome.WON,
    LifecycleStage.DISQUALIFIED: Outcome.LOST,
}
# Contact ids per statement of a set-based advance (SQLite's bound-parameter limit).
IDS_PER_STATEMENT = 5000


def stage_change_apply(contact: Contact, before: str, after: str, now: dt.datetime) -> None:
    """Set what a stage change writes beside the stage on an instance about to be saved:
    when it changed, and the outcome its new stage means (won for customer, lost for
    disqualified) unless the contact already has that outcome (its date is kept). Moving
    out of customer or disqualified keeps the outcome: it happened."""
    if before == after:
        return
    contact.stage_changed_at = now
    outcome = OUTCOME_OF_STAGE.get(after)
    if outcome and contact.outcome != outcome:
        contact.outcome = outcome
        contact.outcome_at = now


def stage_change_columns(stage: str, now: dt.datetime) -> dict:
    """The same as ``stage_change_apply`` as UPDATE values for rows all moving to
    ``stage`` (apply them only to rows whose stage differs)."""
    values: dict = {"lifecycle_stage": stage, "stage_changed_at": now}
    outcome = OUTCOME_OF_STAGE.get(stage)
    if outcome:
        values["outcome_at"] = Case(
            When(outcome=outcome, then=F("outcome_at")),
            default=Value(now),
            output_field=DateTimeField(),
        )
        values["outcome"] = Value(outcome)
    return values


def contact_stage_promote(
    *,
    workspace: Workspace,
    contact: Contact,
    stage: str,
    actor: Actor,
    reason: str = "",
) -> bool:
    """Move a known contact to ``stage`` because of a new submission (a form, a lead
    source), as far as ``LifecycleStage.submission_moves`` allows: forward inside the
    funnel only (a customer who fills a form stays a customer; a nurtured or disqualified
    contact stays parked). Records ``stage.changed`` with the reason. Returns True if moved."""
    current = contact.lifecycle_stage
    if not LifecycleStage.submission_moves(current, stage):
        return False
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(**stage_change_columns(stage, now), updated_at=now)
    stage_change_apply(contact, current, stage, now)
    contact.lifecycle_stage = stage
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.STAGE_CHANGED,
        actor=actor,
        data=stage_changed_data(before=current, after=stage, reason=reason),
    )
    return True


def contacts_stage_advance(
    *,
    workspace: Workspace,
    stage: str,
    from_stages: Iterable[str],
    actor: Actor,
    reason: str,
    contact_ids: Iterable[int] | None = None,
    where: Q | None = None,
) -> list[int]:
    """Move the workspace's contacts now at one of ``from_stages`` (and among
    ``contact_ids``, and matching ``where``, when given) to ``stage``, set-based: the rows
    are locked in id order, moved by one UPDATE per 5,000 ids (stage, ``stage_changed_at``,
    the outcome), each gets a ``stage.changed`` with ``reason`` and ``actor`` (the MQL rule,
    a member accepting a lead), and one announcement covers them all. A contact that is no
    longer at one of ``from_stages`` when the lock is taken is left alone. Returns the ids
    moved, ascending."""
    sources = [value for value in from_stages if value != stage]
    if stage not in LifecycleStage.values or not sources:
        return []
    candidates = Contact.objects.filter(workspace=workspace, lifecycle_stage__in=sources)
    if where is not None:
        candidates = candidates.filter(where)
    chunks: list[list[int] | None] = [None]
    if contact_ids is not None:
        ids = sorted(set(contact_ids))
        chunks = [ids[i : i + IDS_PER_STATEMENT] for i in range(0, len(ids), IDS_PER_STATEMENT)]
    before: dict[int, str] = {}
    for chunk in chunks:
        rows = candidates if chunk is None else candidates.filter(pk__in=chunk)
        # of=self: a condition on the company joins it (nullable), which FOR UPDATE may not
        # lock on PostgreSQL; only the contacts are locked.
        locked = rows.select_for_update(of=("self",)).order_by("pk")
        before.update(locked.values_list("pk", "lifecycle_stage"))
    if not before:
        return []
    moved = sorted(before)
    now = timezone.now()
    for start in range(0, len(moved), IDS_PER_STATEMENT):
        Contact.objects.filter(pk__in=moved[start : start + IDS_PER_STATEMENT]).update(
            **stage_change_columns(stage, now), updated_at=now
        )
    activities_record_many(
        [
            Activity(
                workspace=workspace,
                contact_id=pk,
                kind=ActivityKind.STAGE_CHANGED,
                occurred_at=now,
                **actor_columns(actor),
                data=stage_changed_data(
                    before=before[pk],
                    after=stage,
                    direction=LifecycleStage.direction(before[pk], stage),
                    reason=reason,
                ),
            )
            for pk in moved
        ],
        batch_size=1000,
    )
    return moved


def contact_consent_set(
    *, workspace: Workspace, contact: Contact, status: str, actor: Actor, source: str = ""
) -> None:
    """Set the contact's marketing-email consent to ``status``: a row of the consent ledger
    (``consent_status_set``; nothing when unchanged), its ``consent.changed`` activity and
    the derived ``consent_status``. Kept for callers that speak in one status."""
    consent_status_set(
        workspace=workspace, contact=contact, status=status, actor=actor, source=source
    )
