"""Sales over the REST API (/api/v1), one module per concern, their routers joined here:
routing (``routing``: teams, rules, reassignment, the team queue), one-to-one email
(``email``), follow-ups, calls and meetings (``followups``), the salesperson's queue
(``my_leads``) and the speed-to-lead report (``speed``)."""

from ninja import Router

from leadflow.sales.api.email import router as email_router
from leadflow.sales.api.followups import router as followups_router
from leadflow.sales.api.my_leads import router as my_leads_router
from leadflow.sales.api.routing import router as routing_router
from leadflow.sales.api.speed import router as speed_router

router = Router()
router.add_router("/", routing_router)
router.add_router("/", email_router)
router.add_router("/", followups_router)
router.add_router("/", speed_router)
router.add_router("/", my_leads_router)
