"""Nurture over the REST API (/api/v1), one module per part, their routers joined here."""

from ninja import Router

from leadflow.nurture.api import segments

router = Router()
router.add_router("/", segments.router)
