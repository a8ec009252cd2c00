"""Nurture over the REST API (/api/v1), one module per part, their routers joined here."""

from ninja import Router

from leadflow.nurture.api.offers import router as offers_router
from leadflow.nurture.api.pacing import router as pacing_router

router = Router()
router.add_router("/", pacing_router)
router.add_router("/", offers_router)
