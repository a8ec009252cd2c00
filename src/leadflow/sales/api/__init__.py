"""REST endpoints of the sales app (/api/v1/...): one module per concern, each with its own
router, gathered into ``router`` here (config/api.py adds it)."""

from ninja import Router

from leadflow.sales.api.followups import router as followups_router

router = Router()
router.add_router("/", followups_router)
