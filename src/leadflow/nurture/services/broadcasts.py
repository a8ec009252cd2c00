"""Broadcasts' writes: create and change a broadcast (its variants are messages), schedule
it, cancel it, and the worker's two moves: start (take the audience, split it, enqueue the
deliveries) and decide (pick the A/B winner and send it to the rest). See
``nurture.models.broadcasts`` and docs/nurture/broadcasts.md.

Everything that touches the audience is set-based: the audience is one INSERT … SELECT
from the segment's members, the test groups are one UPDATE each (a random ``LIMIT``), and
each group's deliveries one INSERT … SELECT that skips rows already there, so a start or a
decision that runs twice (a retried task) adds nothing.
"""

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.stats import two_proportion_p
from leadflow.core.tasks import task_schedule
from leadflow.nurture.models import (
    Broadcast,
    BroadcastMember,
    BroadcastStatus,
    BroadcastVariant,
    Delivery,
    DeliveryStatus,
    MarketingTemplate,
    Segment,
    SegmentMember,
    SendingIdentity,
    Undecided,
)
from leadflow.nurture.models.email import SUBJECT_MAX_LENGTH
from leadflow.nurture.selectors.broadcasts import unique_clicks
from leadflow.nurture.services.rendering import template_check

STEP_TASK = "leadflow.nurture.tasks.broadcast_step"
LABELS = "ABCD"
EDITABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)


def _number(values, key, low, high, errors, *, kind=int, message=""):
    value = values.get(key)
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        errors.append(FieldError(key, message or f"Give a number from {low} to {high}."))
        return None
    return number


def _variants_check(workspace: Workspace, raw: Any, errors: list[FieldError]) -> list[dict]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= len(LABELS):
        errors.append(FieldError("variants", "Give 1 variant, or 2 to 4 for an A/B test."))
        return []
    clean = []
    for index, variant in enumerate(raw):
        path = f"variants[{index}]"
        if not isinstance(variant, dict):
            errors.append(FieldError(path, "Each variant is an object."))
            continue
        template = (
            MarketingTemplate.objects.filter(
                workspace=workspace, pk=variant.get("template_id")
            ).first()
            if isinstance(variant.get("template_id"), int)
            else None
        )
        identity = (
            SendingIdentity.objects.filter(
                workspace=workspace, pk=variant.get("identity_id")
            ).first()
            if isinstance(variant.get("identity_id"), int)
            else None
        )
        if template is None:
            errors.append(FieldError(f"{path}.template_id", "Choose a template."))
        if identity is None:
            errors.append(FieldError(f"{path}.identity_id", "Choose who it is from."))
        subject = variant.get("subject") or ""
        if not isinstance(subject, str) or len(subject) > SUBJECT_MAX_LENGTH:
            errors.append(FieldError(f"{path}.subject", "At most 200 characters."))
            subject = ""
        elif subject:
            try:
                template_check(subject=subject)
            except ValidationFailed as failed:
                errors.extend(
                    FieldError(f"{path}.subject", error.message) for error in failed.errors
                )
        clean.append({"template": template, "identity": identity, "subject": subject.strip()})
    return clean


def _clean(workspace: Workspace, broadcast: Broadcast | None, values: dict) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in values or broadcast is None:
        name = (values.get("name") or "").strip() if isinstance(values.get("name"), str) else ""
        if not name or len(name) > 200:
            errors.append(FieldError("name", "Give a name of 1 to 200 characters."))
        cleaned["name"] = name
    if "segment_id" in values or broadcast is None:
        segment = Segment.objects.filter(workspace=workspace, pk=values.get("segment_id")).first()
        if not isinstance(values.get("segment_id"), int) or segment is None:
            errors.append(FieldError("segment_id", "Choose a segment of this workspace."))
        cleaned["segment"] = segment
    if "send_at" in values:
        send_at = values["send_at"]
        if isinstance(send_at, str):
            send_at = parse_datetime(send_at) if send_at else None
            if values["send_at"] and send_at is None:
                errors.append(FieldError("send_at", "Give a date and time (ISO 8601)."))
        if send_at is not None and timezone.is_naive(send_at):
            send_at = timezone.make_aware(send_at, dt.UTC)
        cleaned["send_at"] = send_at
    for key, low, high, kind in (
        ("test_percent", 2, 90, int),
        ("test_hours", 1, 168, int),
        ("min_sample", 10, 1_000_000, int),
        ("confidence", 0.8, 0.999, float),
    ):
        number = _number(values, key, low, high, errors, kind=kind)
        if number is not None:
            cleaned[key] = number
    if "undecided" in values:
        if values["undecided"] not in Undecided.values:
            errors.append(FieldError("undecided", "Use control or best."))
        cleaned["undecided"] = values["undecided"]
    if "variants" in values or broadcast is None:
        cleaned["variants"] = _variants_check(workspace, values.get("variants"), errors)
        cleaned["ab_test"] = len(cleaned["variants"]) > 1
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _variants_save(broadcast: Broadcast, variants: list[dict], actor: Actor) -> None:
    from leadflow.nurture.services.sending import message_create

    BroadcastVariant.objects.filter(broadcast=broadcast).delete()
    for label, variant in zip(LABELS, variants, strict=False):
        message = message_create(
            workspace=broadcast.workspace,
            name=f"{broadcast.name} · {label}"[:200],
            template_id=variant["template"].pk,
            identity_id=variant["identity"].pk,
            user=actor.user,
        )
        if variant["subject"]:
            message.subject = variant["subject"]
            message.save(update_fields=["subject"])
        BroadcastVariant.objects.create(broadcast=broadcast, label=label, message=message)


def broadcast_create(*, workspace: Workspace, actor: Actor, values: dict) -> Broadcast:
    """A draft broadcast with its variants (one message each)."""
    cleaned = _clean(workspace, None, values)
    variants = cleaned.pop("variants")
    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                workspace=workspace, created_by_id=actor.user_id, **cleaned
            )
            _variants_save(broadcast, variants, actor)
            audit_record(
                workspace=workspace, actor=actor, action="broadcast.created", obj=broadcast
            )
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "Another broadcast has this name.")]) from None
    return broadcast


def _locked(workspace: Workspace, broadcast_id: int) -> Broadcast:
    broadcast = (
        Broadcast.objects.select_for_update().filter(workspace=workspace, pk=broadcast_id).first()
    )
    if broadcast is None:
        raise NotFound("No such broadcast.")
    return broadcast


def broadcast_update(
    *, workspace: Workspace, actor: Actor, broadcast_id: int, values: dict
) -> Broadcast:
    """Change a broadcast that has not started (after that, only cancelling)."""
    try:
        with transaction.atomic():
            broadcast = _locked(workspace, broadcast_id)
            if broadcast.status not in EDITABLE:
                raise Conflict("This broadcast has started: it can only be cancelled.")
            cleaned = _clean(workspace, broadcast, values)
            variants = cleaned.pop("variants", None)
            for key, value in cleaned.items():
                setattr(broadcast, key, value)
            broadcast.updated_at = timezone.now()
            broadcast.save()
            if variants is not None:
                _variants_save(broadcast, variants, actor)
            audit_record(
                workspace=workspace, actor=actor, action="broadcast.updated", obj=broadcast
            )
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "Another broadcast has this name.")]) from None
    return broadcast


@transaction.atomic
def broadcast_schedule(
    *, workspace: Workspace, actor: Actor, broadcast_id: int, send_at: dt.datetime | None = None
) -> Broadcast:
    """Send at ``send_at`` (now when None or past)."""
    broadcast = _locked(workspace, broadcast_id)
    if broadcast.status not in EDITABLE:
        raise Conflict("This broadcast has started already.")
    now = timezone.now()
    broadcast.send_at = max(send_at or broadcast.send_at or now, now)
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.updated_at = now
    broadcast.save(update_fields=["send_at", "status", "updated_at"])
    audit_record(workspace=workspace, actor=actor, action="broadcast.scheduled", obj=broadcast)
    step_schedule(broadcast.pk, at=broadcast.send_at)
    return broadcast


@transaction.atomic
def broadcast_cancel(*, workspace: Workspace, actor: Actor, broadcast_id: int) -> Broadcast:
    """Stop it: what is still queued is skipped; a test's rest never get the winner."""
    broadcast = _locked(workspace, broadcast_id)
    if broadcast.status == BroadcastStatus.CANCELLED:
        return broadcast
    message_ids = list(
        BroadcastVariant.objects.filter(broadcast=broadcast).values_list("message_id", flat=True)
    )
    Delivery.objects.filter(message_id__in=message_ids, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SKIPPED, reason="The broadcast was cancelled.", lease_owner=""
    )
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.updated_at = timezone.now()
    broadcast.save(update_fields=["status", "updated_at"])
    audit_record(workspace=workspace, actor=actor, action="broadcast.cancelled", obj=broadcast)
    return broadcast


@transaction.atomic
def broadcast_delete(*, workspace: Workspace, actor: Actor, broadcast_id: int) -> None:
    """Delete a broadcast that has not started, with its variants' messages."""
    from leadflow.nurture.models import Message

    broadcast = _locked(workspace, broadcast_id)
    if broadcast.status not in EDITABLE:
        raise Conflict("This broadcast has started: cancel it instead.")
    message_ids = list(
        BroadcastVariant.objects.filter(broadcast=broadcast).values_list("message_id", flat=True)
    )
    audit_record(workspace=workspace, actor=actor, action="broadcast.deleted", obj=broadcast)
    broadcast.delete()
    Message.objects.filter(pk__in=message_ids, workspace=workspace).delete()


def step_schedule(broadcast_id: int, *, at: dt.datetime | None = None) -> None:
    from django.utils.module_loading import import_string

    task = import_string(STEP_TASK)
    task_schedule(task.using(run_after=at) if at else task, broadcast_id)


# --- the worker's moves ---------------------------------------------------------------------


def broadcast_step(broadcast_id: int, *, now: dt.datetime | None = None) -> str:
    """Start the broadcast when its time has come, or decide its test when the test's time
    is up; returns what it did ("started", "decided", "" for nothing yet)."""
    now = now or timezone.now()
    with transaction.atomic():
        broadcast = Broadcast.objects.select_for_update().filter(pk=broadcast_id).first()
        if broadcast is None:
            return ""
        if broadcast.status == BroadcastStatus.SCHEDULED and broadcast.send_at <= now:
            _start(broadcast, now)
            return "started"
        if (
            broadcast.status == BroadcastStatus.TESTING
            and broadcast.started_at + dt.timedelta(hours=broadcast.test_hours) <= now
        ):
            _decide(broadcast, now)
            return "decided"
    return ""


def broadcasts_due(now: dt.datetime | None = None) -> int:
    """The periodic pass: every broadcast due to start or to be decided (a missed task)."""
    now = now or timezone.now()
    due = Broadcast.objects.filter(
        Q(status=BroadcastStatus.SCHEDULED, send_at__lte=now) | Q(status=BroadcastStatus.TESTING)
    ).values_list("pk", flat=True)
    return sum(1 for pk in list(due) if broadcast_step(pk, now=now))


def _start(broadcast: Broadcast, now: dt.datetime) -> None:
    members = BroadcastMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {members} (broadcast_id, contact_id, "group")
                SELECT %s, m.contact_id, 'rest' FROM {SegmentMember._meta.db_table} m
                WHERE m.segment_id = %s
                ON CONFLICT (broadcast_id, contact_id) DO NOTHING""",  # noqa: S608
            [broadcast.pk, broadcast.segment_id],
        )
    audience = BroadcastMember.objects.filter(broadcast=broadcast).count()
    variants = list(broadcast.variants.all())
    if broadcast.ab_test:
        share = max(1, audience * broadcast.test_percent // 100 // len(variants))
    else:
        share = audience
    for variant in variants:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {members} SET "group" = %s WHERE id IN (
                        SELECT id FROM {members} WHERE broadcast_id = %s AND "group" = 'rest'
                        ORDER BY random() LIMIT %s)""",  # noqa: S608
                [variant.label, broadcast.pk, share],
            )
        _enqueue(broadcast, variant, variant.label, now)
    broadcast.audience = audience
    broadcast.started_at = now
    broadcast.status = BroadcastStatus.TESTING if broadcast.ab_test else BroadcastStatus.SENDING
    broadcast.save(update_fields=["audience", "started_at", "status"])
    if broadcast.ab_test:
        step_schedule(broadcast.pk, at=now + dt.timedelta(hours=broadcast.test_hours))


def _enqueue(broadcast: Broadcast, variant: BroadcastVariant, group: str, now) -> int:
    """The group's deliveries of the variant's message, in one statement."""
    from django.conf import settings

    from leadflow.nurture.services.sending import runs_schedule

    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Delivery._meta.db_table} (workspace_id, message_id, contact_id, step,
                    entry, status, lease_owner, header_message_id, address, reason, attempts,
                    queued_at)
                SELECT %s, %s, b.contact_id, 0, 0, 'queued', '', '', '', '', 0, %s
                FROM {BroadcastMember._meta.db_table} b
                WHERE b.broadcast_id = %s AND b."group" = %s
                ORDER BY b.contact_id
                ON CONFLICT (message_id, contact_id, step, entry) DO NOTHING""",  # noqa: S608
            [broadcast.workspace_id, variant.message_id, now, broadcast.pk, group],
        )
        added = max(cursor.rowcount, 0)
    if added:
        runs_schedule(variant.message_id, runs=settings.LEADFLOW_SEND_PARALLEL)
    return added


def variant_results(broadcast: Broadcast) -> list[dict[str, Any]]:
    """Per variant: sent (deliveries sent to its test group), unique clicks, click rate."""
    variants = list(broadcast.variants.select_related("message"))
    sent = dict(
        Delivery.objects.filter(
            message_id__in=[v.message_id for v in variants], status=DeliveryStatus.SENT
        )
        .values("message_id")
        .annotate(n=Count("pk"))
        .values_list("message_id", "n")
    )
    clicks = unique_clicks([v.message_id for v in variants])
    return [
        {
            "variant": variant,
            "sent": sent.get(variant.message_id, 0),
            "clicks": clicks.get(variant.message_id, 0),
            "rate": clicks.get(variant.message_id, 0) / sent[variant.message_id]
            if sent.get(variant.message_id)
            else 0.0,
        }
        for variant in variants
    ]


def _decide(broadcast: Broadcast, now: dt.datetime) -> None:
    results = sorted(variant_results(broadcast), key=lambda r: (-r["rate"], r["variant"].label))
    best, second = results[0], results[1]
    # Best against the runner-up, the level split over the comparisons (Bonferroni).
    alpha = (1 - broadcast.confidence) / (len(results) - 1)
    p = two_proportion_p(best["clicks"], best["sent"], second["clicks"], second["sent"])
    too_small = [r["variant"].label for r in results if r["sent"] < broadcast.min_sample]
    figures = ", ".join(
        f"{r['variant'].label}: {r['clicks']}/{r['sent']} ({100 * r['rate']:.1f}%)"
        for r in sorted(results, key=lambda r: r["variant"].label)
    )
    if too_small:
        why = f"Too few sent to {', '.join(too_small)} (under {broadcast.min_sample})"
    elif p >= alpha:
        why = f"No significant difference (p = {p:.3f})"
    else:
        why = ""
    if not why:
        winner = best["variant"]
        decision = f"{winner.label} won on clicks (p = {p:.4f}). {figures}."
    elif broadcast.undecided == Undecided.BEST:
        winner = best["variant"]
        decision = f"{why}: sent {winner.label}, the most clicked. {figures}."
    else:
        winner = min((r["variant"] for r in results), key=lambda v: v.label)
        decision = f"{why}: sent {winner.label}, the control. {figures}."
    _enqueue(broadcast, winner, "rest", now)
    broadcast.winner = winner
    broadcast.decision = decision[:300]
    broadcast.decided_at = now
    broadcast.status = BroadcastStatus.SENDING
    broadcast.save(update_fields=["winner", "decision", "decided_at", "status"])
