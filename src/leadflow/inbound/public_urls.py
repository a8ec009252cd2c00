"""Public inbound webhook URLs (no login): one per lead source."""

from django.urls import path

from leadflow.inbound import views

urlpatterns = [path("in/<str:key>", views.webhook, name="inbound_webhook")]
