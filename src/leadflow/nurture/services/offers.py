"""Personal offers: made and changed by marketers, chosen per person from their interests,
issued once per person (race-safe), redeemed once (docs/nurture/offers.md)."""

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, connection, transaction

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.nurture.models import Offer, OfferCode, OfferKind
from leadflow.nurture.offer_kinds import OFFER_ISSUED, OFFER_REDEEMED, offer_data
from leadflow.nurture.selectors.offers import interest_score, interest_signals, offers_open

OFFER_FIELDS = (
    "name",
    "description",
    "kind",
    "prefix",
    "interests",
    "priority",
    "starts_at",
    "ends_at",
    "valid_days",
    "active",
)
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_-]{0,40}")
# No 0/O, 1/I/L: a code read aloud or typed from a screenshot stays right.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RANDOM_LENGTH = 8
MAX_CODES_AT_ONCE = 10_000


def _checked(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors = [FieldError(name, "Unknown field.") for name in sorted(set(data) - set(OFFER_FIELDS))]
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors.append(FieldError("name", "A name of 1 to 200 characters."))
        else:
            clean["name"] = name.strip()
    if "description" in data:
        if not isinstance(data["description"], str) or len(data["description"]) > 5000:
            errors.append(FieldError("description", "Text of at most 5,000 characters."))
        else:
            clean["description"] = data["description"]
    if "kind" in data:
        if data["kind"] not in OfferKind.values:
            errors.append(FieldError("kind", "pool or generated."))
        else:
            clean["kind"] = data["kind"]
    if "prefix" in data:
        prefix = data["prefix"]
        if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
            errors.append(FieldError("prefix", "Letters, digits, - and _, at most 40."))
        else:
            clean["prefix"] = prefix.upper()
    if "interests" in data:
        interests = data["interests"]
        if (
            not isinstance(interests, list)
            or len(interests) > 30
            or not all(isinstance(one, str) and 0 < len(one.strip()) <= 60 for one in interests)
        ):
            errors.append(
                FieldError("interests", "At most 30 words or tags, each 1 to 60 characters.")
            )
        else:
            clean["interests"] = sorted({one.strip().lower() for one in interests})
    if "priority" in data:
        priority = data["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100:
            errors.append(FieldError("priority", "A whole number from 0 to 100."))
        else:
            clean["priority"] = priority
    for name in ("starts_at", "ends_at"):
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, dt.datetime):
                errors.append(FieldError(name, "A date and time, or empty."))
            else:
                clean[name] = value
    if "valid_days" in data:
        days = data["valid_days"]
        if days is not None and (
            not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650
        ):
            errors.append(
                FieldError("valid_days", "A whole number of days from 1 to 3,650, or empty.")
            )
        else:
            clean["valid_days"] = days
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors.append(FieldError("active", "true or false."))
        else:
            clean["active"] = data["active"]
    if errors:
        raise ValidationFailed(errors)
    return clean


def offer_create(*, workspace: Workspace, actor: Actor, data: dict[str, Any]) -> Offer:
    clean = _checked(data, partial=False)
    _period_check(clean.get("starts_at"), clean.get("ends_at"))
    with transaction.atomic():
        offer = Offer.objects.create(workspace=workspace, **clean)
        audit_record(workspace=workspace, actor=actor, action="nurture.offer_created", obj=offer)
    return offer


def offer_update(
    *, workspace: Workspace, offer_id: int, actor: Actor, data: dict[str, Any]
) -> Offer:
    clean = _checked(data, partial=True)
    with transaction.atomic():
        offer = Offer.objects.select_for_update().filter(workspace=workspace, pk=offer_id).first()
        if offer is None:
            raise NotFound("No such offer in this workspace.")
        if "kind" in clean and clean["kind"] != offer.kind and offer.codes.exists():
            raise ValidationFailed([FieldError("kind", "It has codes already: make a new offer.")])
        _period_check(clean.get("starts_at", offer.starts_at), clean.get("ends_at", offer.ends_at))
        changes = {}
        for name, value in clean.items():
            if getattr(offer, name) != value:
                changes[name] = [str(getattr(offer, name)), str(value)]
                setattr(offer, name, value)
        offer.save()
        if changes:
            audit_record(
                workspace=workspace,
                actor=actor,
                action="nurture.offer_changed",
                obj=offer,
                changes=changes,
            )
    return offer


def _period_check(starts_at, ends_at) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationFailed([FieldError("ends_at", "After the start.")])


def offer_codes_add(
    *, workspace: Workspace, offer_id: int, actor: Actor, codes: list[str]
) -> tuple[int, int]:
    """Add codes to a pool offer's list (one INSERT; a code the workspace has already is
    skipped). Returns (added, skipped)."""
    wanted = [code.strip() for code in codes if code and code.strip()]
    bad = [code for code in wanted if not CODE_PATTERN.fullmatch(code)]
    if not wanted or bad or len(wanted) > MAX_CODES_AT_ONCE:
        message = (
            f"Not a code: {bad[0][:40]} (letters, digits, - and _, at most 80)."
            if bad
            else f"One to {MAX_CODES_AT_ONCE:,} codes, one a line."
        )
        raise ValidationFailed([FieldError("codes", message)])
    with transaction.atomic():
        offer = Offer.objects.select_for_update().filter(workspace=workspace, pk=offer_id).first()
        if offer is None:
            raise NotFound("No such offer in this workspace.")
        if offer.kind != OfferKind.POOL:
            raise ValidationFailed([FieldError("codes", "This offer makes its own codes.")])
        unique = list(dict.fromkeys(wanted))
        before = OfferCode.objects.filter(workspace=workspace).count()
        OfferCode.objects.bulk_create(
            [OfferCode(workspace=workspace, offer=offer, code=code) for code in unique],
            ignore_conflicts=True,
            batch_size=2000,
        )
        added = OfferCode.objects.filter(workspace=workspace).count() - before
        audit_record(
            workspace=workspace,
            actor=actor,
            action="nurture.offer_codes_added",
            obj=offer,
            changes={"added": [0, added]},
        )
    return added, len(wanted) - added


def _pool_claim(offer: Offer, contact: Contact, now: dt.datetime, expires) -> OfferCode | None:
    """Give the next waiting code of the pool to ``contact``: one UPDATE; concurrent
    claimers skip each other's locked rows on PostgreSQL (SQLite runs one writer at a time)."""
    table = connection.ops.quote_name(OfferCode._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET contact_id = %s, issued_at = %s, expires_at = %s "  # noqa: S608
            f"WHERE id = (SELECT id FROM {table} WHERE offer_id = %s AND contact_id IS NULL "
            f"AND issued_at IS NULL ORDER BY id LIMIT 1{lock}) RETURNING id",
            [contact.pk, now, expires, offer.pk],
        )
        row = cursor.fetchone()
    return OfferCode.objects.get(pk=row[0]) if row else None


def _generated(offer: Offer, contact: Contact, now: dt.datetime, expires) -> OfferCode:
    for _ in range(5):
        code = offer.prefix + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
        try:
            with transaction.atomic():
                return OfferCode.objects.create(
                    workspace_id=offer.workspace_id,
                    offer=offer,
                    code=code,
                    contact=contact,
                    issued_at=now,
                    expires_at=expires,
                )
        except IntegrityError:
            existing = OfferCode.objects.filter(offer=offer, contact=contact).first()
            if existing is not None:  # a concurrent issue to the same person won
                return existing
    raise Conflict("Could not make a unique code; try again.")


def offer_issue(
    *, offer: Offer, contact: Contact, now: dt.datetime, actor: Actor
) -> OfferCode | None:
    """The person's code of this offer: the one they have, or a new one (from the pool, or
    made), recorded on their timeline. None when the pool is empty. Call it inside a
    transaction when the code goes into a message that must not be sent without it."""
    if contact.workspace_id != offer.workspace_id:
        raise NotFound("No such contact in this workspace.")
    with transaction.atomic():
        existing = OfferCode.objects.filter(offer=offer, contact=contact).first()
        if existing is not None:
            return existing
        expires = offer.ends_at
        if offer.valid_days:
            personal = now + dt.timedelta(days=offer.valid_days)
            expires = min(expires, personal) if expires else personal
        if offer.kind == OfferKind.POOL:
            code = _pool_claim(offer, contact, now, expires)
            if code is None:
                return None
        else:
            code = _generated(offer, contact, now, expires)
        activity_record(
            workspace=offer.workspace,
            contact=contact,
            kind=OFFER_ISSUED,
            actor=actor,
            data=offer_data(offer_id=offer.pk, offer=offer.name, code=code.code),
            occurred_at=now,
        )
    return code


def offers_choose(
    *, workspace_id: int, contact_ids: list[int], now: dt.datetime
) -> dict[int, Offer | None]:
    """The offer each person should get now: among the open offers, the one whose interests
    match them best (a tag, then a form answer, then a page visited); among equals the
    higher priority, then the newest. An offer without interests is for anyone, after every
    offer that matches. A pool offer with no code left is passed over."""
    offers = [offer for offer in offers_open(workspace_id, now) if _has_codes(offer)]
    ids = sorted(set(contact_ids))
    if not offers or not ids:
        return dict.fromkeys(ids)
    signals = interest_signals(workspace_id, ids, now)
    chosen: dict[int, Offer | None] = {}
    for pk in ids:
        best, best_key = None, None
        for rank, offer in enumerate(offers):  # offers come best-priority first
            score = interest_score(offer.interests, signals[pk]) if offer.interests else 0
            if offer.interests and score == 0:
                continue  # for other people
            key = (score, -rank)
            if best_key is None or key > best_key:
                best, best_key = offer, key
        chosen[pk] = best
    return chosen


def _has_codes(offer: Offer) -> bool:
    if offer.kind != OfferKind.POOL:
        return True
    return OfferCode.objects.filter(offer=offer, contact__isnull=True).exists()


def offer_for_contact(*, contact: Contact, now: dt.datetime, actor: Actor) -> OfferCode | None:
    """The code of the best offer for this person, issued if they do not have it yet (what a
    message's ``{{ offer.code }}`` gets); None when no offer fits."""
    offer = offers_choose(workspace_id=contact.workspace_id, contact_ids=[contact.pk], now=now)[
        contact.pk
    ]
    if offer is None:
        return None
    return offer_issue(offer=offer, contact=contact, now=now, actor=actor)


def offer_redeem(
    *, workspace: Workspace, code: str, reference: str, now: dt.datetime, actor: Actor
) -> OfferCode:
    """Mark an issued code used (once): a conversion on its person's timeline. The same code
    with the same ``reference`` again is harmless (a retried report); with another, 409."""
    code = (code or "").strip()
    reference = (reference or "").strip()[:200]
    with transaction.atomic():
        found = (
            OfferCode.objects.select_for_update()
            .select_related("offer", "contact")
            .filter(workspace=workspace, code__iexact=code, contact__isnull=False)
            .first()
        )
        if found is None:
            raise NotFound("No code like this was given to anyone in this workspace.")
        if found.redeemed_at is not None:
            if found.reference == reference:
                return found
            raise Conflict(f"This code was used already ({found.redeemed_at:%Y-%m-%d %H:%M} UTC).")
        if found.expires_at and found.expires_at <= now:
            raise ValidationFailed([FieldError("code", "This code has expired.")])
        found.redeemed_at, found.reference = now, reference
        found.save(update_fields=["redeemed_at", "reference"])
        activity_record(
            workspace=workspace,
            contact=found.contact,
            kind=OFFER_REDEEMED,
            actor=actor,
            data=offer_data(
                offer_id=found.offer_id,
                offer=found.offer.name,
                code=found.code,
                reference=reference,
            ),
            occurred_at=now,
        )
    return found
