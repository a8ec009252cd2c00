"""Public tracking URL (no login)."""

from django.urls import path

from leadflow.tracking import views

urlpatterns = [
    path("e", views.events_endpoint, name="tracking_events"),
    path("e/config", views.tracker_config, name="tracking_config"),
]
