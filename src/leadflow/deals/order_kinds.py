"""The activity kinds orders write on a contact's timeline, their payload (one typed
writer) and how the timeline tells them; registered in ``DealsConfig.ready``.

- ``order.placed``: the contact ordered products (in the chat, or through the API).
- ``order.paid``: the payment provider's signed webhook said the order was paid.
- ``order.expired``: the checkout ran out before the contact paid.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Names,
    TimelineText,
    activity_kind_register,
)

ORDER_PLACED = "order.placed"
ORDER_PAID = "order.paid"
ORDER_EXPIRED = "order.expired"
ORDER_FIELDS = ("order_id", "deal_id", "items", "total", "currency", "source", "provider")


def order_data(order) -> dict[str, Any]:
    """The payload of every order kind (amounts as text: JSON has no decimals)."""
    return {
        "order_id": order.pk,
        "deal_id": order.deal_id,
        "items": [f"{item['quantity']} × {item['name']}" for item in order.items],
        "total": f"{order.total:.2f}",
        "currency": order.currency,
        "source": order.source,
        "provider": order.provider,
    }


def _line(data: Mapping[str, Any]) -> str:
    items = ", ".join(str(item) for item in data.get("items") or [])
    return f"{items} · {data.get('total', '')} {data.get('currency', '')}".strip(" ·")


def _placed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Order placed (#{data.get('order_id', '')})"
    text.details.append(_line(data))
    return ORDER_FIELDS


def _paid(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Order paid (#{data.get('order_id', '')})"
    text.details.append(_line(data))
    return ORDER_FIELDS


def _expired(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.label = f"Order not paid in time (#{data.get('order_id', '')})"
    text.details.append(_line(data))
    return ORDER_FIELDS


def register() -> None:
    activity_kind_register(
        ActivityKindDefinition(
            key=ORDER_PLACED, label="Order placed", payload_fields=ORDER_FIELDS, summary=_placed
        ),
        ActivityKindDefinition(
            key=ORDER_PAID, label="Order paid", payload_fields=ORDER_FIELDS, summary=_paid
        ),
        ActivityKindDefinition(
            key=ORDER_EXPIRED,
            label="Order expired",
            payload_fields=ORDER_FIELDS,
            summary=_expired,
        ),
    )
