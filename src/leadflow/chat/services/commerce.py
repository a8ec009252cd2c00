"""The product step: show a product, take the order, open its checkout, hear it is paid.

Guarantees (docs/chat/flows.md, "Product"):

- The product is shown as one bot message with ``{"product": {id, name, price, currency,
  description}}`` and the Buy / No thanks choices; an archived or deleted product is said
  to be unavailable and the flow goes on at ``next``.
- Buy places the order in the visitor's request (``deals.services.order_place``: a deal
  with the contact and the amount, ``order.placed``), under the conversation's row lock
  and only while the bot waits for that choice, so a retried or repeated Buy orders once;
  the order and its conversation are linked (``ChatOrder``).
- The checkout is asked of Stripe by the worker (``conversation_checkout_task``, after the
  commit; never in a web request): its page is said once as ``{"order": {id, amount,
  currency, checkout_url}}``. When Stripe cannot make it, the visitor is told and the flow
  goes on at ``next``.
- Paid is Stripe's signed word only: the ``order.paid`` activity (written by the webhook's
  ``order_mark_paid``) reaches the ``chat_orders`` activity subscriber, which says
  "Payment received" in the conversation and runs the flow on at ``paid`` (or ends it),
  once: only a conversation still waiting for that order's payment moves.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q

from leadflow.chat import engine
from leadflow.chat.models import (
    ChatOrder,
    Conversation,
    ConversationStatus,
    Message,
    MessageAuthor,
)
from leadflow.chat.services.conversations import (
    STEP_EFFECTS,
    StepCall,
    step_contact_apply,
    step_message_add,
    step_run,
    step_save,
)
from leadflow.contacts.models import Activity
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, ValidationFailed
from leadflow.core.tasks import task_schedule
from leadflow.deals.models import OrderStatus, Product
from leadflow.deals.services import order_checkout_create, order_place

logger = logging.getLogger(__name__)
CHECKOUT_TASK = "leadflow.chat.tasks.conversation_checkout_task"
UNAVAILABLE = "Sorry, this product is not available any more."
NOT_ORDERED = "Sorry, we could not take the order. Please try again later."
NO_CHECKOUT = "Sorry, we could not open the payment page. Please try again later."


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk,
        "name": product.name,
        "price": f"{product.price:.2f}",
        "currency": product.currency,
        "description": product.description,
    }


def _product_show(call: StepCall, effect: engine.Effect) -> engine.Event:
    """The product and its two choices, or "not available" (an empty offer)."""
    workspace_id = call.conversation.workspace_id
    product = Product.objects.filter(
        workspace_id=workspace_id, pk=effect.data["product"], active=True
    ).first()
    if product is None:
        step_message_add(call, MessageAuthor.BOT, UNAVAILABLE, step=effect.step)
        return engine.Offer(())
    choices = effect.data["choices"]
    payload = {"product": product_json(product), "input": "choice", "choices": choices}
    text = effect.data.get("text") or product.name
    step_message_add(call, MessageAuthor.BOT, text, step=effect.step, payload=payload)
    return engine.Offer(tuple((c["value"], c["label"]) for c in choices))


def _order(call: StepCall, effect: engine.Effect) -> engine.Event | None:
    """Buy: the order (a deal) for the visitor's contact, and its checkout for the worker.
    None: the bot waits for the checkout."""
    step_contact_apply(call)  # the email just given makes the contact
    conversation = call.conversation
    if conversation.contact_id is None:
        step_message_add(call, MessageAuthor.BOT, NOT_ORDERED, step=effect.step)
        return engine.OrderResult(placed=False)
    try:
        with transaction.atomic():
            order = order_place(
                workspace=conversation.workspace,
                contact=conversation.contact,
                items=[(effect.data["product"], 1)],
                source="chat",
                actor=Actor.system(f"chat: {call.flow.name}"[:200]),
            )
            ChatOrder.objects.create(
                workspace_id=conversation.workspace_id,
                conversation=conversation,
                order=order,
                step=effect.step,
            )
    except ValidationFailed as failure:  # archived meanwhile, say
        logger.info("chat %s: order refused: %s", conversation.pk, failure.detail)
        step_message_add(call, MessageAuthor.BOT, NOT_ORDERED, step=effect.step)
        return engine.OrderResult(placed=False)
    task_schedule(CHECKOUT_TASK, conversation.pk, order.pk)
    return None


def _step_event(
    conversation_id: int,
    step: str,
    waiting: str,
    event_of: Callable[[StepCall], engine.Event | None],
) -> bool:
    """Under the conversation's lock: if the bot still waits for ``waiting`` at ``step``,
    ``event_of(call)`` (which may say something) gives the event the engine runs on. False
    when the conversation has moved on (a retried task, a late event)."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("workspace", "flow", "flow_version")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or conversation.status != ConversationStatus.BOT:
            return False
        state = engine.State.from_json(conversation.state.get("engine") or {})
        if state.waiting != waiting or state.step != step:
            return False
        call = StepCall(conversation, conversation.flow, conversation.flow_version.graph)
        event = event_of(call)
        if event is not None:
            outcome = engine.engine_advance(
                call.graph, state, event, country=conversation.workspace.default_country
            )
            step_run(call, outcome)
        step_save(call)
    return True


def conversation_checkout(*, conversation_id: int, order_id: int) -> bool:
    """The worker's half of Buy: ask Stripe for the order's checkout (outside any
    transaction; Stripe's idempotency key makes a retry the same session) and say its page,
    or say it could not. True when the conversation moved on."""
    link = (
        ChatOrder.objects.select_related("order", "conversation__workspace")
        .filter(conversation_id=conversation_id, order_id=order_id)
        .first()
    )
    if link is None or link.checkout_url:
        return False
    state = engine.State.from_json(link.conversation.state.get("engine") or {})
    if state.waiting != engine.WAIT_ORDER or state.step != link.step:
        return False
    workspace = link.conversation.workspace
    try:
        url = order_checkout_create(workspace=workspace, order_id=order_id)
    except (Conflict, ValidationFailed) as error:
        logger.warning("chat %s: no checkout for order %s: %s", conversation_id, order_id, error)
        url = ""

    def said(call: StepCall) -> engine.Event:
        if not url:
            step_message_add(call, MessageAuthor.BOT, NO_CHECKOUT, step=link.step)
            return engine.OrderResult(placed=False)
        ChatOrder.objects.filter(pk=link.pk).update(checkout_url=url[:2000])
        order = link.order
        payload = {
            "order": {
                "id": order.pk,
                "amount": f"{order.total:.2f}",
                "currency": order.currency,
                "checkout_url": url,
            }
        }
        text = f"Your order #{order.pk}: {order.total:.2f} {order.currency}. Pay here."
        step_message_add(call, MessageAuthor.BOT, text, step=link.step, payload=payload)
        return engine.OrderResult(placed=True)

    moved = _step_event(conversation_id, link.step, engine.WAIT_ORDER, said)
    link.order.refresh_from_db(fields=["status"])
    if moved and link.order.status == OrderStatus.PAID:  # paid before the page was said
        conversation_order_paid(conversation_id=conversation_id, order_id=order_id)
    return moved


def conversation_order_paid(*, conversation_id: int, order_id: int) -> bool:
    """The order was paid: "Payment received" and the flow runs on (``paid``), if the
    conversation still waits for that payment. True when it moved."""
    link = ChatOrder.objects.filter(conversation_id=conversation_id, order_id=order_id).first()
    if link is None:
        return False
    if _step_event(conversation_id, link.step, engine.WAIT_PAYMENT, lambda call: engine.Paid()):
        return True
    _paid_note(link)
    return False


def _paid_note(link: ChatOrder) -> None:
    """A payment that arrives once a person has the chat (or is asked for): the bot no
    longer waits for it, so the conversation says it to both sides as a notice, once, and
    the flow does not move (the person goes on from there)."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("workspace", "flow", "flow_version")
            .filter(pk=link.conversation_id)
            .first()
        )
        if conversation is None or conversation.status not in (
            ConversationStatus.WAITING,
            ConversationStatus.ASSIGNED,
        ):
            return
        step = next(
            (
                s
                for s in conversation.flow_version.graph.get("steps", [])
                if s.get("id") == link.step
            ),
            {},
        )
        said = Message.objects.filter(conversation=conversation).filter(
            Q(payload__order_paid=link.order_id)
            | Q(
                author=MessageAuthor.BOT,
                step=link.step,
                text=step.get("paid_text") or engine.DEFAULT_PAID_TEXT,
            )
        )
        if said.exists():
            return
        call = StepCall(conversation, conversation.flow, conversation.flow_version.graph)
        text = f"{step.get('paid_text') or engine.DEFAULT_PAID_TEXT}: order {link.order_id}."
        step_message_add(
            call,
            MessageAuthor.SYSTEM,
            text,
            step=link.step,
            payload={"order_paid": link.order_id, "notice": True},
        )
        step_save(call)


def activities_order_paid(activities: list[Activity]) -> None:
    """The ``chat_orders`` subscriber: every ``order.paid`` of an order placed in a chat
    moves its conversation on (in the delivery's transaction; a batch seen again changes
    nothing, the conversation no longer waits)."""
    order_ids = {
        activity.data.get("order_id")
        for activity in activities
        if isinstance(activity.data, dict) and isinstance(activity.data.get("order_id"), int)
    }
    links = ChatOrder.objects.filter(
        workspace_id=activities[0].workspace_id, order_id__in=order_ids
    ).values_list("conversation_id", "order_id")
    for conversation_id, order_id in links:
        conversation_order_paid(conversation_id=conversation_id, order_id=order_id)


STEP_EFFECTS["product"] = _product_show
STEP_EFFECTS["order"] = _order
