"""Taking a place under a contact's marketing cap, outside quiet hours and pauses.

A sender of marketing messages (a broadcast, a sequence step) asks ``pacing_claim`` in the
transaction that hands its messages to be sent: the contacts' pacing rows are locked (in
id order, so two senders never deadlock), the messages counted in the cap's window are read,
and each contact gets a verdict: go (its message is counted at once, under the lock), or
wait until a given time (capped, quiet hours, paused). Concurrent sequences therefore can
never exceed the cap: the second waits on the first's lock and then sees its count.
Transactional messages (confirmations, magnet delivery, 1:1 email) never ask.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.services import audit_record
from leadflow.nurture.models import ContactPacing, MarketingSend, PacingSettings
from leadflow.nurture.selectors.pacing import (
    marketing_sent_recently,
    pacing_settings_get,
    settings_zone,
)
from leadflow.nurture.zones import contact_zone, quiet_until, zone_get

GO = "go"
CAPPED = "capped"
QUIET = "quiet"
PAUSED = "paused"


@dataclass(frozen=True)
class Verdict:
    outcome: str  # GO, CAPPED, QUIET or PAUSED
    retry_at: dt.datetime | None = None  # when to ask again (None with GO)

    @property
    def go(self) -> bool:
        return self.outcome == GO


def pacing_claim(
    *,
    workspace_id: int,
    wanted: dict[int, str],
    now: dt.datetime,
    personal: dict[int, tuple[int, int]] | None = None,
) -> dict[int, Verdict]:
    """For each contact in ``wanted`` (contact id -> the key of the message to send),
    whether it may be sent now; those that may are counted against the cap at once (a key
    already counted goes again without counting twice: a retried sender). ``personal``:
    a contact's own stricter rhythm (messages, days), from the preference centre ("weekly
    at most": (1, 7)), held on top of the workspace's cap. Set-based: a handful of
    statements whatever the batch's size."""
    personal = personal or {}
    if not wanted:
        return {}
    settings = pacing_settings_get(workspace_id)
    ids = sorted(wanted)
    with transaction.atomic():
        ContactPacing.objects.bulk_create(
            [ContactPacing(contact_id=pk, workspace_id=workspace_id) for pk in ids],
            ignore_conflicts=True,
        )
        pacing = {
            row.contact_id: row
            for row in ContactPacing.objects.select_for_update()
            .filter(workspace_id=workspace_id, contact_id__in=ids)
            .order_by("contact_id")
        }
        counted = set(
            MarketingSend.objects.filter(
                workspace_id=workspace_id,
                contact_id__in=ids,
                key__in=sorted(set(wanted.values())),
            ).values_list("contact_id", "key")
        )
        window = dt.timedelta(days=settings.cap_days)
        longest = max([window, *(dt.timedelta(days=days) for _, days in personal.values())])
        recent = marketing_sent_recently(workspace_id, ids, now - longest)
        where = {
            row["pk"]: row
            for row in Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).values(
                "pk", "phone", "country"
            )
        }
        default_zone = settings_zone(settings)
        verdicts: dict[int, Verdict] = {}
        fresh: list[MarketingSend] = []
        for pk in ids:
            row = pacing.get(pk)
            if row is None or pk not in where:  # another workspace's, or gone
                continue
            if (pk, wanted[pk]) in counted:
                verdicts[pk] = Verdict(GO)
                continue
            if row.paused_until and row.paused_until > now:
                verdicts[pk] = Verdict(PAUSED, row.paused_until)
                continue
            if settings.quiet_enabled:
                zone = contact_zone(
                    phone=where[pk]["phone"] or "",
                    country=where[pk]["country"] or "",
                    default=default_zone,
                )
                opens = quiet_until(now, zone, settings.quiet_start, settings.quiet_end)
                if opens is not None:
                    verdicts[pk] = Verdict(QUIET, opens)
                    continue
            caps = [(settings.cap_messages, window)] if settings.cap_messages else []
            if pk in personal:
                messages, days = personal[pk]
                caps.append((messages, dt.timedelta(days=days)))
            frees = None
            for messages, span in caps:
                times = [moment for moment in recent.get(pk, []) if moment > now - span]
                if len(times) >= messages:
                    # A place frees when the oldest counted message leaves the window.
                    moment = times[-messages] + span
                    frees = moment if frees is None else max(frees, moment)
            if frees is not None:
                verdicts[pk] = Verdict(CAPPED, frees)
                continue
            verdicts[pk] = Verdict(GO)
            fresh.append(
                MarketingSend(workspace_id=workspace_id, contact_id=pk, key=wanted[pk], sent_at=now)
            )
        MarketingSend.objects.bulk_create(fresh)
    return verdicts


def pacing_release(*, workspace_id: int, contact_id: int, key: str) -> None:
    """Give back a place taken by ``pacing_claim`` for a message that was not sent after all
    (skipped, failed for good)."""
    MarketingSend.objects.filter(workspace_id=workspace_id, contact_id=contact_id, key=key).delete()


def pacing_release_keys(*, workspace_id: int, keys: list[str]) -> int:
    """Give back the places taken under these keys (a batch that stopped half-way)."""
    if not keys:
        return 0
    return MarketingSend.objects.filter(workspace_id=workspace_id, key__in=keys).delete()[0]


PACING_FIELDS = (
    "cap_messages",
    "cap_days",
    "quiet_enabled",
    "quiet_start",
    "quiet_end",
    "time_zone",
    "pause_after_ignored",
)


def pacing_settings_update(
    *, workspace_id: int, actor: Actor, changes: dict[str, Any], now: dt.datetime
) -> PacingSettings:
    """Change the workspace's pacing settings; a ValidationFailed names each bad field."""
    errors: list[FieldError] = [
        FieldError(name, "Unknown field.") for name in sorted(set(changes) - set(PACING_FIELDS))
    ]
    bounds = {
        "cap_messages": (0, 100, "A whole number from 0 (no cap) to 100."),
        "cap_days": (1, 90, "A whole number of days from 1 to 90."),
        "pause_after_ignored": (0, 50, "A whole number from 0 (never) to 50."),
    }
    for name, (low, high, message) in bounds.items():
        value = changes.get(name)
        if name in changes and (
            not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high
        ):
            errors.append(FieldError(name, message))
    for name in ("quiet_start", "quiet_end"):
        if name in changes and not isinstance(changes[name], dt.time):
            errors.append(FieldError(name, "A time of day (HH:MM)."))
    if "quiet_enabled" in changes and not isinstance(changes["quiet_enabled"], bool):
        errors.append(FieldError("quiet_enabled", "true or false."))
    if "time_zone" in changes and (
        not isinstance(changes["time_zone"], str) or zone_get(changes["time_zone"]) is None
    ):
        errors.append(FieldError("time_zone", "A time zone name (for example Europe/Paris)."))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        settings = pacing_settings_get(workspace_id)
        before = {name: str(getattr(settings, name)) for name in changes}
        for name, value in changes.items():
            setattr(settings, name, value)
        settings.updated_at = now
        settings.save()
        audit_record(
            workspace=settings.workspace,
            actor=actor,
            action="nurture.pacing_updated",
            changes={name: [before[name], str(value)] for name, value in changes.items()},
        )
    return settings
