"""Public capture URLs (no login): forms, their embed config, the opt-in link."""

from django.urls import path

from leadflow.capture import public

urlpatterns = [
    path("f/confirm/<str:token>/", public.optin_confirm, name="capture_optin_confirm"),
    path("f/<str:key>/config", public.form_config, name="capture_form_config"),
    path("f/<str:key>", public.form_endpoint, name="capture_form"),
    path("m/<str:key>/renew", public.magnet_renew, name="capture_magnet_renew"),
    path("m/<str:key>/<str:token>/", public.magnet_open, name="capture_magnet_open"),
]
