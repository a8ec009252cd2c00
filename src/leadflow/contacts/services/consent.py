"""The one writer of consent: rows appended to the consent ledger, and the contact's
marketing summary (``Contact.consent_status``) derived from them in the same transaction.

Every way consent changes comes here: capture's forms and their double opt-in, lead
sources, imports (``consent_record_many``, set-based), the API, nurture's unsubscribe and
preference centre, a member on the contact page, a merge. Guarantees:

- rows are only appended (``ConsentEntry``); the status for a purpose is its latest row;
- ``Contact.consent_status`` is the status of the latest ``marketing_email`` row, written
  here and nowhere else (one UPDATE that reads the ledger, so it cannot drift from it);
- a grant for a purpose already confirmed by double opt-in is kept as "confirmed" (its
  row says it was granted again), so a second form never undoes a confirmation;
- each change of a purpose's status writes a ``consent.changed`` activity (from, to,
  purpose, source), unless the caller asks for none (a new lead's arrival records it);
- bad input raises ValidationFailed naming each field (``purpose``, ``status``, ...).
"""

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.contacts.consent import consent_latest_of, consent_purposes
from leadflow.contacts.kind_writers import consent_changed_data
from leadflow.contacts.models import (
    DEFAULT_PURPOSES,
    MARKETING_PURPOSE,
    Activity,
    ActivityKind,
    ConsentEntry,
    ConsentPurpose,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
)
from leadflow.contacts.services.activities import activities_record_many, actor_columns
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

TEXT_MAX = 10_000
PURPOSE_KEY = re.compile(r"[a-z][a-z0-9_]{1,49}")


@dataclass(frozen=True)
class ConsentGiven:
    """One consent event to record: the purpose, its new status, the exact text shown and
    its version, where it came from (``source`` and ``source_ref``), the address (as the
    capture stores it) and a note (a withdrawal's reason, say)."""

    purpose: str
    status: str
    source: str
    text: str = ""
    version: str = ""
    source_ref: str = ""
    ip: str | None = None
    note: str = ""
    recorded_at: Any = None


def consent_given_clean(
    workspace: Workspace, data: Mapping[str, Any], *, source: str, prefix: str = ""
) -> ConsentGiven:
    """A ``ConsentGiven`` from untrusted input (the API, the contact page); every bad field
    is named at once (``purpose``, ``status``, ``text``, ``version``, ``ip``, ``note``)."""
    errors: list[FieldError] = []

    def text(name: str, limit: int) -> str:
        value = data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            errors.append(FieldError(prefix + name, "Must be text."))
            return ""
        if len(value) > limit:
            errors.append(FieldError(prefix + name, f"At most {limit} characters."))
        return value.strip()

    purpose = text("purpose", 50)
    if not purpose:
        errors.append(FieldError(prefix + "purpose", "Name the purpose."))
    elif purpose not in consent_purposes(workspace.pk):
        known = ", ".join(consent_purposes(workspace.pk))
        errors.append(FieldError(prefix + "purpose", f"Not a purpose here; one of: {known}."))
    status = text("status", 20)
    if status not in ConsentState.values:
        errors.append(FieldError(prefix + "status", f"One of: {', '.join(ConsentState.values)}."))
    given = ConsentGiven(
        purpose=purpose,
        status=status,
        source=source,
        text=text("text", TEXT_MAX),
        version=text("version", 64),
        source_ref=text("source_ref", 200),
        note=text("note", 500),
        ip=text("ip", 45) or None,
    )
    if given.ip:
        try:
            validate_ipv46_address(given.ip)
        except ValidationError:
            errors.append(FieldError(prefix + "ip", "Not an IP address."))
    if errors:
        raise ValidationFailed(errors)
    return given


def consent_record(
    *, workspace: Workspace, contact: Contact, given: ConsentGiven, actor: Actor
) -> ConsentEntry:
    """Append one row for ``contact`` (see the module's guarantees); ``contact`` is updated
    in memory (its ``consent_status``) as in the database."""
    entry = consent_record_many(workspace=workspace, entries=[(contact.pk, given)], actor=actor)[0]
    if given.purpose == MARKETING_PURPOSE:
        contact.consent_status = entry.status
    return entry


def consent_record_many(
    *,
    workspace: Workspace,
    entries: Sequence[tuple[int, ConsentGiven]],
    actor: Actor,
    activities: bool = True,
    lock: bool = True,
    now=None,
    silent: Collection[int] = (),
) -> list[ConsentEntry]:
    """Append rows for many contacts, set-based: the contacts locked (in id order; ``lock``
    false when the caller holds them or just created them), one read of their current
    statuses, one INSERT of the rows, one UPDATE of the marketing summaries that reads the
    ledger, one INSERT of the ``consent.changed`` activities (none with ``activities``
    false, none for the contacts in ``silent``: new ones, whose arrival records it). Rows
    are appended in ``entries``' order, stamped ``now`` (the caller's clock, also the
    contacts' ``updated_at``); the contacts must be the workspace's."""
    if not entries:
        return []
    _check(entries)
    contact_ids = sorted({contact_id for contact_id, _ in entries})
    with transaction.atomic(savepoint=False):
        if lock:
            list(
                Contact.objects.select_for_update()
                .filter(workspace=workspace, pk__in=contact_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        current = consent_latest_of(
            workspace.pk, {(contact_id, given.purpose) for contact_id, given in entries}
        )
        now = now or timezone.now()
        rows: list[ConsentEntry] = []
        changes: list[tuple[int, dict[str, Any]]] = []
        for contact_id, given in entries:
            key = (contact_id, given.purpose)
            before = current.get(key, ConsentStatus.UNKNOWN.value)
            given = _kept_confirmed(before, given)
            rows.append(
                ConsentEntry(
                    workspace=workspace,
                    contact_id=contact_id,
                    purpose=given.purpose,
                    status=given.status,
                    text=given.text,
                    version=given.version[:64],
                    source=given.source,
                    source_ref=given.source_ref[:200],
                    note=given.note[:500],
                    recorded_at=given.recorded_at or now,
                    ip=given.ip or None,
                    actor_user_id=actor.user_id,
                    actor_label=actor.label[:200],
                )
            )
            if before != given.status and contact_id not in silent:
                changes.append(
                    (
                        contact_id,
                        consent_changed_data(
                            before=before,
                            after=given.status,
                            purpose=given.purpose,
                            source=given.source,
                        ),
                    )
                )
            current[key] = given.status
        written = ConsentEntry.objects.bulk_create(rows, batch_size=1000)
        marketing = {contact_id for contact_id, g in entries if g.purpose == MARKETING_PURPOSE}
        if marketing:
            consent_summary_derive(workspace_id=workspace.pk, contact_ids=marketing, now=now)
        if activities and changes:
            _activities_write(workspace, actor, now, changes)
    return written


def consent_summary_derive(*, workspace_id: int, contact_ids: Sequence[int] | set, now=None) -> int:
    """Set each contact's ``consent_status`` to its latest ``marketing_email`` row's status
    ("unknown" without one) in one UPDATE (and ``updated_at`` to ``now``); returns how many
    contacts it wrote. The only writer of the column: the ledger's writers and the merge
    call it."""
    latest = (
        ConsentEntry.objects.filter(contact_id=OuterRef("pk"), purpose=MARKETING_PURPOSE)
        .order_by("-id")
        .values("status")[:1]
    )
    values: dict[str, Any] = {
        "consent_status": Coalesce(Subquery(latest), Value(ConsentStatus.UNKNOWN.value))
    }
    if now is not None:
        values["updated_at"] = now
    return Contact.objects.filter(workspace_id=workspace_id, pk__in=list(contact_ids)).update(
        **values
    )


def _kept_confirmed(before: str, given: ConsentGiven) -> ConsentGiven:
    """A grant for a purpose already confirmed stays confirmed (its note says so)."""
    if before == ConsentState.CONFIRMED and given.status == ConsentState.GRANTED:
        note = "Granted again; the double opt-in confirmation stands."
        return replace(given, status=ConsentState.CONFIRMED.value, note=given.note or note)
    return given


def _check(entries: Sequence[tuple[int, ConsentGiven]]) -> None:
    """Programming errors of trusted callers (the untrusted ones go through
    ``consent_given_clean``): named like input errors, so nothing half-written."""
    errors = []
    for index, (_, given) in enumerate(entries):
        if given.status not in ConsentState.values:
            errors.append(FieldError(f"entries.{index}.status", "Not a consent status."))
        if given.source not in ConsentSource.values:
            errors.append(FieldError(f"entries.{index}.source", "Not a consent source."))
        if not given.purpose:
            errors.append(FieldError(f"entries.{index}.purpose", "Name the purpose."))
    if errors:
        raise ValidationFailed(errors)


def _activities_write(
    workspace: Workspace, actor: Actor, now, changes: list[tuple[int, dict[str, Any]]]
) -> None:
    activities_record_many(
        [
            Activity(
                workspace=workspace,
                contact_id=contact_id,
                kind=ActivityKind.CONSENT_CHANGED,
                occurred_at=now,
                **actor_columns(actor),
                data=data,
            )
            for contact_id, data in changes
        ],
        batch_size=1000,
    )


def consent_status_set(
    *,
    workspace: Workspace,
    contact: Contact,
    status: str,
    actor: Actor,
    source: str = "",
    note: str = "",
    created: bool = False,
) -> ConsentEntry | None:
    """The marketing-email consent set from a single status (the contact's ``consent_status``
    as the API, the contact form and older callers give it): a row when it changes, nothing
    when it is the same; "unknown" cannot be recorded (ValidationFailed on
    ``consent_status``) unless it is already the status. A contact ``created`` by the same
    change gets its row without a ``consent.changed`` activity (its creation records it)."""
    if status == contact.consent_status:
        return None
    if status not in ConsentState.values:
        raise ValidationFailed(
            [
                FieldError(
                    "consent_status",
                    f"Record one of: {', '.join(ConsentState.values)} (the ledger keeps "
                    "what happened; it cannot go back to unknown).",
                )
            ]
        )
    source = source or (ConsentSource.MANUAL if actor.user_id else ConsentSource.API)
    given = ConsentGiven(purpose=MARKETING_PURPOSE, status=status, source=source, note=note)
    entry = consent_record_many(
        workspace=workspace,
        entries=[(contact.pk, given)],
        actor=actor,
        silent={contact.pk} if created else (),
    )[0]
    contact.consent_status = entry.status
    return entry


def consent_withdraw(
    *,
    workspace: Workspace,
    contact: Contact,
    purposes: Collection[str],
    source: str,
    actor: Actor,
    source_ref: str = "",
    ip: str | None = None,
) -> bool:
    """Withdraw ``purposes`` (marketing email always among them) for ``contact``, e.g. an
    unsubscribe: a row for each purpose not withdrawn already; False when every one was
    (a retried unsubscribe writes nothing)."""
    wanted = list(dict.fromkeys([MARKETING_PURPOSE, *purposes]))
    latest = consent_latest_of(workspace.pk, [(contact.pk, purpose) for purpose in wanted])
    latest[(contact.pk, MARKETING_PURPOSE)] = contact.consent_status
    entries = [
        (
            contact.pk,
            ConsentGiven(
                purpose=purpose,
                status=ConsentState.WITHDRAWN,
                source=source,
                source_ref=source_ref,
                ip=ip,
            ),
        )
        for purpose in wanted
        if latest.get((contact.pk, purpose)) != ConsentState.WITHDRAWN
    ]
    consent_record_many(workspace=workspace, entries=entries, actor=actor)
    if entries:
        contact.consent_status = ConsentState.WITHDRAWN
    return bool(entries)


BACKFILL_SQL = """
INSERT INTO contacts_consententry
    (workspace_id, contact_id, purpose, status, text, version, source, source_ref, note,
     recorded_at, ip, actor_user_id, actor_label)
SELECT c.workspace_id, c.id, %s, c.consent_status, '', '', %s, %s, '', c.created_at, NULL,
       NULL, %s
FROM contacts_contact c
WHERE c.workspace_id = %s AND c.consent_status <> 'unknown'
  AND NOT EXISTS (
      SELECT 1 FROM contacts_consententry e WHERE e.contact_id = c.id AND e.purpose = %s
  )
ORDER BY c.id
"""


def consent_backfill(*, workspace_id: int, source: str, source_ref: str, actor: Actor) -> int:
    """One marketing-email row (at the contact's creation) for each contact of the workspace
    whose ``consent_status`` has no row behind it: contacts written set-based by a bulk
    loader (the demo) before the ledger knew them. One statement; returns the rows added."""
    with connection.cursor() as cursor:
        cursor.execute(
            BACKFILL_SQL,
            [
                MARKETING_PURPOSE,
                source,
                source_ref[:200],
                actor.label[:200],
                workspace_id,
                MARKETING_PURPOSE,
            ],
        )
        return cursor.rowcount


def consent_purpose_create(
    *, workspace: Workspace, key: str, label: str, actor: Actor
) -> ConsentPurpose:
    """A purpose of the workspace's own beside the defaults: ``key`` lower-case letters,
    digits and underscores (what rows and forms name), ``label`` what people read. A key
    the workspace has already (or a default's) is refused, naming ``key``."""
    key, label = (key or "").strip(), (label or "").strip()
    errors = []
    if not PURPOSE_KEY.fullmatch(key):
        errors.append(FieldError("key", "2–50 lower-case letters, digits or underscores."))
    elif key in consent_purposes(workspace.pk):
        errors.append(FieldError("key", "This workspace has this purpose already."))
    if not label or len(label) > 100:
        errors.append(FieldError("label", "Give a name of at most 100 characters."))
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            purpose = ConsentPurpose.objects.create(workspace=workspace, key=key, label=label)
    except IntegrityError:
        raise ValidationFailed(
            [FieldError("key", "This workspace has this purpose already.")]
        ) from None
    audit_record(
        workspace=workspace,
        actor=actor,
        action="consent_purpose.created",
        obj=purpose,
        changes={"key": key, "label": label},
    )
    return purpose


def consent_purpose_rename(
    *, workspace: Workspace, key: str, label: str, actor: Actor
) -> ConsentPurpose:
    """A new label for one of the workspace's own purposes. The key stays (ledger rows and
    forms name it); a default purpose keeps its label (the same in every workspace)."""
    label = (label or "").strip()
    if key in DEFAULT_PURPOSES:
        raise ValidationFailed([FieldError("key", "A default purpose keeps its name.")])
    if not label or len(label) > 100:
        raise ValidationFailed([FieldError("label", "Give a name of at most 100 characters.")])
    with transaction.atomic():
        purpose = (
            ConsentPurpose.objects.select_for_update().filter(workspace=workspace, key=key).first()
        )
        if purpose is None:
            raise NotFound("No such consent purpose.")
        before = purpose.label
        if before == label:
            return purpose
        purpose.label = label
        purpose.save(update_fields=["label"])
        audit_record(
            workspace=workspace,
            actor=actor,
            action="consent_purpose.renamed",
            obj=purpose,
            changes={"label": [before, label]},
        )
    return purpose
