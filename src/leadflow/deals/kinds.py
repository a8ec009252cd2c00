"""The activity kinds deals write on a contact's timeline, their payload (one typed
writer) and how the timeline tells them; registered in ``DealsConfig.ready``.

- ``deal.created``: a deal was opened for the contact (by hand, the API or a conversion).
- ``deal.stage_changed``: one of the contact's deals moved to another open stage.
- ``deal.won`` / ``deal.lost``: one of the contact's deals closed (lost: with its reason).
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

DEAL_CREATED = "deal.created"
DEAL_STAGE_CHANGED = "deal.stage_changed"
DEAL_WON = "deal.won"
DEAL_LOST = "deal.lost"
DEAL_FIELDS = (
    "deal_id",
    "title",
    "pipeline",
    "from_stage",
    "to_stage",
    "amount",
    "currency",
    "reason",
)


def deal_data(
    *,
    deal_id: int,
    title: str,
    pipeline: str,
    to_stage: str,
    amount: Decimal,
    currency: str,
    from_stage: str = "",
    reason: str = "",
) -> dict[str, Any]:
    """The payload of every deal kind (the amount as text: JSON has no decimals)."""
    return {
        "deal_id": deal_id,
        "title": title,
        "pipeline": pipeline,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "amount": str(amount),
        "currency": currency,
        "reason": reason,
    }


def _money(data: Mapping[str, Any]) -> str:
    return f"{data.get('amount', '')} {data.get('currency', '')}".strip()


def _created(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Deal opened: {data.get('title', '')}"
    text.details.append(f"{data.get('pipeline', '')} · {data.get('to_stage', '')} · {_money(data)}")
    return DEAL_FIELDS


def _moved(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Deal moved: {data.get('title', '')}"
    text.details.append(f"{data.get('from_stage') or '—'} → {data.get('to_stage', '')}")
    return DEAL_FIELDS


def _won(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Deal won: {data.get('title', '')}"
    text.details.append(_money(data))
    return DEAL_FIELDS


def _lost(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Deal lost: {data.get('title', '')}"
    if data.get("reason"):
        text.details.append(f"Reason: {data['reason']}")
    text.details.append(_money(data))
    return DEAL_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=DEAL_CREATED, label="Deal opened", payload_fields=DEAL_FIELDS, summary=_created
        ),
        ActivityKindDefinition(
            key=DEAL_STAGE_CHANGED,
            label="Deal moved",
            payload_fields=DEAL_FIELDS,
            summary=_moved,
        ),
        ActivityKindDefinition(
            key=DEAL_WON, label="Deal won", payload_fields=DEAL_FIELDS, summary=_won
        ),
        ActivityKindDefinition(
            key=DEAL_LOST, label="Deal lost", payload_fields=DEAL_FIELDS, summary=_lost
        ),
    )
