"""URL map: the app under /, the REST API under /api/v1/, health checks for operators."""

from django.urls import include, path

from leadflow.config.api import api
from leadflow.core.views import health

urlpatterns = [
    path("api/v1/", api.urls),
    path("healthz", health, name="health"),
    path("", include("leadflow.capture.urls")),
    path("", include("leadflow.web.urls")),
]
