"""Public landing-page URLs (no login). Paths and names are a public contract."""

from django.urls import path, re_path

from leadflow.pages import public

urlpatterns = [
    re_path(
        r"^lp/(?P<workspace_slug>[-a-zA-Z0-9_]+)/images/"
        r"(?P<file_name>[0-9a-f]{64}\.(?:png|jpg|webp|gif))$",
        public.image_view,
        name="pages_image",
    ),
    path("lp/<slug:workspace_slug>/<slug:slug>/", public.page_view, name="pages_page"),
    path("lp/<slug:workspace_slug>/<slug:slug>/submit", public.page_submit, name="pages_submit"),
]
