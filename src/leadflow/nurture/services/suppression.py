"""Writes of the suppression list, the one-click unsubscribe, the preference centre and
the workspace's topics.

Guarantees:
- an address is on the list at most once per workspace (a unique constraint; adding it
  again is a no-op that keeps the first reason), so every add is safe to repeat;
- the one-click unsubscribe suppresses the address and withdraws the contact's marketing
  consent (and the purpose of the message's topic) through the consent ledger
  (``contacts.services.consent_withdraw``: rows, ``consent.changed``) in one
  transaction; a retry changes nothing and writes nothing;
- a member's add or removal writes an audit entry (removal keeps the hash, the reason and
  when it was added, so "who let this address be emailed again" has an answer).
"""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.contacts.consent import purpose_for_topic
from leadflow.contacts.models import ConsentSource, Contact
from leadflow.contacts.services import activity_record, consent_withdraw
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.validation import email_normalise
from leadflow.nurture.links import UnsubscribeLink
from leadflow.nurture.models import (
    ContactPreferences,
    Frequency,
    Message,
    Suppression,
    SuppressionReason,
    Topic,
    TopicOptOut,
    address_hash,
)
from leadflow.nurture.preference_kinds import PREFERENCES_CHANGED, preferences_changed_data
from leadflow.nurture.selectors import suppression_get, topic_get

HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
IMPORT_MAX_ROWS = 100_000
PAUSE_DAYS = (30, 90)


@dataclass
class SuppressionAdded:
    suppression: Suppression
    created: bool


def _hash_of(value: str, field: str) -> str:
    """The hash of an address (checked and normalised like a contact's email), or a
    64-hex-digit hash given as it is (lists already hashed elsewhere)."""
    text = (value or "").strip().lower()
    if HASH_PATTERN.fullmatch(text):
        return text
    return address_hash(email_normalise(text, field=field))


def _add(
    *,
    workspace: Workspace,
    digest: str,
    reason: str,
    source: str,
    actor: Actor,
    note: str = "",
    contact_id: int | None = None,
) -> SuppressionAdded:
    defaults = {
        "reason": reason,
        "source": source[:100],
        "note": note[:200],
        "contact_id": contact_id,
        "created_by": actor.label[:200],
    }
    try:
        with transaction.atomic():
            row, created = Suppression.objects.get_or_create(
                workspace=workspace, address_hash=digest, defaults=defaults
            )
    except IntegrityError:  # another request added it between the look-up and the insert
        row, created = Suppression.objects.get(workspace=workspace, address_hash=digest), False
    return SuppressionAdded(row, created)


@transaction.atomic
def suppression_add(
    *,
    workspace: Workspace,
    address: str,
    reason: str,
    actor: Actor,
    source: str = "",
    note: str = "",
    audit: bool = True,
) -> SuppressionAdded:
    """Put an address (or its SHA-256) on the list; already there: nothing changes. The
    contact with that address, if any, is remembered for the page."""
    if reason not in SuppressionReason.values:
        raise ValidationFailed([FieldError("reason", "Not a suppression reason.")])
    digest = _hash_of(address, "address")
    contact_id = None
    if "@" in address:
        contact_id = (
            Contact.objects.filter(workspace=workspace, email=address.strip().lower())
            .values_list("pk", flat=True)
            .first()
        )
    added = _add(
        workspace=workspace,
        digest=digest,
        reason=reason,
        source=source,
        actor=actor,
        note=note,
        contact_id=contact_id,
    )
    if added.created and audit:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="suppression.added",
            obj=added.suppression,
            changes={"address_hash": digest, "reason": reason, "source": source},
        )
    return added


@transaction.atomic
def suppression_remove(*, workspace: Workspace, suppression_id: int, actor: Actor) -> None:
    """Take an address off the list (it may be emailed again); the audit entry keeps the
    hash, the reason and since when it was suppressed."""
    row = suppression_get(workspace, suppression_id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="suppression.removed",
        obj=row,
        changes={
            "address_hash": row.address_hash,
            "reason": row.reason,
            "source": row.source,
            "suppressed_since": row.created_at.isoformat(),
        },
    )
    row.delete()


@dataclass
class ImportOutcome:
    added: int = 0
    already: int = 0
    invalid: list[str] | None = None  # "row N: why", the first few


def suppressions_import(
    *, workspace: Workspace, text: str, actor: Actor, source: str = "CSV import"
) -> ImportOutcome:
    """Suppress every address (or SHA-256 hash) of a CSV (reason ``imported``): the column
    headed email/address/hash, else the first column; a header row is recognised and
    skipped. Set-based: one insert that ignores the addresses already on the list."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > IMPORT_MAX_ROWS:
        raise ValidationFailed(
            [FieldError("file", f"At most {IMPORT_MAX_ROWS} addresses in one file.")]
        )
    column = 0
    if (
        rows
        and rows[0]
        and not any("@" in cell or HASH_PATTERN.fullmatch(cell.strip().lower()) for cell in rows[0])
    ):
        header = [cell.strip().lower() for cell in rows[0]]
        column = next(
            (i for i, name in enumerate(header) if name in {"email", "e-mail", "address", "hash"}),
            0,
        )
        rows = rows[1:]
        start = 2
    else:
        start = 1
    outcome = ImportOutcome(invalid=[])
    digests: list[str] = []
    for number, row in enumerate(rows, start=start):
        value = row[column].strip() if len(row) > column else ""
        if not value:
            continue
        try:
            digests.append(_hash_of(value, "address"))
        except ValidationFailed as error:
            if len(outcome.invalid) < 20:
                outcome.invalid.append(f"row {number}: {error.errors[0].message}")
    digests = list(dict.fromkeys(digests))
    with transaction.atomic():
        existing = set(
            Suppression.objects.filter(workspace=workspace, address_hash__in=digests).values_list(
                "address_hash", flat=True
            )
        )
        new = [digest for digest in digests if digest not in existing]
        Suppression.objects.bulk_create(
            [
                Suppression(
                    workspace=workspace,
                    address_hash=digest,
                    reason=SuppressionReason.IMPORTED,
                    source=source[:100],
                    created_by=actor.label[:200],
                )
                for digest in new
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        outcome.added = len(new)
        outcome.already = len(digests) - len(new)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="suppression.imported",
            changes={"added": outcome.added, "already": outcome.already, "source": source},
        )
    return outcome


@transaction.atomic
def unsubscribe_one_click(*, link: UnsubscribeLink, source: str = "one-click") -> bool:
    """The unsubscribe of a signed link (RFC 8058 one-click, or the page's button): the
    address is suppressed (reason unsubscribed) and the contact's marketing consent is
    withdrawn through the contacts app. Returns whether anything changed (a retry: False).
    A link whose workspace is gone changes nothing."""
    workspace = Workspace.objects.filter(pk=link.workspace_id).first()
    if workspace is None:
        return False
    actor = Actor.system("unsubscribe link")
    contact = None
    if link.contact_id is not None:
        contact = (
            Contact.objects.select_for_update()
            .filter(workspace=workspace, pk=link.contact_id)
            .first()
        )
    added = _add(
        workspace=workspace,
        digest=address_hash(link.address),
        reason=SuppressionReason.UNSUBSCRIBED,
        source=source,
        actor=actor,
        note=f"message {link.message_key}" if link.message_key else "",
        contact_id=contact.pk if contact else None,
    )
    changed = added.created
    if contact is not None:
        # Marketing email and the purpose of the message unsubscribed from (the ledger).
        topic = Message.objects.filter(
            workspace=workspace,
            pk=int(link.message_key)
            if link.message_key.isdigit() and len(link.message_key) < 19
            else 0,
        ).values_list("topic", flat=True)
        withdrawn = consent_withdraw(
            workspace=workspace,
            contact=contact,
            purposes=[purpose_for_topic(t) for t in topic],
            source=(
                ConsentSource.ONE_CLICK_UNSUBSCRIBE
                if source == "one-click"
                else ConsentSource.PREFERENCE_CENTRE
            ),
            source_ref=f"message {link.message_key}" if link.message_key else source,
            actor=actor,
        )
        changed = changed or withdrawn
    return changed


@transaction.atomic
def preferences_save(
    *,
    workspace: Workspace,
    contact: Contact,
    topics_opted_out: list[int],
    frequency: str,
    pause_days: int | None,
    now: dt.datetime | None = None,
) -> ContactPreferences:
    """Store what a contact chose in the preference centre: the topics they do not want
    (unknown or other workspaces' topics are ignored), the rhythm, and a pause of 30 or 90
    days from now (None keeps a running pause; 0 ends it). A change is written to the
    contact's timeline (``preferences.changed``); saving the same choices again is not."""
    if frequency not in Frequency.values:
        raise ValidationFailed([FieldError("frequency", "Choose all, weekly or monthly.")])
    if pause_days not in (None, 0, *PAUSE_DAYS):
        raise ValidationFailed([FieldError("pause", "Pause for 30 or 90 days.")])
    now = now or timezone.now()
    preferences, _ = ContactPreferences.objects.select_for_update().get_or_create(
        contact=contact, defaults={"workspace": workspace}
    )
    before = (
        preferences.frequency,
        preferences.paused_until,
        set(TopicOptOut.objects.filter(contact=contact).values_list("topic_id", flat=True)),
    )
    preferences.frequency = frequency
    if pause_days == 0:
        preferences.paused_until = None
    elif pause_days:
        preferences.paused_until = now + dt.timedelta(days=pause_days)
    preferences.updated_at = now
    preferences.save()
    wanted = dict(
        Topic.objects.filter(workspace=workspace, pk__in=topics_opted_out).values_list("pk", "name")
    )
    TopicOptOut.objects.filter(contact=contact).exclude(topic_id__in=wanted).delete()
    TopicOptOut.objects.bulk_create(
        [TopicOptOut(workspace=workspace, contact=contact, topic_id=pk) for pk in wanted],
        ignore_conflicts=True,
    )
    if before != (preferences.frequency, preferences.paused_until, set(wanted)):
        paused = preferences.paused_until
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=PREFERENCES_CHANGED,
            actor=Actor.system("preference centre"),
            data=preferences_changed_data(
                frequency=preferences.frequency,
                paused_until=paused.isoformat() if paused else None,
                topics_opted_out=sorted(wanted.values()),
            ),
        )
    return preferences


def _topic_values(data: dict[str, Any]) -> dict[str, str]:
    values = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            raise ValidationFailed([FieldError("name", "A topic needs a name.")])
        values["name"] = name[:100]
    if "description" in data:
        values["description"] = (data["description"] or "").strip()[:300]
    return values


@transaction.atomic
def topic_create(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> Topic:
    values = _topic_values({"description": "", **data})
    if "name" not in values:
        raise ValidationFailed([FieldError("name", "A topic needs a name.")])
    if Topic.objects.filter(workspace=workspace, name__iexact=values["name"]).exists():
        raise Conflict("A topic of that name exists already.", code="topic_exists")
    try:
        with transaction.atomic():
            topic = Topic.objects.create(workspace=workspace, **values)
    except IntegrityError:
        raise Conflict("A topic of that name exists already.", code="topic_exists") from None
    audit_record(
        workspace=workspace, actor=actor, action="topic.created", obj=topic, changes=values
    )
    return topic


@transaction.atomic
def topic_update(
    *, workspace: Workspace, topic_id: int, data: dict[str, Any], actor: Actor
) -> Topic:
    topic = topic_get(workspace, topic_id)
    values = _topic_values(data)
    if (
        "name" in values
        and Topic.objects.filter(workspace=workspace, name__iexact=values["name"])
        .exclude(pk=topic.pk)
        .exists()
    ):
        raise Conflict("A topic of that name exists already.", code="topic_exists")
    for name, value in values.items():
        setattr(topic, name, value)
    topic.save()
    audit_record(
        workspace=workspace, actor=actor, action="topic.updated", obj=topic, changes=values
    )
    return topic


@transaction.atomic
def topic_delete(*, workspace: Workspace, topic_id: int, actor: Actor) -> None:
    """Delete a topic and the opt-outs of it."""
    topic = topic_get(workspace, topic_id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="topic.deleted",
        obj=topic,
        changes={"name": topic.name},
    )
    topic.delete()
