"""Public tracking URL (no login)."""

from django.urls import path

from leadflow.tracking import public

urlpatterns = [
    path("e", public.events_endpoint, name="tracking_events"),
    path("e/config", public.tracker_config, name="tracking_config"),
]
