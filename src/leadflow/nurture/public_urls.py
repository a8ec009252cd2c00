"""Nurture's public endpoints (no session): unsubscribe, and later open and click."""

urlpatterns: list = []
