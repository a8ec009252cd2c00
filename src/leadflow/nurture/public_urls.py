"""Nurture's public endpoints (no session): unsubscribe, and later open and click."""

from django.urls import path

from leadflow.nurture import public, public_bounces

urlpatterns = [
    path("u/<str:token>/", public.unsubscribe, name="nurture_unsubscribe"),
    path(
        "hooks/email/<str:provider>/<str:token>/",
        public_bounces.provider_webhook,
        name="nurture_provider_webhook",
    ),
]
