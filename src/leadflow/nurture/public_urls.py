"""Nurture's public endpoints (no session): unsubscribe, and later open and click."""

from django.urls import path

from leadflow.nurture import public

urlpatterns = [
    path("u/<str:token>/", public.unsubscribe, name="nurture_unsubscribe"),
]
