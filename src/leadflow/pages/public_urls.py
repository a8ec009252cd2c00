"""Public landing-page URLs (no login). Paths and names are a public contract."""

from django.urls import path

from leadflow.pages import public

urlpatterns = [
    path("lp/<slug:workspace_slug>/<slug:slug>/", public.page_view, name="pages_page"),
    path("lp/<slug:workspace_slug>/<slug:slug>/submit", public.page_submit, name="pages_submit"),
]
