"""Small helpers shared by the page modules."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

PAGE_SIZE = 50


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a full page load."""
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx else None


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    partials: dict[str, str] | None = None,
    status: int = 200,
    trigger: str | None = None,
) -> HttpResponse:
    """Render the whole page, or only the partial an htmx request targets.

    ``partials`` maps an htmx target id to a partial defined in ``template``; any other
    request gets the full page, so every page works without JavaScript.
    """
    target = htmx_target(request)
    name = template
    if target and partials and target in partials:
        name = f"{template}#{partials[target]}"
    response = render(request, name, context, status=status)
    if trigger:
        response["HX-Trigger"] = trigger
    return response


def query_with(params: dict[str, str], **changes: str | None) -> str:
    """A query string from ``params`` with some keys replaced (None drops a key)."""
    merged = {**params, **changes}
    return urlencode({key: value for key, value in merged.items() if value not in (None, "")})


def widget_script_url(request: HttpRequest, file_name: str) -> str:
    """The absolute URL of a widget script (form.js, lf.js) for snippets pasted on sites.

    Not static(): a hashed file name would change with every release, and these snippets
    live on other people's sites for years.
    """
    base = request.build_absolute_uri("/").rstrip("/")
    return f"{base}{settings.STATIC_URL}leadflow/{file_name}"


def as_text(markup: str) -> str:
    """Rendered markup as plain text, no longer marked safe (``str()`` keeps the mark), so
    the page escapes it where it shows it: a snippet to copy, a preview in ``srcdoc``."""
    return str.__str__(markup)
