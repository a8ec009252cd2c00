"""Deals over the REST API (/api/v1), one module per part, their routers joined here:
products, orders and the payment settings (``products``; first, so ``/deals/products``
and ``/deals/orders`` are not read as a deal's id) and pipelines, stages and deals
(``deals``)."""

from ninja import Router

from leadflow.deals.api.deals import router as deals_router
from leadflow.deals.api.products import router as products_router

router = Router()
router.add_router("/", products_router)
router.add_router("/", deals_router)
