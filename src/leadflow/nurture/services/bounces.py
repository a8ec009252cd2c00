"""Recording bounces and complaints, and what they do (docs/nurture/bounces.md).

Guarantees of ``bounce_record`` (every source goes through it: the bounce mailbox, the
providers' webhooks, the mail server's refusal at send time):
- a bounce is recorded once: its key is unique in the workspace (for a matched email, the
  email and the kind of bounce, so a DSN and a provider's event about it count once; else
  the report's own key), and a second report with the same key changes and writes nothing;
- it is matched to its delivery by the original Message-ID (derived from the message and
  the contact, so it names the delivery), else by the address's latest delivery; the
  address suppressed is the one the delivery was sent to;
- the server's words are kept without any address they quote (a bounce outlives the
  contact's erasure, naming the address only by its hash);
- a hard bounce or a complaint suppresses the address at once; a soft bounce adds one to
  the address's run of soft bounces (one per delivery), and the run reaching the
  workspace's ``soft_bounce_limit`` suppresses it; ``delivery_arrived`` ends the run;
- the delivery is marked (``Delivery.bounce``: a complaint outranks a hard bounce, which
  outranks a soft one) and the contact's timeline gets ``email.bounced`` or
  ``email.complained``, all in one transaction.
"""

import hashlib
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.nurture.bounce_kinds import EMAIL_BOUNCED, EMAIL_COMPLAINED, bounce_data
from leadflow.nurture.models import (
    Bounce,
    BounceKind,
    BounceSettings,
    Delivery,
    DeliveryStatus,
    SoftBounceRun,
    SuppressionReason,
    address_hash,
)
from leadflow.nurture.models.bounces import SOFT_BOUNCE_LIMIT_DEFAULT
from leadflow.nurture.services.bounce_reports import STATUS
from leadflow.nurture.services.suppression import suppression_add

# <digest.message.contact[.step.entry]@domain>: nurture.services.transport.message_id_for
OUR_MESSAGE_ID = re.compile(r"<[0-9a-f]{24}\.(\d+)\.(\d+)(?:\.(\d+)\.(\d+))?@[^<>\s]+>")
ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
RANK = {"": 0, BounceKind.SOFT: 1, BounceKind.HARD: 2, BounceKind.COMPLAINT: 3}
SUPPRESSION_REASON = {
    BounceKind.HARD: SuppressionReason.HARD_BOUNCE,
    BounceKind.COMPLAINT: SuppressionReason.COMPLAINT,
    BounceKind.SOFT: SuppressionReason.SOFT_BOUNCES,
}


@dataclass
class BounceOutcome:
    bounce: Bounce | None
    created: bool = False
    suppressed: bool = False


def dedupe_key(*parts: object) -> str:
    """The key that makes a report recorded once: a hash of what identifies it."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def soft_bounce_limit(workspace_id: int) -> int:
    found = (
        BounceSettings.objects.filter(workspace_id=workspace_id)
        .values_list("soft_bounce_limit", flat=True)
        .first()
    )
    return found or SOFT_BOUNCE_LIMIT_DEFAULT


def delivery_by_message_id(workspace: Workspace, message_ids) -> Delivery | None:
    """The delivery whose Message-ID is one of these: the id names (message, contact,
    step, entry), found through the unique constraint's index, then compared whole."""
    for message_id in message_ids:
        match = OUR_MESSAGE_ID.fullmatch((message_id or "").strip())
        if match is None:
            continue
        message, contact, step, entry = (int(g) if g else 0 for g in match.groups())
        found = Delivery.objects.filter(
            workspace=workspace, message_id=message, contact_id=contact, step=step, entry=entry
        ).first()
        if found is not None and found.header_message_id == message_id.strip():
            return found
    return None


def _delivery_by_address(workspace: Workspace, address: str) -> Delivery | None:
    """The latest delivery handed over to this address (through its contact's rows)."""
    contact_id = (
        Contact.objects.filter(workspace=workspace, email=address)
        .values_list("pk", flat=True)
        .first()
    )
    if contact_id is None:
        return None
    return (
        Delivery.objects.filter(workspace=workspace, contact_id=contact_id)
        .exclude(handed_at=None)
        .order_by("-handed_at", "-id")
        .first()
    )


def _soft_run_add(workspace: Workspace, digest: str, delivery_id: int | None) -> int:
    """One more soft bounce for the address (none when this delivery was counted already);
    returns the run's length."""
    run, _ = SoftBounceRun.objects.select_for_update().get_or_create(
        workspace=workspace, address_hash=digest
    )
    if delivery_id is not None and run.last_delivery_id == delivery_id:
        return run.count
    SoftBounceRun.objects.filter(pk=run.pk).update(
        count=F("count") + 1, last_delivery_id=delivery_id, updated_at=timezone.now()
    )
    return run.count + 1


def delivery_arrived(*, workspace: Workspace, address: str) -> None:
    """An email reached the address (a provider's ``delivered`` event): its run of soft
    bounces ends."""
    SoftBounceRun.objects.filter(
        workspace=workspace, address_hash=address_hash(address), count__gt=0
    ).update(count=0, last_delivery_id=None, updated_at=timezone.now())


@transaction.atomic
def bounce_record(
    *,
    workspace: Workspace,
    kind: str,
    source: str,
    key: str,
    address: str = "",
    message_ids: tuple[str, ...] = (),
    delivery: Delivery | None = None,
    status: str = "",
    diagnostic: str = "",
) -> BounceOutcome:
    """Record one bounce or complaint (see the module's guarantees). A report naming no
    address and no delivery of ours is ignored (``bounce`` None)."""
    if kind not in BounceKind.values:
        raise ValueError(f"Not a bounce kind: {kind}")
    address = (address or "").strip().lower()
    if delivery is None:
        delivery = delivery_by_message_id(workspace, message_ids)
    elif delivery.workspace_id != workspace.pk:
        raise ValueError("The delivery is another workspace's.")
    if delivery is not None and delivery.address:
        # The address the email was sent to (a report may name where it was forwarded).
        address = delivery.address.strip().lower()
    elif address:
        delivery = _delivery_by_address(workspace, address)
    if "@" not in address:
        return BounceOutcome(None)
    if delivery is not None:
        # One bounce of each kind per email, whichever way it is reported (the mailbox's
        # DSN and the provider's webhook, a mail server's repeated reports of one email).
        key = dedupe_key("delivery", delivery.pk, kind)
    # The server's words often quote the address: kept out of what outlives an erasure.
    diagnostic = ADDRESS_IN_TEXT.sub("(address)", diagnostic)
    digest = address_hash(address)
    contact = None
    if delivery is not None:
        contact = Contact.objects.filter(workspace=workspace, pk=delivery.contact_id).first()
    if contact is None:
        contact = Contact.objects.filter(workspace=workspace, email=address).first()
    try:
        with transaction.atomic():
            bounce = Bounce.objects.create(
                workspace=workspace,
                kind=kind,
                address_hash=digest,
                delivery=delivery,
                contact=contact,
                status_code=status[:20],
                diagnostic=diagnostic[:500],
                source=source[:50],
                dedupe_key=key[:64],
            )
    except IntegrityError:  # recorded before (the same report read again)
        return BounceOutcome(Bounce.objects.get(workspace=workspace, dedupe_key=key[:64]))
    suppress = kind != BounceKind.SOFT
    if not suppress:
        run = _soft_run_add(workspace, digest, delivery.pk if delivery else None)
        suppress = run >= soft_bounce_limit(workspace.pk)
    if delivery is not None and RANK[kind] > RANK.get(delivery.bounce, 0):
        Delivery.objects.filter(pk=delivery.pk).update(bounce=kind, bounced_at=timezone.now())
    suppressed = False
    if suppress:
        suppressed = suppression_add(
            workspace=workspace,
            address=address,
            reason=SUPPRESSION_REASON[kind],
            actor=Actor.system("bounces"),
            source=source,
            note=" ".join(part for part in (status, diagnostic) if part)[:200],
        ).created
        if suppressed:
            Bounce.objects.filter(pk=bounce.pk).update(suppressed=True)
            bounce.suppressed = True
    if contact is not None:
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=EMAIL_COMPLAINED if kind == BounceKind.COMPLAINT else EMAIL_BOUNCED,
            actor=Actor.system("bounces"),
            data=bounce_data(
                bounce=kind,
                status=status,
                diagnostic=diagnostic[:500],
                source=source,
                message_id=delivery.message_id if delivery else None,
                suppressed=suppressed,
            ),
        )
    return BounceOutcome(bounce, created=True, suppressed=suppressed)


def refusal_record(*, delivery_id: int, codes: list[int], text: str) -> None:
    """The mail server refused a recipient for good (5xx) at send time: a hard bounce of
    that delivery, recorded once per delivery."""
    delivery = Delivery.objects.select_related("workspace").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.FAILED:
        return
    bounce_record(
        workspace=delivery.workspace,
        kind=BounceKind.HARD,
        source="smtp",
        key=dedupe_key("smtp", delivery.pk),
        delivery=delivery,
        status=".".join(found.groups()) if (found := STATUS.search(text)) else "5.0.0",
        diagnostic=text[:500],
    )
