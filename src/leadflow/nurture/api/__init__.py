"""Nurture over the REST API (/api/v1), one module per part, their routers joined here:
the suppression list and subscription topics (``suppression``), marketing email
(``email``), the pacing of marketing messages (``pacing``), personal offers
(``offers``) sequences (``sequences``) and broadcasts (``broadcasts``)."""

from ninja import Router

from leadflow.nurture.api import segments
from leadflow.nurture.api.bounces import router as bounces_router
from leadflow.nurture.api.broadcasts import router as broadcasts_router
from leadflow.nurture.api.email import router as email_router
from leadflow.nurture.api.offers import router as offers_router
from leadflow.nurture.api.pacing import router as pacing_router
from leadflow.nurture.api.sequences import router as sequences_router
from leadflow.nurture.api.suppression import router as suppression_router
from leadflow.nurture.api.suppression import topics_router

router = Router()
router.add_router("/", segments.router)
router.add_router("/", suppression_router)
router.add_router("/", topics_router)
router.add_router("/", email_router)
router.add_router("/", pacing_router)
router.add_router("/", offers_router)
router.add_router("/", sequences_router)
router.add_router("/", broadcasts_router)
router.add_router("/", bounces_router)
