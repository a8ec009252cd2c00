"""What a batch of marketing email must respect before it is handed over (docs/nurture/
pacing.md, "In the sender"; docs/nurture/offers.md, "In marketing email"): the people's
preferences (a subscription topic opted out of skips a delivery), their pacing (the cap,
quiet hours, their pause and rhythm hold it, still queued, until it may go) and the
personal offer each email shows. Used by ``sending.deliveries_send``."""

import datetime as dt

from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.nurture.models import Delivery, DeliveryStatus, Frequency, Message, Offer
from leadflow.nurture.selectors.suppression import Preferences, marketing_preferences
from leadflow.nurture.services.offers import offer_issue, offers_choose
from leadflow.nurture.services.pacing import (
    CAPPED,
    PAUSED,
    QUIET,
    pacing_claim,
    pacing_release_keys,
)

_NO_PREFERENCES = Preferences(contact_id=0)


def offers_for(message: Message, contact_ids: list[int]) -> dict[int, dict]:
    """What ``{{ offer }}`` shows each person: their code of the message's offer, or of
    the open offer that fits them best, given now (once a person, recorded on their
    timeline) so the email never names a code that was not given. Empty when none fits
    or a pool has run out (``{{ offer.code|default:"…" }}``)."""
    if not contact_ids or (message.offer_id is None and not message.offer_best):
        return {}
    now = timezone.now()
    if message.offer_best:
        chosen = offers_choose(workspace_id=message.workspace_id, contact_ids=contact_ids, now=now)
    else:
        offer = Offer.objects.filter(pk=message.offer_id, active=True).first()
        chosen = dict.fromkeys(contact_ids, offer)
    people = Contact.objects.in_bulk([pk for pk, offer in chosen.items() if offer is not None])
    actor = Actor.system(f"message: {message.name}"[:200])
    shown: dict[int, dict] = {}
    for pk, offer in chosen.items():
        if offer is None or pk not in people:
            continue
        code = offer_issue(offer=offer, contact=people[pk], now=now, actor=actor)
        if code is not None:
            shown[pk] = {
                "name": offer.name,
                "description": offer.description,
                "code": code.code,
                "expires_at": code.expires_at,
            }
    return shown


def pacing_key(delivery_pk: int) -> str:
    """The key a delivery's place under its contact's cap is counted by."""
    return f"delivery:{delivery_pk}"


def unpace(workspace_id: int, delivery_ids: list[int]) -> None:
    """Give back the cap places of deliveries that were not sent after all."""
    pacing_release_keys(workspace_id=workspace_id, keys=[pacing_key(pk) for pk in delivery_ids])


PERSONAL_RHYTHM = {Frequency.WEEKLY: (1, 7), Frequency.MONTHLY: (1, 30)}


def preference_skips(message: Message, rows: list[dict]) -> dict[int, str]:
    """Deliveries the person's preferences rule out: the message's subscription topic
    opted out of (the suppression list and withdrawn consent are asked per delivery)."""
    topic = message.subscription_topic_id
    if topic is None or not rows:
        return {}
    preferences = marketing_preferences(message.workspace_id, [row["contact_id"] for row in rows])
    return {
        row["id"]: "The person opted out of this message's topic."
        for row in rows
        if topic in preferences.get(row["contact_id"], _NO_PREFERENCES).topics_opted_out
    }


def paced(message: Message, rows: list[dict], owner: str) -> list[dict]:
    """The rows that may go now under the people's pacing (the workspace's cap, quiet
    hours in their zone, their pause and their own rhythm), their places counted; the
    others are held: still queued, not to be claimed before the time they may go (their
    lease's end, which schedules the message's next run), the reason said."""
    if not rows:
        return rows
    now = timezone.now()
    preferences = marketing_preferences(message.workspace_id, [row["contact_id"] for row in rows])
    holds: dict[int, tuple[str, dt.datetime]] = {}
    wanted: dict[int, str] = {}
    personal: dict[int, tuple[int, int]] = {}
    for row in rows:
        contact = row["contact_id"]
        chosen = preferences.get(contact, _NO_PREFERENCES)
        if chosen.paused(now):
            holds[row["id"]] = ("the person paused their email", chosen.paused_until)
        elif contact in wanted:  # a second email of this message to them: after the first
            holds[row["id"]] = ("another email to them goes first", now + HOLD_SECOND)
        else:
            wanted[contact] = pacing_key(row["id"])
            if chosen.frequency in PERSONAL_RHYTHM:
                personal[contact] = PERSONAL_RHYTHM[chosen.frequency]
    verdicts = pacing_claim(
        workspace_id=message.workspace_id, wanted=wanted, now=now, personal=personal
    )
    for row in rows:
        verdict = verdicts.get(row["contact_id"])
        if (
            row["id"] in holds
            or verdict is None
            or wanted.get(row["contact_id"]) != pacing_key(row["id"])
        ):
            continue
        if not verdict.go:
            holds[row["id"]] = (HELD_BECAUSE[verdict.outcome], verdict.retry_at)
    for pk, (why, until) in holds.items():
        Delivery.objects.filter(pk=pk, lease_owner=owner, status=DeliveryStatus.QUEUED).update(
            lease_owner="",
            lease_expires_at=until,
            reason=f"Held until {until:%Y-%m-%d %H:%M} UTC: {why}."[:500],
        )
    return [row for row in rows if row["id"] not in holds]


HOLD_SECOND = dt.timedelta(minutes=1)
HELD_BECAUSE = {
    CAPPED: "the person's cap of marketing messages is reached",
    QUIET: "quiet hours where the person is",
    PAUSED: "the person is taking a break",
}
