"""Finding possible duplicates for review, and dismissing them."""

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from leadflow.contacts.models import (
    Contact,
    DuplicateCandidate,
    DuplicateStatus,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record


def duplicates_find_for(*, workspace: Workspace, contact_id: int) -> int:
    """List possible duplicates of a contact for review: same name and company, or the same
    phone under another email. Never merges. Safe to run twice. Returns pairs added."""
    contact = Contact.objects.filter(workspace=workspace, pk=contact_id).first()
    if contact is None:
        return 0
    others = Contact.objects.filter(workspace=workspace).exclude(pk=contact.pk)
    found: list[tuple[int, str]] = []
    if contact.first_name and contact.last_name and contact.company_id:
        for pk in others.filter(
            first_name__iexact=contact.first_name,
            last_name__iexact=contact.last_name,
            company_id=contact.company_id,
        ).values_list("pk", flat=True)[:20]:
            found.append((pk, "same name and company"))
    if contact.phone:
        for pk in others.filter(phone=contact.phone).values_list("pk", flat=True)[:20]:
            found.append((pk, "same phone, different email"))
    rows = [
        DuplicateCandidate(
            workspace=workspace,
            contact_id=min(pk, contact.pk),
            other_id=max(pk, contact.pk),
            reason=reason,
        )
        for pk, reason in found
    ]
    # Count only this contact's pairs: a workspace-wide COUNT would grow with every pair.
    pairs = DuplicateCandidate.objects.filter(Q(contact=contact) | Q(other=contact))
    before = pairs.count()
    DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)
    return pairs.count() - before


DUPLICATES_PER_CONTACT = 20


def duplicates_find_among(*, workspace: Workspace, contact_ids: list[int]) -> int:
    """``duplicates_find_for`` for many contacts at once (an import's), with two queries
    for the lot instead of two per contact: the same phone under another contact, and the
    same first and last name (any case) at the same company. Returns pairs added."""
    contacts = list(
        Contact.objects.filter(workspace=workspace, pk__in=contact_ids).values_list(
            "pk", "phone", Lower("first_name"), Lower("last_name"), "company_id"
        )
    )
    found: set[tuple[int, int, str]] = set()

    def pair(one: int, other: int, reason: str) -> None:
        if one != other:
            found.add((min(one, other), max(one, other), reason))

    phones = {phone for _, phone, _, _, _ in contacts if phone}
    by_phone: dict[str, list[int]] = {}
    if phones:
        for pk, phone in Contact.objects.filter(workspace=workspace, phone__in=phones).values_list(
            "pk", "phone"
        ):
            by_phone.setdefault(phone, []).append(pk)
    named = [row for row in contacts if row[2] and row[3] and row[4]]
    by_name: dict[tuple, list[int]] = {}
    if named:
        for pk, first, last, company_id in (
            Contact.objects.annotate(first=Lower("first_name"), last=Lower("last_name"))
            .filter(
                workspace=workspace,
                company_id__in={row[4] for row in named},
                first__in={row[2] for row in named},
                last__in={row[3] for row in named},
            )
            .values_list("pk", "first", "last", "company_id")
        ):
            by_name.setdefault((first, last, company_id), []).append(pk)
    for pk, phone, first, last, company_id in contacts:
        for other in by_phone.get(phone, [])[: DUPLICATES_PER_CONTACT + 1] if phone else []:
            pair(pk, other, "same phone, different email")
        for other in by_name.get((first, last, company_id), [])[: DUPLICATES_PER_CONTACT + 1]:
            pair(pk, other, "same name and company")
    pairs = DuplicateCandidate.objects.filter(
        Q(contact_id__in=contact_ids) | Q(other_id__in=contact_ids)
    )
    before = pairs.count()
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(workspace=workspace, contact_id=one, other_id=other, reason=reason)
            for one, other, reason in sorted(found)
        ],
        ignore_conflicts=True,
    )
    return pairs.count() - before


@transaction.atomic
def duplicate_dismiss(*, workspace: Workspace, candidate_id: int, actor: Actor) -> None:
    updated = DuplicateCandidate.objects.filter(
        workspace=workspace, pk=candidate_id, status=DuplicateStatus.OPEN
    ).update(status=DuplicateStatus.DISMISSED)
    if not updated:
        raise NotFound("No such open duplicate pair.")
    audit_record(
        workspace=workspace,
        actor=actor,
        action="duplicate.dismissed",
        changes={"candidate_id": candidate_id},
    )
