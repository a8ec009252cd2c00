"""Nurture's public endpoints (no session): unsubscribe, open and click tracking, the email
and SMS providers' webhooks."""

from django.urls import path

from leadflow.nurture import public, public_bounces, public_sms, public_tracking

urlpatterns = [
    path("u/<str:token>/", public.unsubscribe, name="nurture_unsubscribe"),
    path(
        "hooks/email/<str:provider>/<str:token>/",
        public_bounces.provider_webhook,
        name="nurture_provider_webhook",
    ),
    path("hooks/sms/<str:token>/in/", public_sms.inbound, name="nurture_sms_inbound"),
    path("hooks/sms/<str:token>/status/", public_sms.status, name="nurture_sms_status"),
    path("t/c/<str:token>/", public_tracking.click, name="nurture_click"),
    path("t/o/<str:token>.gif", public_tracking.open_pixel, name="nurture_open"),
]
