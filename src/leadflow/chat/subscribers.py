"""What chat does when activities are announced: an order placed in a chat and paid
(``order.paid``, written only on Stripe's signed webhook) makes its conversation say
"Payment received" and run its flow on (``chat.services.activities_order_paid``), in the
delivery's transaction: a crash delivers the batch again, and a conversation that no
longer waits for that payment does not move twice."""

from leadflow.chat.services import activities_order_paid
from leadflow.contacts.activity_log import activity_subscriber_register
from leadflow.deals.order_kinds import ORDER_PAID

SUBSCRIBER = "chat_orders"


def register() -> None:
    activity_subscriber_register(SUBSCRIBER, activities_order_paid, kinds=[ORDER_PAID])
