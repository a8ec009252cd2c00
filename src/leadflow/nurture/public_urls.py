"""Nurture's public endpoints (no session): unsubscribe, open and click tracking."""

from django.urls import path

from leadflow.nurture import public, public_tracking

urlpatterns = [
    path("u/<str:token>/", public.unsubscribe, name="nurture_unsubscribe"),
    path("t/c/<str:token>/", public_tracking.click, name="nurture_click"),
    path("t/o/<str:token>.gif", public_tracking.open_pixel, name="nurture_open"),
]
