"""Reading offers (always inside one workspace: another's id is not found) and what a
person's interests say."""

import datetime as dt

from django.db.models import Count, Q, QuerySet

from leadflow.capture.models import Submission, SubmissionStatus
from leadflow.contacts.models import Contact
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models import Offer, OfferCode
from leadflow.tracking.models import Event

INTEREST_DAYS = 90  # pages visited this recently count as interests
URLS_PER_CONTACT = 200


def offer_list(workspace: Workspace) -> QuerySet[Offer]:
    return (
        Offer.objects.filter(workspace=workspace)
        .annotate(
            issued=Count("codes", filter=Q(codes__contact__isnull=False)),
            redeemed=Count("codes", filter=Q(codes__redeemed_at__isnull=False)),
            waiting=Count("codes", filter=Q(codes__contact__isnull=True)),
        )
        .order_by("-active", "-priority", "name", "pk")
    )


def offer_get(workspace: Workspace, offer_id: int) -> Offer:
    found = offer_list(workspace).filter(pk=offer_id).first()
    if found is None:
        raise NotFound("No such offer in this workspace.")
    return found


def offer_codes_recent(offer: Offer, limit: int = 50) -> list[OfferCode]:
    return list(
        OfferCode.objects.filter(offer=offer, contact__isnull=False)
        .select_related("contact")
        .order_by("-issued_at", "-pk")[:limit]
    )


def offers_open(workspace_id: int, now: dt.datetime) -> list[Offer]:
    """Active offers whose period includes ``now``, best first (priority, then newest)."""
    return list(
        Offer.objects.filter(workspace_id=workspace_id, active=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("-priority", "-pk")
    )


def interest_signals(
    workspace_id: int, contact_ids: list[int], now: dt.datetime
) -> dict[int, dict[str, set[str]]]:
    """What each contact showed interest in, lower-cased, three queries for the batch:
    ``tags`` (tag names), ``pages`` (URLs visited in the last INTEREST_DAYS days, at most
    URLS_PER_CONTACT a person) and ``answers`` (text answers of their accepted forms)."""
    signals = {pk: {"tags": set(), "pages": set(), "answers": set()} for pk in contact_ids}
    tagged = Contact.tags.through.objects.filter(
        contact_id__in=contact_ids, contact__workspace_id=workspace_id
    ).values_list("contact_id", "tag__name")
    for pk, name in tagged:
        signals[pk]["tags"].add(name.lower())
    since = now - dt.timedelta(days=INTEREST_DAYS)
    visited = (
        Event.objects.filter(
            workspace_id=workspace_id, contact_id__in=contact_ids, occurred_at__gte=since
        )
        .exclude(url="")
        .values_list("contact_id", "url")
        .distinct()
    )
    for pk, url in visited:
        if pk in signals and len(signals[pk]["pages"]) < URLS_PER_CONTACT:
            signals[pk]["pages"].add(url.lower())
    answered = Submission.objects.filter(
        workspace_id=workspace_id, contact_id__in=contact_ids, status=SubmissionStatus.ACCEPTED
    ).values_list("contact_id", "values")
    for pk, payload in answered:
        for value in payload.values() if isinstance(payload, dict) else ():
            values = value if isinstance(value, list) else [value]
            signals[pk]["answers"].update(str(one).lower() for one in values if one)
    return signals


def interest_score(interests: list[str], signals: dict[str, set[str]]) -> int:
    """How well an offer's interests match a person: a tag 3, a form answer 2, a page 1,
    for each interest (the best of the three)."""
    score = 0
    for interest in interests:
        if interest in signals["tags"]:
            score += 3
        elif any(interest in answer for answer in signals["answers"]):
            score += 2
        elif any(interest in page for page in signals["pages"]):
            score += 1
    return score
