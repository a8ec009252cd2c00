"""Deals' public endpoints (no session): the payment provider's webhook."""

from django.urls import path

from leadflow.deals import public

urlpatterns = [
    path("hooks/stripe/<str:token>/", public.stripe_webhook, name="deals_stripe_webhook"),
]
