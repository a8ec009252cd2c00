"""Writes of deals: pipelines, stages and settings (``pipelines``), deals, their moves and
a lead's conversion (``deals``), products (``products``), orders (``orders``) and their
payment through Stripe (``payments``). This package re-exports their public names, so callers
import from ``leadflow.deals.services`` whichever module a service lives in."""

from leadflow.deals.services.deals import (
    deal_create,
    deal_delete,
    deal_lose,
    deal_move_stage,
    deal_reopen,
    deal_update,
    deal_win,
    lead_convert_to_deal,
)
from leadflow.deals.services.orders import order_mark_expired, order_mark_paid, order_place
from leadflow.deals.services.payments import (
    order_checkout_create,
    payment_settings_save,
    stripe_event_record,
    stripe_event_verify,
    stripe_webhook_url,
    stripe_webhook_workspace,
)
from leadflow.deals.services.pipelines import (
    deal_settings_get,
    deal_settings_update,
    pipeline_create,
    pipeline_default_ensure,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
)
from leadflow.deals.services.products import product_archive, product_create, product_update

__all__ = [
    "deal_create",
    "deal_delete",
    "deal_lose",
    "deal_move_stage",
    "deal_reopen",
    "deal_settings_get",
    "deal_settings_update",
    "deal_update",
    "deal_win",
    "lead_convert_to_deal",
    "order_checkout_create",
    "order_mark_expired",
    "order_mark_paid",
    "order_place",
    "payment_settings_save",
    "pipeline_create",
    "pipeline_default_ensure",
    "pipeline_delete",
    "pipeline_update",
    "product_archive",
    "product_create",
    "product_update",
    "stage_create",
    "stage_delete",
    "stage_reorder",
    "stage_update",
    "stripe_event_record",
    "stripe_event_verify",
    "stripe_webhook_url",
    "stripe_webhook_workspace",
]
