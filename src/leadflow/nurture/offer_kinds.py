"""The activity kinds personal offers write on a contact's timeline (one typed writer),
registered in ``NurtureConfig.ready``.

- ``offer.issued``: the contact was given a code of an offer (in an email, a sequence, or
  by hand).
- ``offer.redeemed``: the contact's code was used (an order, reported by API): a conversion.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

OFFER_ISSUED = "offer.issued"
OFFER_REDEEMED = "offer.redeemed"
OFFER_FIELDS = ("offer_id", "offer", "code", "reference")


def offer_data(*, offer_id: int, offer: str, code: str, reference: str = "") -> dict[str, Any]:
    return {"offer_id": offer_id, "offer": offer, "code": code, "reference": reference}


def _issued(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Offer given: {data.get('offer', '')}"
    text.details.append(f"Code {data.get('code', '')}")
    return OFFER_FIELDS


def _redeemed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Offer redeemed: {data.get('offer', '')}"
    details = f"Code {data.get('code', '')}"
    if data.get("reference"):
        details += f" · {data['reference']}"
    text.details.append(details)
    return OFFER_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=OFFER_ISSUED, label="Offer given", payload_fields=OFFER_FIELDS, summary=_issued
        ),
        ActivityKindDefinition(
            key=OFFER_REDEEMED,
            label="Offer redeemed",
            payload_fields=OFFER_FIELDS,
            summary=_redeemed,
        ),
    )
