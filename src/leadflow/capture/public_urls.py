"""Public capture URLs (no login): forms, their embed config, the opt-in link."""

from django.urls import path

from leadflow.capture import views

urlpatterns = [
    path("f/confirm/<str:token>/", views.optin_confirm, name="capture_optin_confirm"),
    path("f/<str:key>/config", views.form_config, name="capture_form_config"),
    path("f/<str:key>", views.form_endpoint, name="capture_form"),
]
