"""REST endpoints of lead scoring (/api/v1/scoring/...): one module per concern, each with
its own router, gathered into ``router`` here (config/api.py adds it)."""

from ninja import Router

from leadflow.scoring.api import engagement
from leadflow.scoring.api.lifecycle import router as lifecycle_router
from leadflow.scoring.api.models import router as models_router

router = Router(tags=["scoring"])
router.add_router("", engagement.router)
router.add_router("/", models_router)
router.add_router("/", lifecycle_router)
