"""The REST API under /api/v1 (django-ninja). Its OpenAPI schema is committed in docs/api."""

from ninja import NinjaAPI

from leadflow import __version__
from leadflow.capture.api import router as capture_router
from leadflow.capture.popups.api import router as popups_router
from leadflow.chat.api import router as chat_router
from leadflow.chat.api_policy import router as chat_policy_router
from leadflow.chat.channels_api import router as channels_router
from leadflow.chat.inbox_api import router as chat_inbox_router
from leadflow.chat.knowledge_api import router as knowledge_router
from leadflow.contacts.api import router as contacts_router
from leadflow.core.api import router as workspace_router
from leadflow.core.apikit import ApiKeyAuth, JsonParser, install_error_handlers
from leadflow.deals.api import router as deals_router
from leadflow.duplicates.api import router as duplicates_router
from leadflow.imports.api import router as imports_router
from leadflow.inbound.api import router as inbound_router
from leadflow.nurture.api import router as nurture_router
from leadflow.pages.api import router as pages_router
from leadflow.pages.api_images import router as page_images_router
from leadflow.sales.api import router as sales_router
from leadflow.scoring.api import router as scoring_router
from leadflow.tracking.api import router as tracking_router

# Operation ids are published in docs/api/openapi.json, and clients are generated from
# them: an app whose api module became a package keeps the ids its operations had.
OPERATION_ID_MODULES = {"leadflow.deals.api.deals": "leadflow.deals.api"}


class LeadFlowAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        module = OPERATION_ID_MODULES.get(module, module)
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")


api = LeadFlowAPI(
    title="LeadFlow API",
    version="1",
    description=(
        "Contacts, companies, custom fields and lead forms of one workspace. Authenticate with "
        "`Authorization: Bearer <api key>`. Errors are application/problem+json. "
        f"LeadFlow {__version__}."
    ),
    auth=ApiKeyAuth(),
    parser=JsonParser(),
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/", workspace_router)
api.add_router("/", contacts_router)
api.add_router("/", imports_router)
api.add_router("/", capture_router)
api.add_router("/", popups_router)
api.add_router("/", tracking_router)
api.add_router("/", inbound_router)
api.add_router("/", duplicates_router)
api.add_router("/", scoring_router)
api.add_router("/", sales_router)
api.add_router("/", deals_router)
api.add_router("/", nurture_router)
api.add_router("/", page_images_router)  # before /pages/{page_id}
api.add_router("/", pages_router)
api.add_router("/", chat_router)
api.add_router("/", knowledge_router)
api.add_router("/", chat_policy_router)
api.add_router("/", chat_inbox_router)
api.add_router("/", channels_router)
