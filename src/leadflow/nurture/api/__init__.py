"""Nurture over the REST API (/api/v1), one module per part, their routers joined here:
marketing email (``email``)."""

from ninja import Router

from leadflow.nurture.api.email import router as email_router

router = Router()
router.add_router("/", email_router)
