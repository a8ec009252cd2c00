"""Public inbound webhook URLs (no login): one per lead source."""

from django.urls import path

from leadflow.inbound import public

urlpatterns = [path("in/<str:key>", public.webhook, name="inbound_webhook")]
