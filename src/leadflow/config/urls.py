"""URL map: the app under /, the REST API under /api/v1/, health checks for operators."""

from django.conf import settings
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from leadflow.config.api import api
from leadflow.core.views import bench_bare_bulk_insert, bench_bare_insert, bench_hello, health

handler400 = "leadflow.core.views.bad_request"
handler500 = "leadflow.core.views.server_error"

urlpatterns = [
    # Landing pages first: their views are the busiest public URLs (bench_pages).
    path("", include("leadflow.pages.public_urls")),
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
    path("", include("leadflow.capture.public_urls")),
    path("", include("leadflow.capture.popups.public_urls")),
    path("", include("leadflow.tracking.public_urls")),
    path("", include("leadflow.inbound.public_urls")),
    path("", include("leadflow.nurture.public_urls")),
    path("", include("leadflow.chat.public_urls")),
    path("", include("leadflow.deals.public_urls")),
    path("", include("leadflow.web.urls")),
]

if settings.LEADFLOW_BENCH_ENDPOINTS:
    urlpatterns.insert(0, path("bench/bare-insert", csrf_exempt(bench_bare_insert)))
    urlpatterns.insert(0, path("bench/bare-events", csrf_exempt(bench_bare_bulk_insert)))
    urlpatterns.insert(0, path("bench/hello", bench_hello))
