"""Nurture over the REST API (/api/v1), one module per part, their routers joined here:
the suppression list and subscription topics (``suppression``)."""

from ninja import Router

from leadflow.nurture.api.suppression import router as suppression_router
from leadflow.nurture.api.suppression import topics_router

router = Router()
router.add_router("/", suppression_router)
router.add_router("/", topics_router)
