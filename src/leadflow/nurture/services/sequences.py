"""Sequences' writes: creating and changing a sequence, turning it on and off, enrolling
contacts (by its trigger, by hand, by API, by another sequence's step) and taking them out.

Guarantees:

- Enrolling is one set-based pass whatever the number of contacts: the entries each
  contact may have (the re-entry rule) are read in one query and the new enrolments
  written with one INSERT that skips rows already there (the unique (sequence, contact,
  entry)), so a trigger delivered twice enrols once.
- Every enrolment and every end (completed, converted, exited, removed) is an activity on
  the contact's timeline, written in the same transaction and announced.
- The runner (``sequence_runner``) is scheduled after the commit that enrolled someone.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import activities_record_many, actor_columns
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.nurture.models.sequences import (
    Enrollment,
    EnrollmentStatus,
    Reentry,
    Sequence,
    SequenceStatus,
)
from leadflow.nurture.sequence_kinds import SEQUENCE_ENTERED, sequence_data
from leadflow.nurture.sequence_steps import conditions_check, steps_check, trigger_check

RUN_TASK = "leadflow.nurture.tasks.sequences_run_task"
MAX_ENROL_BATCH = 10_000


def _clean(
    *, workspace: Workspace, sequence: Sequence | None, values: dict[str, Any]
) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in values or sequence is None:
        name = (values.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.append(FieldError("name", "Give a name of 1 to 200 characters."))
        elif (
            Sequence.objects.filter(workspace=workspace, name=name)
            .exclude(pk=sequence.pk if sequence else None)
            .exists()
        ):
            errors.append(FieldError("name", "Another sequence has this name."))
        cleaned["name"] = name
    if "description" in values:
        description = values["description"] or ""
        if not isinstance(description, str) or len(description) > 2000:
            errors.append(FieldError("description", "At most 2,000 characters."))
        cleaned["description"] = description
    checks = (
        ("trigger", lambda data: trigger_check(workspace, data)),
        ("exit_conditions", lambda data: conditions_check(workspace, "exit_conditions", data)),
        ("goal", lambda data: conditions_check(workspace, "goal", data)),
    )
    for key, check in checks:
        if key in values:
            try:
                cleaned[key] = check(values[key])
            except ValidationFailed as failed:
                errors.extend(failed.errors)
    if sequence is None and "trigger" not in values:
        cleaned["trigger"] = {"kind": "manual"}
    if "steps" in values:
        try:
            cleaned["steps"], cleaned["first_step"] = steps_check(
                workspace, values["steps"], sequence_id=sequence.pk if sequence else None
            )
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if "exit_on_reply" in values:
        if not isinstance(values["exit_on_reply"], bool):
            errors.append(FieldError("exit_on_reply", "Must be true or false."))
        cleaned["exit_on_reply"] = values["exit_on_reply"] is True
    if "reentry" in values:
        if values["reentry"] not in Reentry.values:
            errors.append(FieldError("reentry", f"Use one of: {', '.join(Reentry.values)}."))
        cleaned["reentry"] = values["reentry"]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def sequence_create(*, workspace: Workspace, actor: Actor, values: dict[str, Any]) -> Sequence:
    """A new sequence, as a draft (it enrols no one until activated)."""
    cleaned = _clean(workspace=workspace, sequence=None, values=values)
    try:
        with transaction.atomic():
            sequence = Sequence.objects.create(
                workspace=workspace, created_by_id=actor.user_id, **cleaned
            )
            audit_record(workspace=workspace, actor=actor, action="sequence.created", obj=sequence)
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "Another sequence has this name.")]) from None
    return sequence


def _locked(workspace: Workspace, sequence_id: int) -> Sequence:
    sequence = (
        Sequence.objects.select_for_update().filter(workspace=workspace, pk=sequence_id).first()
    )
    if sequence is None:
        raise NotFound("No such sequence.")
    return sequence


@transaction.atomic
def sequence_update(
    *, workspace: Workspace, actor: Actor, sequence_id: int, values: dict[str, Any]
) -> Sequence:
    """Change the given parts. Steps an active enrolment stands on cannot be removed (they
    would strand it): pause, let them move on, or take them out first."""
    sequence = _locked(workspace, sequence_id)
    cleaned = _clean(workspace=workspace, sequence=sequence, values=values)
    if "steps" in cleaned:
        kept = {step["id"] for step in cleaned["steps"]}
        standing = set(
            Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE)
            .exclude(step__isnull=True)
            .values_list("step", flat=True)
            .distinct()
        )
        stranded = sorted(standing - kept)
        if stranded:
            raise ValidationFailed(
                [
                    FieldError(
                        "steps",
                        "Contacts wait at step "
                        + ", ".join(map(str, stranded))
                        + ": keep it, or take them out first.",
                    )
                ]
            )
    for key, value in cleaned.items():
        setattr(sequence, key, value)
    sequence.updated_at = timezone.now()
    try:
        with transaction.atomic():
            sequence.save()
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "Another sequence has this name.")]) from None
    audit_record(
        workspace=workspace,
        actor=actor,
        action="sequence.updated",
        obj=sequence,
        changes={"fields": sorted(cleaned)},
    )
    return sequence


@transaction.atomic
def sequence_status_set(
    *, workspace: Workspace, actor: Actor, sequence_id: int, status: str
) -> Sequence:
    """Activate (it needs steps), pause (enrolments stay where they are and resume on
    reactivation), or archive (no longer shown for new work; enrolments stop)."""
    sequence = _locked(workspace, sequence_id)
    if status not in SequenceStatus.values or status == SequenceStatus.DRAFT:
        raise ValidationFailed([FieldError("status", "Use active, paused or archived.")])
    if status == SequenceStatus.ACTIVE and not sequence.steps:
        raise ValidationFailed([FieldError("status", "Add a step before activating.")])
    if sequence.status == status:
        return sequence
    sequence.status = status
    now = timezone.now()
    if status == SequenceStatus.ACTIVE:
        sequence.activated_at = now
    sequence.updated_at = now
    sequence.save(update_fields=["status", "activated_at", "updated_at"])
    audit_record(workspace=workspace, actor=actor, action=f"sequence.{status}", obj=sequence)
    if status == SequenceStatus.ACTIVE:
        run_schedule()
    return sequence


@transaction.atomic
def sequence_delete(*, workspace: Workspace, actor: Actor, sequence_id: int) -> None:
    """Delete a sequence no one is in (archive one that had contacts: its figures stay)."""
    sequence = _locked(workspace, sequence_id)
    if Enrollment.objects.filter(sequence=sequence).exists():
        raise Conflict("Contacts went through this sequence: archive it instead.")
    audit_record(workspace=workspace, actor=actor, action="sequence.deleted", obj=sequence)
    sequence.delete()


def run_schedule() -> None:
    task_schedule(RUN_TASK)


# --- enrolling ------------------------------------------------------------------------------


def enroll(
    *,
    workspace: Workspace,
    sequence: Sequence,
    contact_ids: Iterable[int],
    actor: Actor,
    source: str,
    now: dt.datetime | None = None,
) -> list[int]:
    """Enrol these contacts of the workspace in the sequence (when active), each as its
    re-entry rule allows: ``never``, not if they were ever in it; ``after_finish``, not
    while they are in it. Returns the contact ids enrolled now."""
    if sequence.status != SequenceStatus.ACTIVE or sequence.first_step is None:
        return []
    ids = sorted({int(pk) for pk in contact_ids})
    if not ids:
        return []
    now = now or timezone.now()
    enrolled: list[int] = []
    for start in range(0, len(ids), MAX_ENROL_BATCH):
        chunk = ids[start : start + MAX_ENROL_BATCH]
        with transaction.atomic():
            enrolled.extend(_enroll_chunk(workspace, sequence, chunk, actor, source, now))
    return enrolled


def _enroll_chunk(workspace, sequence, ids, actor, source, now) -> list[int]:
    known = set(
        Contact.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", flat=True)
    )
    past = {
        row["contact_id"]: row
        for row in Enrollment.objects.filter(sequence=sequence, contact_id__in=known)
        .values("contact_id")
        .annotate(last=Max("entry"), active=Count("pk", filter=Q(status="active")))
    }
    rows = []
    for contact_id in sorted(known):
        before = past.get(contact_id)
        if before is None:
            entry = 0
        elif sequence.reentry == Reentry.NEVER or before["active"]:
            continue
        else:
            entry = before["last"] + 1
        rows.append(
            Enrollment(
                workspace_id=workspace.pk,
                sequence=sequence,
                contact_id=contact_id,
                entry=entry,
                step=sequence.first_step,
                wake_at=now,
                waiting_since=now,
                source=source[:40],
                enrolled_at=now,
            )
        )
    if not rows:
        return []
    Enrollment.objects.bulk_create(rows, ignore_conflicts=True)
    # What this call inserted (a racing call's rows carry another enrolled_at or entry).
    made = list(
        Enrollment.objects.filter(
            sequence=sequence,
            enrolled_at=now,
            status=EnrollmentStatus.ACTIVE,
            contact_id__in=[row.contact_id for row in rows],
        ).values_list("contact_id", "entry")
    )
    wanted = {(row.contact_id, row.entry) for row in rows}
    enrolled = sorted(contact for contact, entry in made if (contact, entry) in wanted)
    activities_write(
        workspace.pk,
        [
            (contact, SEQUENCE_ENTERED, sequence_data(sequence, source=source))
            for contact in enrolled
        ],
        actor=actor,
        now=now,
    )
    if enrolled:
        run_schedule()
    return enrolled


def activities_write(
    workspace_id: int,
    rows: list[tuple[int, str, dict[str, Any]]],
    *,
    actor: Actor,
    now: dt.datetime,
) -> None:
    """(contact, kind, data) activities in one INSERT, announced with the transaction."""
    activities_record_many(
        Activity(
            workspace_id=workspace_id,
            contact_id=contact,
            kind=kind,
            data=data,
            occurred_at=now,
            **actor_columns(actor),
        )
        for contact, kind, data in rows
    )


def sequence_enroll(
    *,
    workspace: Workspace,
    actor: Actor,
    sequence_id: int,
    contact_ids: list[int],
    source: str = "manual",
) -> list[int]:
    """Enrol by hand or by API (ids of other workspaces are ignored)."""
    sequence = Sequence.objects.filter(workspace=workspace, pk=sequence_id).first()
    if sequence is None:
        raise NotFound("No such sequence.")
    if sequence.status != SequenceStatus.ACTIVE:
        raise ValidationFailed([FieldError("sequence", "Activate the sequence first.")])
    if len(contact_ids) > MAX_ENROL_BATCH:
        raise ValidationFailed([FieldError("contact_ids", "At most 10000 per call.")])
    return enroll(
        workspace=workspace, sequence=sequence, contact_ids=contact_ids, actor=actor, source=source
    )


@transaction.atomic
def enrollment_remove(
    *, workspace: Workspace, actor: Actor, enrollment_id: int, reason: str = ""
) -> Enrollment:
    """Take a contact out of a sequence by hand (nothing more is sent from it)."""
    from leadflow.nurture.services.sequence_runner import finish

    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("sequence")
        .filter(workspace=workspace, pk=enrollment_id)
        .first()
    )
    if enrollment is None:
        raise NotFound("No such enrolment.")
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise Conflict("This contact is no longer in the sequence.")
    finish(
        enrollment.sequence,
        [enrollment.pk],
        [enrollment.contact_id],
        EnrollmentStatus.REMOVED,
        reason=(reason or f"Removed by {actor.label}")[:200],
        actor=actor,
        now=timezone.now(),
    )
    enrollment.refresh_from_db()
    return enrollment
