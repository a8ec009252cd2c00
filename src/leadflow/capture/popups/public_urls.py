"""Public pop-up URLs (no login), answered to popups.js on customers' sites."""

from django.urls import path

from leadflow.capture.popups import public

urlpatterns = [
    path("p/config", public.popup_config, name="popup_config"),
    path("p/event", public.popup_event, name="popup_event"),
]
