"""Sending marketing email exactly once (decision 0028, docs/nurture/sending.md).

- ``message_send`` enqueues one ``Delivery`` per contact with one set-based INSERT that
  skips rows already there (the unique constraint), and schedules the worker's runs.
- ``deliveries_claim`` gives a worker run a lease on a batch of queued deliveries:
  ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, on SQLite one conditional UPDATE
  (SQLite has one writer at a time) that sets the lease; the run reads back what it got.
- ``deliveries_send`` moves each leased delivery queued → in_flight, COMMITTED before the
  mail server is given the email, and → sent once the server took it (that commit goes
  with the next delivery's in_flight commit, so a send costs one commit). A crash between
  hand-over and commit leaves one delivery in flight per worker; ``deliveries_park_unknown``
  turns in-flight deliveries whose lease expired into ``unknown``, which nothing sends
  again by itself: ``delivery_review`` re-queues or drops them, by a person's decision.
- Skipped (with the reason) at send time: no address, no lawful basis for the message's
  purpose (its topic's consent purpose, ``contacts.consent.purpose_for_topic``: granted or
  confirmed, newsletters confirmed by double opt-in; asked once per batch), an address on
  the suppression list.
"""

import contextlib
import datetime as dt
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.consent import consent_statuses, lawful_basis, purpose_for_topic
from leadflow.contacts.models import DEFAULT_PURPOSES, MARKETING_PURPOSE, ConsentStatus, Contact
from leadflow.contacts.suppression import email_suppressed, emails_suppressed
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import User, Workspace
from leadflow.nurture.links import UnsubscribeLink
from leadflow.nurture.models import (
    Delivery,
    DeliveryStatus,
    MarketingTemplate,
    Message,
    Offer,
    SendingIdentity,
    SmtpSettings,
    Topic,
)
from leadflow.nurture.services.bounces import refusal_record
from leadflow.nurture.services.delivery_pacing import offers_for, paced, preference_skips, unpace
from leadflow.nurture.services.rendering import CompiledTemplate, contact_fields
from leadflow.nurture.services.tracking import sent_record
from leadflow.nurture.services.transport import (
    address_domain,
    dkim_key,
    email_build,
    email_hand_over,
    mail_connection,
    message_id_for,
)
from leadflow.nurture.tracking import HtmlTracker

SEND_TASK = "leadflow.nurture.tasks.message_deliver"
MARKETING_CONSENT = (ConsentStatus.GRANTED, ConsentStatus.CONFIRMED)
MAX_CONTACTS_PER_CALL = 100_000
UNKNOWN_REASON = (
    "The worker stopped after handing the email to the mail server and before recording "
    "it: it may or may not have gone. Review: re-queue (same Message-ID) or drop."
)


def message_create(
    *,
    workspace: Workspace,
    name: str,
    template_id: int,
    identity_id: int,
    topic: str = "marketing",
    user: User | None = None,
    subscription_topic_id: int | None = None,
    offer_id: int | None = None,
    offer_best: bool = False,
) -> Message:
    """A message to send later; its template and identity must be the workspace's."""
    template = MarketingTemplate.objects.filter(workspace=workspace, pk=template_id).first()
    identity = SendingIdentity.objects.filter(workspace=workspace, pk=identity_id).first()
    errors = []
    if template is None:
        errors.append(FieldError("template_id", "No such template in this workspace."))
    if identity is None:
        errors.append(FieldError("identity_id", "No such sending identity in this workspace."))
    if (
        subscription_topic_id is not None
        and not Topic.objects.filter(workspace=workspace, pk=subscription_topic_id).exists()
    ):
        errors.append(FieldError("subscription_topic_id", "No such topic in this workspace."))
    if offer_id is not None and not Offer.objects.filter(workspace=workspace, pk=offer_id).exists():
        errors.append(FieldError("offer_id", "No such offer in this workspace."))
    if offer_id is not None and offer_best:
        errors.append(FieldError("offer_best", "Either one offer or the best for each person."))
    if errors:
        raise ValidationFailed(errors)
    return Message.objects.create(
        subscription_topic_id=subscription_topic_id,
        offer_id=offer_id,
        offer_best=offer_best,
        workspace=workspace,
        name=name,
        template=template,
        identity=identity,
        topic=topic or "marketing",
        created_by=user,
    )


def message_send(
    *,
    message: Message,
    contact_ids: Iterable[int],
    step: int = 0,
    entry: int = 0,
    base_url: str = "",
) -> int:
    """Enqueue the message for these contacts of its workspace (others' ids are ignored),
    each once per (step, entry) however often this is called: one INSERT … SELECT that
    skips existing rows (ON CONFLICT DO NOTHING). Schedules the worker's runs in the same
    transaction. Returns how many deliveries this call added."""
    wanted = sorted({int(pk) for pk in contact_ids})
    if len(wanted) > MAX_CONTACTS_PER_CALL:
        raise ValidationFailed([FieldError("contact_ids", "At most 100000 per call.")])
    if not wanted:
        return 0
    table = Delivery._meta.db_table
    contacts = Contact._meta.db_table
    now = timezone.now()
    added = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"""INSERT INTO {table} (workspace_id, message_id, contact_id, step, entry,
                        status, lease_owner, header_message_id, address, reason, attempts,
                        queued_at)
                    SELECT %s, %s, c.id, %s, %s, 'queued', '', '', '', '', 0, %s
                    FROM {contacts} c WHERE c.workspace_id = %s AND c.id IN ({marks})
                    ORDER BY c.id
                    ON CONFLICT (message_id, contact_id, step, entry) DO NOTHING""",  # noqa: S608
                [message.workspace_id, message.pk, step, entry, now, message.workspace_id, *chunk],
            )
            added += max(cursor.rowcount, 0)
        if added:
            runs_schedule(message.pk, base_url, runs=settings.LEADFLOW_SEND_PARALLEL)
    return added


def runs_schedule(message_pk: int, base_url: str = "", *, runs: int = 1, at=None) -> None:
    """Schedule worker runs for the message (each safe beside the others)."""
    from django.utils.module_loading import import_string

    from leadflow.core.tasks import task_schedule  # core's scheduling door

    deliver = import_string(SEND_TASK)
    if at is not None:
        deliver = deliver.using(run_after=at)
    for _ in range(max(1, runs)):
        task_schedule(deliver, message_pk, base_url)


# --- the worker's side ----------------------------------------------------------------------


def lease_owner_new() -> str:
    return uuid.uuid4().hex


def deliveries_claim(*, message_pk: int, owner: str, limit: int) -> list[int]:
    """Lease up to ``limit`` queued deliveries of the message whose lease is free or
    expired to ``owner``, in id order; returns their ids. Two runs never get the same
    delivery: PostgreSQL skips rows another claim has locked, SQLite runs one writer."""
    now = timezone.now()
    expires = now + dt.timedelta(seconds=settings.LEADFLOW_DELIVERY_LEASE_SECONDS)
    table = Delivery._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET lease_owner = %s, lease_expires_at = %s
                WHERE id IN (
                    SELECT id FROM {table}
                    WHERE message_id = %s AND status = 'queued'
                      AND (lease_expires_at IS NULL OR lease_expires_at < %s)
                    ORDER BY id LIMIT %s{lock})""",  # noqa: S608
            [owner, expires, message_pk, now, limit],
        )
    return list(
        Delivery.objects.filter(
            message_id=message_pk, lease_owner=owner, status=DeliveryStatus.QUEUED
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def deliveries_park_unknown(*, message_pk: int | None = None) -> int:
    """Park in-flight deliveries whose lease expired as ``unknown``: the worker that
    handed them over is gone (or hung) and no one can tell whether the server took them.
    They are never sent again by themselves. Returns how many were parked."""
    rows = Delivery.objects.filter(
        status=DeliveryStatus.IN_FLIGHT, lease_expires_at__lt=timezone.now()
    )
    if message_pk is not None:
        rows = rows.filter(message_id=message_pk)
    return rows.update(status=DeliveryStatus.UNKNOWN, reason=UNKNOWN_REASON)


@dataclass
class BatchResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    released: int = 0


class SendingStopped(OSError):
    """The mail server went away mid-batch: the rest was released; try again later."""


def _skip_reason(
    workspace_id: int,
    row: dict,
    purpose: str = MARKETING_PURPOSE,
    suppressed: dict[str, str] | None = None,
) -> str:
    """Why this delivery must not go ("" when it may). ``suppressed``: the batch's
    addresses on the suppression list, read in one query (else one query here)."""
    address = (row["contact__email"] or "").strip().lower()
    if not address:
        return "The contact has no email address."
    if any(character in address for character in " \t\r\n<>,;") or "@" not in address:
        return "The contact's email address is not a single valid address."
    status = row.get("consent", row["contact__consent_status"])
    if not lawful_basis(purpose, status):
        label = DEFAULT_PURPOSES.get(purpose, purpose).lower()
        return f"No consent for {label} (consent: {status})."
    if suppressed is not None:
        reason = suppressed.get(address)
    else:
        reason = email_suppressed(workspace_id, address)
    if reason:
        return f"The address is on the suppression list ({reason})."
    return ""


SENT_SQL = (
    "UPDATE {table} SET status = 'sent', sent_at = %s, reason = '', record_pending = TRUE "
    "WHERE id = %s AND lease_owner = %s AND status IN ('in_flight', 'unknown')"
)


def _mark_sent(pk: int | None, owner: str) -> None:
    """The server took it: sent (also when a sweep parked it as unknown meanwhile, a run
    slower than its lease). Plain SQL: it runs once per email (bench/bench_send.py)."""
    if pk is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            SENT_SQL.format(table=Delivery._meta.db_table),
            [timezone.now(), pk, owner],
        )


def _mark_in_flight(pk: int, owner: str, *, header_id: str, address: str, lease) -> bool:
    """Queued and still this run's → in flight (to be committed before the hand-over)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} SET status = 'in_flight', handed_at = %s, "  # noqa: S608
            "lease_expires_at = %s, header_message_id = %s, address = %s, "
            "attempts = attempts + 1 WHERE id = %s AND lease_owner = %s AND status = 'queued'",
            [now, now + lease, header_id, address[:254], pk, owner],
        )
        return cursor.rowcount == 1


def _release(ids: list[int], owner: str) -> int:
    return Delivery.objects.filter(
        pk__in=ids, lease_owner=owner, status=DeliveryStatus.QUEUED
    ).update(lease_owner="", lease_expires_at=None)


CONTACT_VALUES = (
    "id",
    "contact_id",
    "step",
    "entry",
    "contact__email",
    "contact__consent_status",
    "contact__first_name",
    "contact__last_name",
    "contact__job_title",
    "contact__country",
    "contact__city",
    "contact__region",
    "contact__lifecycle_stage",
    "contact__custom_fields",
    "contact__company__name",
)


def deliveries_send(
    *, message: Message, ids: list[int], owner: str, base_url: str = ""
) -> BatchResult:
    """Send the leased deliveries ``ids`` over one mail-server session (see the module
    docstring for the states). A delivery whose lease another run took over is left to
    it. When the server goes away mid-batch, the delivery being handed over becomes
    ``unknown``, the rest are released, and ``SendingStopped`` is raised (retry later)."""
    result = BatchResult()
    workspace_id = message.workspace_id
    smtp = SmtpSettings.objects.filter(workspace_id=workspace_id).first()
    signer = dkim_key(smtp)
    template = message.template
    compiled = CompiledTemplate(
        subject=message.subject or template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
    )
    identity = message.identity
    domain = address_domain(identity.from_address)
    tracker = HtmlTracker(base_url)  # links and the open pixel: docs/nurture/tracking.md
    lease = dt.timedelta(seconds=settings.LEADFLOW_DELIVERY_LEASE_SECONDS)
    rows = list(
        Delivery.objects.filter(pk__in=ids, lease_owner=owner, status=DeliveryStatus.QUEUED)
        .order_by("id")
        .values(*CONTACT_VALUES)
    )
    skips = preference_skips(message, rows)
    rows = paced(message, [row for row in rows if row["id"] not in skips], owner) + [
        row for row in rows if row["id"] in skips
    ]
    rows.sort(key=lambda row: row["id"])
    pending = [row["id"] for row in rows]
    offers = offers_for(message, [row["contact_id"] for row in rows if row["id"] not in skips])
    purpose = purpose_for_topic(message.topic)
    if purpose != MARKETING_PURPOSE:  # marketing email is the row's consent_status already
        statuses = consent_statuses(workspace_id, [row["contact_id"] for row in rows], purpose)
        for row in rows:
            row["consent"] = statuses.get(row["contact_id"], "unknown")
    # The suppression list for the whole batch in one query (not one per email).
    suppressed = emails_suppressed(
        workspace_id, [(row["contact__email"] or "").strip().lower() for row in rows]
    )
    handed: int | None = None  # taken by the server, "sent" not yet committed
    try:
        connection_ = mail_connection(smtp)
        connection_.open()
    except OSError:
        _release(pending, owner)
        unpace(workspace_id, pending)
        raise
    try:
        for position, row in enumerate(rows):
            reason = skips.get(row["id"]) or _skip_reason(workspace_id, row, purpose, suppressed)
            prepared = header_id = None
            failed = False
            address = (row["contact__email"] or "").strip()
            if not reason:
                fields = contact_fields(
                    {key.removeprefix("contact__"): value for key, value in row.items()},
                    row["contact__company__name"] or "",
                )
                header_id = message_id_for(
                    message_pk=message.pk,
                    contact_pk=row["contact_id"],
                    step=row["step"],
                    entry=row["entry"],
                    domain=domain,
                )
                try:
                    prepared = email_build(
                        rendered=tracker.apply(
                            compiled.render(fields, offers.get(row["contact_id"])),
                            workspace_id=workspace_id,
                            delivery_id=row["id"],
                        ),
                        identity=identity,
                        to=address,
                        message_id=header_id,
                        unsubscribe=UnsubscribeLink(
                            workspace_id=workspace_id,
                            contact_id=row["contact_id"],
                            address=address.lower(),
                            message_key=str(message.pk),
                        ),
                        signer=signer,
                        base_url=base_url,
                    )
                except Exception as error:
                    # A template that fails for this contact, a DKIM key that does not
                    # parse: never handed over, so failed with the reason, not retried.
                    reason = f"The email could not be made: {type(error).__name__}: {error}"
                    failed = True

            with transaction.atomic():
                _mark_sent(handed, owner)
                handed = None
                if reason:
                    unpace(workspace_id, [row["id"]])
                    outcome = DeliveryStatus.FAILED if failed else DeliveryStatus.SKIPPED
                    changed = Delivery.objects.filter(
                        pk=row["id"], lease_owner=owner, status=DeliveryStatus.QUEUED
                    ).update(status=outcome, reason=reason[:500], address=address[:254])
                    if failed:
                        result.failed += changed
                    else:
                        result.skipped += changed
                    continue
                claimed = _mark_in_flight(
                    row["id"], owner, header_id=header_id, address=address, lease=lease
                )
            if not claimed:
                continue  # another run took the lease over: it is that run's now
            # Committed as in flight: from here a crash leaves it for review, never resent.
            try:
                email_hand_over(connection_, prepared)
            except smtplib.SMTPRecipientsRefused as error:
                answers = [code for code, _ in error.recipients.values()]
                _settle_refused(row["id"], owner, answers, str(error.recipients), result)
                refusal_record(delivery_id=row["id"], codes=answers, text=str(error.recipients))
                unpace(workspace_id, [row["id"]])
                continue
            except smtplib.SMTPResponseException as error:
                if error.smtp_code >= 500:
                    _settle_refused(row["id"], owner, [error.smtp_code], str(error), result)
                    unpace(workspace_id, [row["id"]])
                    continue
                # A temporary refusal: the server did not take it; queue it again.
                Delivery.objects.filter(pk=row["id"], lease_owner=owner).update(
                    status=DeliveryStatus.QUEUED, lease_owner="", lease_expires_at=None
                )
                result.released += 1 + _release(pending[position + 1 :], owner)
                unpace(workspace_id, pending[position:])
                raise SendingStopped(f"The mail server refused for now: {error}") from error
            except OSError as error:
                # The session broke during the hand-over: whether the server took the
                # email cannot be told. Parked for review now, the rest released.
                Delivery.objects.filter(
                    pk=row["id"], lease_owner=owner, status=DeliveryStatus.IN_FLIGHT
                ).update(status=DeliveryStatus.UNKNOWN, reason=f"{UNKNOWN_REASON} ({error})"[:500])
                result.unknown += 1
                result.released += _release(pending[position + 1 :], owner)
                unpace(workspace_id, pending[position + 1 :])
                raise SendingStopped(f"The mail server went away: {error}") from error
            handed = row["id"]
            result.sent += 1
        with transaction.atomic():
            _mark_sent(handed, owner)
            handed = None
            sent_record(ids=pending)  # email.marketing_sent and pacing, set-based for the batch
    finally:
        with contextlib.suppress(OSError):
            connection_.close()
    return result


def _settle_refused(pk: int, owner: str, codes: list[int], text: str, result: BatchResult):
    """The server answered no: permanently (5xx) → failed; for now (4xx) → queued again."""
    rows = Delivery.objects.filter(pk=pk, lease_owner=owner, status=DeliveryStatus.IN_FLIGHT)
    if codes and all(code >= 500 for code in codes):
        result.failed += rows.update(
            status=DeliveryStatus.FAILED, reason=f"Refused by the mail server: {text}"[:500]
        )
    else:
        result.released += rows.update(
            status=DeliveryStatus.QUEUED, lease_owner="", lease_expires_at=None
        )


def message_deliver_run(*, message_pk: int, base_url: str = "") -> BatchResult:
    """One worker run for a message: park expired in-flight deliveries as unknown, then
    claim and send batches until none is left to claim. When deliveries are still leased
    to another run (maybe a dead one) or in flight, a run is scheduled for when their
    leases end (unless one already waits)."""
    total = BatchResult()
    message = Message.objects.select_related("template", "identity").filter(pk=message_pk).first()
    if message is None:
        return total
    deliveries_park_unknown(message_pk=message_pk)
    sent_record(message_pk=message_pk)  # what a killed run sent but did not record
    owner = lease_owner_new()
    while True:
        ids = deliveries_claim(
            message_pk=message_pk, owner=owner, limit=settings.LEADFLOW_DELIVERY_BATCH
        )
        if not ids:
            break
        batch = deliveries_send(message=message, ids=ids, owner=owner, base_url=base_url)
        for name in ("sent", "skipped", "failed", "unknown", "released"):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
    waiting = Delivery.objects.filter(
        message_id=message_pk, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.IN_FLIGHT]
    ).filter(Q(lease_expires_at__isnull=False))
    latest = waiting.order_by("-lease_expires_at").values_list("lease_expires_at", flat=True)
    due = latest.first()
    if due is not None:
        from django.utils.module_loading import import_string

        from leadflow.core.tasks import task_waiting

        if not task_waiting(import_string(SEND_TASK), message_pk, base_url):
            earliest = waiting.order_by("lease_expires_at").values_list(
                "lease_expires_at", flat=True
            )[0]
            runs_schedule(message_pk, base_url, at=earliest + dt.timedelta(seconds=0.5))
    return total


# --- review of unknown deliveries ---------------------------------------------------------


def delivery_review(
    *, workspace: Workspace, delivery_ids: list[int], decision: str, user: User | None = None
) -> int:
    """A person's decision on unknown deliveries: ``requeue`` (sent again, with the same
    Message-ID, so the receiving side can recognise it) or ``drop`` (never sent). Only the
    workspace's unknown deliveries change; returns how many did."""
    if decision not in ("requeue", "drop"):
        raise ValidationFailed([FieldError("decision", "Either requeue or drop.")])
    rows = Delivery.objects.filter(
        workspace=workspace, pk__in=delivery_ids, status=DeliveryStatus.UNKNOWN
    )
    now = timezone.now()
    with transaction.atomic():
        if decision == "drop":
            return rows.update(
                status=DeliveryStatus.DROPPED, reviewed_by=user, reviewed_at=now,
                reason="Dropped after review.",
            )  # fmt: skip
        messages = sorted(set(rows.values_list("message_id", flat=True)))
        changed = rows.update(
            status=DeliveryStatus.QUEUED, lease_owner="", lease_expires_at=None,
            reviewed_by=user, reviewed_at=now, reason="Re-queued after review.",
        )  # fmt: skip
        for message_pk in messages:
            runs_schedule(message_pk)
    return changed
