"""Reading the consent ledger: a kit of contacts that every app asks (nurture before it
sends, the contact page, the API, exports). Writes are ``contacts.services.consent_record``
and its bulk variant ``consent_record_many``.

Guarantees:
- a contact's status for a purpose is the status of its latest ledger row for that purpose
  (the highest id); without a row it is "unknown";
- every read here is set-based: one query for any number of contacts
  (``consent_statuses``), one for all purposes of one contact (``consent_current``);
- a lawful basis for sending (``lawful_basis``) is "granted" or "confirmed", and for the
  ``newsletter`` purpose "confirmed" only: newsletters reuse capture's double opt-in.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count, Max, Subquery

from leadflow.contacts.models import (
    DEFAULT_PURPOSES,
    MARKETING_PURPOSE,
    ConsentEntry,
    ConsentPurpose,
    ConsentState,
    ConsentStatus,
    Contact,
)

UNKNOWN = ConsentStatus.UNKNOWN.value
GRANTING = frozenset({ConsentState.GRANTED.value, ConsentState.CONFIRMED.value})
# Purposes whose basis must be confirmed by double opt-in; any other needs a grant.
CONFIRMED_ONLY = frozenset({"newsletter"})
# A message's topic (nurture's ``Message.topic``, free text) → the purpose it needs. A
# topic that names a purpose is that purpose; anything else is marketing email.
TOPIC_PURPOSES = {"marketing": MARKETING_PURPOSE, "newsletter": "newsletter", "sms": "sms"}


def consent_purposes(workspace_id: int) -> dict[str, str]:
    """{key: label} of the workspace's purposes: the default set, then its own."""
    own = ConsentPurpose.objects.filter(workspace_id=workspace_id).values_list("key", "label")
    return {**DEFAULT_PURPOSES, **dict(own)}


def consent_purpose_usage(workspace_id: int) -> dict[str, int]:
    """{purpose key: contacts with at least one ledger row for it}, in one grouped query
    (the settings page's figure: a purpose in use cannot lose its key)."""
    rows = (
        ConsentEntry.objects.filter(workspace_id=workspace_id)
        .values("purpose")
        .annotate(contacts=Count("contact_id", distinct=True))
        .order_by()
    )
    return {row["purpose"]: row["contacts"] for row in rows}


def purpose_for_topic(topic: str) -> str:
    """The consent purpose a message of ``topic`` needs (``TOPIC_PURPOSES``)."""
    key = (topic or "").strip().lower()
    if key in TOPIC_PURPOSES:
        return TOPIC_PURPOSES[key]
    return key if key in DEFAULT_PURPOSES else MARKETING_PURPOSE


def lawful_basis(purpose: str, status: str) -> bool:
    """Whether ``status`` lets LeadFlow use the contact's details for ``purpose``."""
    if purpose in CONFIRMED_ONLY:
        return status == ConsentState.CONFIRMED
    return status in GRANTING


def _latest(rows: Any, by: str) -> Any:
    """The ids of the latest row of each ``by`` group of ``rows`` (a subquery)."""
    return rows.values(by).annotate(last=Max("id")).values("last")


def consent_statuses(workspace_id: int, contact_ids: Iterable[int], purpose: str) -> dict[int, str]:
    """{contact id: status for ``purpose``} for every contact in ``contact_ids`` (those of
    another workspace are left out), in one query. For ``marketing_email`` it reads the
    contact's summary column (``Contact.consent_status``, which ``consent_record`` keeps
    equal to the latest row in the same transaction); for any other purpose the ledger."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return {}
    if purpose == MARKETING_PURPOSE:
        return dict(
            Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list(
                "pk", "consent_status"
            )
        )
    rows = ConsentEntry.objects.filter(
        workspace_id=workspace_id, contact_id__in=ids, purpose=purpose
    )
    found = dict(
        ConsentEntry.objects.filter(pk__in=Subquery(_latest(rows, "contact_id"))).values_list(
            "contact_id", "status"
        )
    )
    return {pk: found.get(pk, UNKNOWN) for pk in ids}


def consent_latest_of(workspace_id: int, pairs: Iterable[tuple[int, str]]) -> dict[tuple, str]:
    """{(contact id, purpose): status} of the latest row of each pair that has one, in one
    query (what a batch of new rows changes)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = ConsentEntry.objects.filter(
        workspace_id=workspace_id,
        contact_id__in={contact_id for contact_id, _ in pairs},
        purpose__in={purpose for _, purpose in pairs},
    )
    latest = ConsentEntry.objects.filter(
        pk__in=Subquery(
            rows.values("contact_id", "purpose").annotate(last=Max("id")).values("last")
        )
    ).values_list("contact_id", "purpose", "status")
    return {(c, p): s for c, p, s in latest if (c, p) in pairs}


def consent_current(workspace_id: int, contact_id: int) -> list[dict[str, Any]]:
    """Every purpose of the workspace with the contact's status for it and the latest row
    behind it (None without one), purposes the contact has rows for first; one query for
    the rows, one for the workspace's own purposes."""
    rows = ConsentEntry.objects.filter(workspace_id=workspace_id, contact_id=contact_id)
    latest = {
        entry.purpose: entry
        for entry in ConsentEntry.objects.filter(pk__in=Subquery(_latest(rows, "purpose")))
    }
    labels = consent_purposes(workspace_id)
    for key in latest:
        labels.setdefault(key, key)
    return sorted(
        (
            {
                "purpose": key,
                "label": label,
                "status": latest[key].status if key in latest else UNKNOWN,
                "entry": latest.get(key),
            }
            for key, label in labels.items()
        ),
        key=lambda item: (item["entry"] is None, item["purpose"]),
    )


def consent_history(workspace_id: int, contact_id: int) -> Any:
    """The contact's ledger, newest first, with the member who recorded each row."""
    return (
        ConsentEntry.objects.filter(workspace_id=workspace_id, contact_id=contact_id)
        .select_related("actor_user")
        .order_by("-id")
    )


EXPORT_HEADER = [
    "entry_id",
    "contact_id",
    "email",
    "purpose",
    "status",
    "text",
    "version",
    "source",
    "source_ref",
    "note",
    "recorded_at",
    "ip",
    "recorded_by",
]


def consent_export_rows(workspace_id: int, *, contact_ids: Any = None) -> Iterator[list[Any]]:
    """The ledger as rows for a CSV (header first), oldest first: the whole workspace's,
    or only ``contact_ids``' (ids, or a query of them: one contact's export, the contacts a
    sales member sees). Streams in chunks."""
    yield EXPORT_HEADER
    rows = ConsentEntry.objects.filter(workspace_id=workspace_id)
    if contact_ids is not None:
        rows = rows.filter(contact_id__in=contact_ids)
    for row in (
        rows.order_by("id")
        .values_list(
            "id",
            "contact_id",
            "contact__email",
            "purpose",
            "status",
            "text",
            "version",
            "source",
            "source_ref",
            "note",
            "recorded_at",
            "ip",
            "actor_label",
        )
        .iterator(chunk_size=2000)
    ):
        yield [
            *row[:10],
            row[10].isoformat() if row[10] else "",
            row[11] or "",
            row[12],
        ]
