"""Orders: what a contact buys, the deal it opens, and how its payment ends.

Guarantees:

- ``order_place`` checks every item (a product of the workspace, offered, a whole
  quantity from 1 to 1,000; one currency per order) and then, in one transaction, opens a
  deal for the contact with the order's total in the default pipeline's first open stage
  (``deal_create``: ``deal.created`` on the timeline), stores the order with a copy of
  each product's name, SKU and price as they are now, and writes ``order.placed``.
- ``order_mark_paid`` and ``order_mark_expired`` are what the payment provider's signed
  webhook calls (``deals.services.payments``); nothing else makes an order paid. They
  lock the order's row first (then the deal's, then the contact's, as every deal move
  does), so two deliveries at once change it once: paid wins the deal through
  ``deal_win`` (``deal.won``, the contact a customer, the forecast's won amounts) and
  writes ``order.paid``; an order already paid stays paid.
"""

import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.deals.models import Deal, DealStatus, Order, OrderStatus, Product
from leadflow.deals.order_kinds import ORDER_EXPIRED, ORDER_PAID, ORDER_PLACED, order_data
from leadflow.deals.services.deals import deal_create, deal_win

logger = logging.getLogger(__name__)
MAX_QUANTITY = 1000
MAX_ITEMS = 50


def _items_clean(
    workspace: Workspace, items: Sequence[tuple[int, int]]
) -> tuple[list[dict], Decimal, str]:
    """The order's lines (products merged, in the order given), its total and currency."""
    errors: list[FieldError] = []
    if not isinstance(items, list | tuple) or not items or len(items) > MAX_ITEMS:
        raise ValidationFailed([FieldError("items", f"1 to {MAX_ITEMS} products.")])
    quantities: dict[int, int] = {}
    for index, item in enumerate(items):
        try:
            product_id, quantity = item
        except (TypeError, ValueError):
            errors.append(FieldError(f"items.{index}", "A product id and a quantity."))
            continue
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id < 1:
            errors.append(FieldError(f"items.{index}.product_id", "A product's id."))
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors.append(FieldError(f"items.{index}.quantity", "A whole number from 1."))
            continue
        quantities[product_id] = quantities.get(product_id, 0) + quantity
    if errors:
        raise ValidationFailed(errors)
    products = {
        product.pk: product
        for product in Product.objects.filter(workspace=workspace, pk__in=list(quantities))
    }
    lines: list[dict] = []
    for index, (product_id, quantity) in enumerate(quantities.items()):
        product = products.get(product_id)
        if product is None:
            errors.append(FieldError(f"items.{index}.product_id", "No such product here."))
        elif not product.active:
            errors.append(FieldError(f"items.{index}.product_id", "This product is archived."))
        elif quantity > MAX_QUANTITY:
            errors.append(FieldError(f"items.{index}.quantity", f"At most {MAX_QUANTITY}."))
        else:
            lines.append(
                {
                    "product_id": product.pk,
                    "name": product.name,
                    "sku": product.sku,
                    "quantity": quantity,
                    "unit_price": f"{product.price:.2f}",
                    "amount": f"{product.price * quantity:.2f}",
                }
            )
    currencies = {products[line["product_id"]].currency for line in lines}
    if len(currencies) > 1:
        errors.append(FieldError("items", "The products of one order share one currency."))
    if errors:
        raise ValidationFailed(errors)
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0"))
    return lines, total, currencies.pop()


def order_title(lines: Sequence[dict]) -> str:
    """The deal's title: the products with their quantities ("2 x Kite, Harness")."""
    parts = [
        f"{line['quantity']} × {line['name']}" if line["quantity"] > 1 else line["name"]
        for line in lines
    ]
    title = ", ".join(parts)
    return title if len(title) <= 200 else title[:199] + "…"


def order_place(
    *,
    workspace: Workspace,
    contact: Contact,
    items: Sequence[tuple[int, int]],
    source: str = "",
    actor: Actor | None = None,
) -> Order:
    """Place an order for ``contact``: ``items`` are (product id, quantity) pairs. Opens a
    deal (the contact, the total, the default pipeline's first open stage, titled from the
    products) and stores the pending order, in one transaction. ``source`` says where it
    was placed ("chat", "api"); the actor defaults to the system named after it."""
    if contact is None or contact.workspace_id != workspace.pk:
        raise ValidationFailed([FieldError("contact_id", "No such contact in this workspace.")])
    source = str(source or "")[:50]
    actor = actor or Actor.system(source or "order")
    lines, total, currency = _items_clean(workspace, items)
    now = timezone.now()
    with transaction.atomic():
        deal = deal_create(
            workspace=workspace,
            actor=actor,
            values={
                "contact_id": contact.pk,
                "title": order_title(lines),
                "amount": total,
                "currency": currency,
            },
        )
        order = Order.objects.create(
            workspace=workspace,
            deal=deal,
            contact=contact,
            items=lines,
            total=total,
            currency=currency,
            status=OrderStatus.PENDING,
            source=source,
            created_at=now,
            updated_at=now,
        )
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=ORDER_PLACED,
            actor=actor,
            data=order_data(order),
        )
    return order


def _locked(workspace: Workspace, order_id: int) -> Order:
    order = (
        Order.objects.select_for_update(of=("self",))
        .filter(workspace=workspace, pk=order_id)
        .select_related("contact")
        .first()
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def order_mark_paid(
    *,
    workspace: Workspace,
    order_id: int,
    provider: str,
    payment_intent_id: str = "",
    checkout_session_id: str = "",
) -> bool:
    """The order is paid (the provider's signed word only): the order paid, its deal won
    through ``deal_win``, ``order.paid`` on the timeline. False when it was paid already
    (nothing changes). NotFound for an order not in the workspace."""
    actor = Actor.system(provider.capitalize() or "payment")
    with transaction.atomic():
        order = _locked(workspace, order_id)
        if order.status == OrderStatus.PAID:
            return False
        now = timezone.now()
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.updated_at = now
        order.provider = provider
        order.payment_intent_id = payment_intent_id[:255] or order.payment_intent_id
        order.checkout_session_id = checkout_session_id[:255] or order.checkout_session_id
        order.save()
        if order.contact_id is not None:
            activity_record(
                workspace=workspace,
                contact=order.contact,
                kind=ORDER_PAID,
                actor=actor,
                data=order_data(order),
            )
        deal_open = Deal.objects.filter(workspace=workspace, pk=order.deal_id).exclude(
            status=DealStatus.WON
        )
        if order.deal_id is not None and deal_open.exists():
            try:
                deal_win(workspace=workspace, actor=actor, deal_id=order.deal_id)
            except Conflict:
                # A pipeline without a won stage: the order is paid all the same.
                logger.warning("Order %s paid; its deal's pipeline has no won stage.", order.pk)
    return True


def order_mark_expired(*, workspace: Workspace, order_id: int, checkout_session_id: str) -> bool:
    """The checkout ran out unpaid: a pending order whose current checkout this was
    becomes expired (``order.expired``); a paid order, or one that has moved on to a newer
    checkout, is left as it is. True when it changed."""
    with transaction.atomic():
        order = _locked(workspace, order_id)
        if order.status != OrderStatus.PENDING:
            return False
        if order.checkout_session_id and order.checkout_session_id != checkout_session_id:
            return False
        order.status = OrderStatus.EXPIRED
        order.updated_at = timezone.now()
        order.save(update_fields=["status", "updated_at"])
        if order.contact_id is not None:
            activity_record(
                workspace=workspace,
                contact=order.contact,
                kind=ORDER_EXPIRED,
                actor=Actor.system("Payment provider"),
                data=order_data(order),
            )
    return True
