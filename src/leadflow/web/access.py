"""Access to workspace pages: who is asking, in which workspace, with which role.

``workspace_view`` is the one gate every workspace page goes through. It guarantees that
the view body runs only for a logged-in member of the workspace named in the URL whose
role grants the permission, with ``request.workspace``, ``request.membership`` and
``request.actor`` set. A workspace the user is not a member of answers 404 (its existence
is never revealed); a missing permission answers 403. Domain errors the view does not
handle itself become HTTP answers: NotFound → 404, PermissionDenied → 403, and a
ValidationFailed or Conflict on a POST becomes an error message on the page the user
came from.
"""

from collections.abc import Callable, Mapping
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from leadflow.core import selectors as core_selectors
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from leadflow.web.forms import error_text

View = Callable[..., HttpResponse]


def workspace_view(
    permission: str = "read",
    *,
    also: tuple[str, ...] = (),
    labels: Mapping[str, str] | None = None,
) -> Callable:
    """Decorate a view that works inside ``/w/<workspace_slug>/``.

    ``permission`` (and every name in ``also``) must be granted by the member's role
    (``core.models.ROLE_PERMISSIONS``). The wrapped view does not receive
    ``workspace_slug``; it reads ``request.workspace`` instead. ``labels`` names the fields
    of the view's form as the page shows them, for the message of a refused change
    (``domain_error_response``).
    """
    required = (permission, *also)

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, workspace_slug: str, *args, **kwargs) -> HttpResponse:
            try:
                membership = core_selectors.membership_for(
                    workspace_slug=workspace_slug, user=request.user
                )
            except NotFound:
                raise Http404("No such workspace.") from None
            request.workspace = membership.workspace
            request.membership = membership
            request.actor = Actor.for_user(request.user, membership)
            if not all(membership.can(name) for name in required):
                raise HttpForbidden("Your role does not allow this.")
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                raise Http404(error.detail) from None
            except PermissionDenied as error:
                raise HttpForbidden(error.detail) from None
            except (ValidationFailed, Conflict) as error:
                return domain_error_response(request, error, labels=labels)

        return wrapper

    return decorate


def domain_error_response(
    request: HttpRequest,
    error: ValidationFailed | Conflict,
    *,
    labels: Mapping[str, str] | None = None,
) -> HttpResponse:
    """A refused change the view did not render itself: say why, back where the user was.

    Each field is named as a member knows it (``web.forms.field_label``: the view's
    ``labels``, else a readable name), never by its name in code; the API keeps the names
    (integrators need them)."""
    text = error.detail
    if isinstance(error, ValidationFailed):
        text = error_text(error, labels) or error.detail
    if request.method == "POST":
        messages.error(request, text)
        if getattr(request, "htmx", False):
            # A swapped fragment has no place for the message: reload the page, which shows it.
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return HttpResponseRedirect(safe_next(request, default=request.path))
    return render(request, "web/error.html", {"error_message": text}, status=400)


def safe_next(request: HttpRequest, default: str, field: str = "next") -> str:
    """The local URL in ``next`` (form field, query or Referer), else ``default``."""
    candidates = [
        request.POST.get(field),
        request.GET.get(field),
        request.headers.get("Referer"),
    ]
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return default
