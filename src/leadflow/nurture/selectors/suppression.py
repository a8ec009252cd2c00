"""Reads of the suppression list, the topics and contacts' marketing preferences.

``suppression_reason`` is the check nurture registers with ``contacts.suppression`` (every
sender asks it); ``marketing_preferences`` is what the marketing sender asks before it
sends: one call for a batch of contacts, a fixed number of queries.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from leadflow.contacts.models import ConsentStatus, Contact
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models import (
    ContactPreferences,
    Frequency,
    Suppression,
    SuppressionReason,
    Topic,
    TopicOptOut,
    address_hash,
)


def suppression_reason(workspace_id: int, address: str) -> str | None:
    """Why ``address`` must not be emailed in the workspace ("unsubscribed", "hard
    bounce"...), or None: one lookup on the (workspace, hash) unique index."""
    if not address or "@" not in address:
        return None
    reason = (
        Suppression.objects.filter(workspace_id=workspace_id, address_hash=address_hash(address))
        .values_list("reason", flat=True)
        .first()
    )
    return SuppressionReason(reason).label if reason else None


def suppression_reasons(workspace_id: int, addresses: list[str]) -> dict[str, str]:
    """The bulk form of ``suppression_reason``: {address: reason} for the suppressed ones
    among ``addresses`` (lower-cased), one query per 1,000 addresses."""
    hashes = {address_hash(address): address for address in addresses if "@" in address}
    found: dict[str, str] = {}
    digests = list(hashes)
    for start in range(0, len(digests), 1000):
        for digest, reason in Suppression.objects.filter(
            workspace_id=workspace_id, address_hash__in=digests[start : start + 1000]
        ).values_list("address_hash", "reason"):
            found[hashes[digest]] = SuppressionReason(reason).label
    return found


def suppression_by_address(workspace: Workspace, address: str) -> Suppression | None:
    """The list's row for an address (looked up by its hash), or None."""
    return Suppression.objects.filter(
        workspace=workspace, address_hash=address_hash(address)
    ).first()


def suppression_get(workspace: Workspace, suppression_id: int) -> Suppression:
    row = Suppression.objects.filter(workspace=workspace, pk=suppression_id).first()
    if row is None:
        raise NotFound("No such suppressed address.")
    return row


def suppression_list(workspace: Workspace, *, reason: str | None = None) -> QuerySet[Suppression]:
    """The workspace's suppressed addresses (newest first once paginated), with the contact
    each was found on while it exists."""
    rows = Suppression.objects.filter(workspace=workspace).select_related("contact")
    if reason:
        rows = rows.filter(reason=reason)
    return rows


def suppression_counts(workspace: Workspace) -> dict[str, int]:
    """How many addresses each reason suppresses (every reason named, zeros included)."""
    counts = dict.fromkeys(SuppressionReason.values, 0)
    for row in (
        Suppression.objects.filter(workspace=workspace)
        .values("reason")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[row["reason"]] = row["count"]
    return counts


def contact_suppression(workspace: Workspace, contact: Contact) -> Suppression | None:
    """The row that suppresses the contact's address, if any (the contact page)."""
    if not contact.email:
        return None
    return suppression_by_address(workspace, contact.email)


def link_contact(workspace: Workspace, contact_id: int | None) -> Contact | None:
    """The contact an unsubscribe link names, if it is (still) in the workspace."""
    if contact_id is None:
        return None
    return Contact.objects.filter(workspace=workspace, pk=contact_id).first()


def link_workspace(workspace_id: int) -> Workspace | None:
    """The workspace an unsubscribe link names, unless it was deleted."""
    return Workspace.objects.filter(pk=workspace_id).first()


def topics_list(workspace: Workspace) -> QuerySet[Topic]:
    return Topic.objects.filter(workspace=workspace).order_by("name", "id")


def topic_get(workspace: Workspace, topic_id: int) -> Topic:
    topic = Topic.objects.filter(workspace=workspace, pk=topic_id).first()
    if topic is None:
        raise NotFound("No such topic.")
    return topic


@dataclass(frozen=True)
class Preferences:
    """What a contact accepts of marketing email, for the sender to honour: ``suppressed``
    (the address is on the suppression list: send nothing), consent withdrawn, the topics
    opted out of, the most frequent rhythm they accept and the end of a pause."""

    contact_id: int
    suppressed: bool = False
    consent_withdrawn: bool = False
    frequency: str = Frequency.ALL
    paused_until: dt.datetime | None = None
    topics_opted_out: frozenset[int] = field(default_factory=frozenset)

    def paused(self, now: dt.datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now

    def may_receive(self, now: dt.datetime, topic_id: int | None = None) -> bool:
        """Whether a marketing email (of ``topic_id``) may go now, frequency aside (the
        sender counts what it sent against ``frequency``)."""
        if self.suppressed or self.consent_withdrawn or self.paused(now):
            return False
        return topic_id is None or topic_id not in self.topics_opted_out


def marketing_preferences(workspace_id: int, contact_ids: list[int]) -> dict[int, Preferences]:
    """Each contact's preferences (contacts of other workspaces and unknown ids are left
    out), in four queries whatever the number of contacts."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return {}
    rows = list(
        Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list(
            "pk", "email", "consent_status"
        )
    )
    contacts = {pk: email for pk, email, _ in rows}
    withdrawn = {pk for pk, _, status in rows if status == ConsentStatus.WITHDRAWN}
    hashes = {pk: address_hash(email) for pk, email in contacts.items() if email}
    suppressed = set(
        Suppression.objects.filter(
            workspace_id=workspace_id, address_hash__in=set(hashes.values())
        ).values_list("address_hash", flat=True)
    )
    settings = {
        row.contact_id: row
        for row in ContactPreferences.objects.filter(
            workspace_id=workspace_id, contact_id__in=contacts
        )
    }
    opted_out: dict[int, set[int]] = {}
    for contact_id, topic_id in TopicOptOut.objects.filter(
        workspace_id=workspace_id, contact_id__in=contacts
    ).values_list("contact_id", "topic_id"):
        opted_out.setdefault(contact_id, set()).add(topic_id)
    answer = {}
    for pk in contacts:
        stored = settings.get(pk)
        answer[pk] = Preferences(
            contact_id=pk,
            suppressed=hashes.get(pk) in suppressed,
            consent_withdrawn=pk in withdrawn,
            frequency=stored.frequency if stored else Frequency.ALL,
            paused_until=stored.paused_until if stored else None,
            topics_opted_out=frozenset(opted_out.get(pk, ())),
        )
    return answer
