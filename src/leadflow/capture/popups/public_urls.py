"""Public pop-up URLs (no login), answered to popups.js on customers' sites."""

from django.urls import path

from leadflow.capture.popups import public

urlpatterns = [
    path("e/popups", public.popup_config, name="popup_config"),
    path("e/popups/event", public.popup_event, name="popup_event"),
]
