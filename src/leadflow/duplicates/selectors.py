"""Reads for the duplicate finder. The workspace always comes first; a pair is found only
in its workspace, and a member who sees only own leads sees only pairs of two of them."""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import F, Q, QuerySet

from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import identifying_fields, own_leads_condition
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.duplicates.models import (
    DuplicateDecision,
    DuplicatePair,
    DuplicateProfile,
    PairStatus,
)

# The contact values the matcher reads (duplicates.records.person_normalise's keys).
VALUE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "street_address",
    "city",
    "region",
    "postal_code",
    "country",
    "custom_fields",
)


def profile_get(workspace: Workspace) -> DuplicateProfile:
    """The workspace's profile, or an unsaved one with the defaults (nothing learned yet,
    automatic merging off)."""
    return DuplicateProfile.objects.filter(workspace=workspace).first() or DuplicateProfile(
        workspace=workspace
    )


def contact_values(workspace: Workspace, contact_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The matcher's values of these contacts (with their company's name and domain)."""
    ids = list(contact_ids)
    if not ids:
        return []
    return list(
        Contact.objects.filter(workspace=workspace, pk__in=ids)
        .annotate(company_name=F("company__name"), company_domain=F("company__domain"))
        .values(*VALUE_COLUMNS, "company_name", "company_domain")
    )


def contacts_count(workspace: Workspace) -> int:
    return Contact.objects.filter(workspace=workspace).count()


def contact_values_all(workspace: Workspace, *, chunk: int = 20_000) -> Iterator[list[dict]]:
    """Every contact's matcher values, in id order, ``chunk`` rows per query (keyset: no
    OFFSET, no server-side cursor held across chunks)."""
    last = 0
    while True:
        rows = list(
            Contact.objects.filter(workspace=workspace, pk__gt=last)
            .order_by("pk")
            .annotate(company_name=F("company__name"), company_domain=F("company__domain"))
            .values(*VALUE_COLUMNS, "company_name", "company_domain")[:chunk]
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def matching_setup(workspace: Workspace) -> dict[str, str]:
    """The workspace's identifying custom fields: key -> match type."""
    return identifying_fields(workspace)


def pair_list(
    workspace: Workspace,
    actor: Actor,
    *,
    status: str = PairStatus.OPEN,
    min_probability: float | None = None,
    contact_id: int | None = None,
    reason_bit: int | None = None,
    source: str | None = None,
) -> QuerySet[DuplicatePair]:
    """Pairs of the workspace (open ones unless ``status`` says otherwise) with both
    contacts loaded, highest probability first. ``reason_bit``: pairs whose comparison of
    that bit agrees strongly; ``source``: pairs where either contact's first-touch source
    is this one."""
    queryset = DuplicatePair.objects.filter(workspace=workspace, status=status).select_related(
        "contact", "other", "contact__company", "other__company"
    )
    if actor.sees_only_own_leads:
        queryset = queryset.filter(
            own_leads_condition(workspace, actor, "contact"),
            own_leads_condition(workspace, actor, "other"),
        )
    if min_probability is not None:
        queryset = queryset.filter(probability__gte=min_probability)
    if contact_id is not None:
        queryset = queryset.filter(Q(contact_id=contact_id) | Q(other_id=contact_id))
    if reason_bit is not None:
        queryset = queryset.annotate(flag=F("reason_flags").bitand(reason_bit)).filter(
            flag=reason_bit
        )
    if source:
        queryset = queryset.filter(
            Q(contact__first_touch_source=source) | Q(other__first_touch_source=source)
        )
    return queryset.order_by("-probability", "-id")


def pair_get(workspace: Workspace, actor: Actor, pair_id: int) -> DuplicatePair:
    """One pair the actor may see, in any status; NotFound otherwise (another workspace's
    id included)."""
    pair = pair_list(workspace, actor, status=PairStatus.OPEN).filter(pk=pair_id).first()
    if pair is None:
        pair = pair_list(workspace, actor, status=PairStatus.DISMISSED).filter(pk=pair_id).first()
    if pair is None:
        raise NotFound("No such duplicate pair.")
    return pair


def pair_sources(workspace: Workspace) -> list[str]:
    """The first-touch sources of contacts in open pairs (the review page's filter)."""
    pairs = DuplicatePair.objects.filter(workspace=workspace, status=PairStatus.OPEN)
    sources = set(
        pairs.exclude(contact__first_touch_source="").values_list(
            "contact__first_touch_source", flat=True
        )[:500]
    ) | set(
        pairs.exclude(other__first_touch_source="").values_list(
            "other__first_touch_source", flat=True
        )[:500]
    )
    return sorted(sources)


def decisions_recent(
    workspace: Workspace, *, automatic: bool | None = None
) -> QuerySet[DuplicateDecision]:
    queryset = DuplicateDecision.objects.filter(workspace=workspace)
    if automatic is not None:
        queryset = queryset.filter(automatic=automatic)
    return queryset.order_by("-decided_at", "-id")


def decisions_labelled(workspace: Workspace) -> Sequence[tuple[dict, bool]]:
    """Every decision's comparison levels and verdict: the model's labelled examples."""
    return list(
        DuplicateDecision.objects.filter(workspace=workspace).values_list("levels", "is_duplicate")
    )
