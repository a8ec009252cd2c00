"""Signing in and out, password reset and change, and the landing redirect.

Login is by email (stored lower-case, so the form lower-cases what is typed). Password
reset goes through Django's views and mail; an invited member sets a first password
through the same reset link.
"""

import math

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from leadflow.core import selectors as core_selectors
from leadflow.core import services as core_services
from leadflow.core.ratelimit import client_ip


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, matching the email however it is capitalised."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs.update(autocomplete="email")

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()


class LoginView(auth_views.LoginView):
    """Django's login, throttled: after too many wrong passwords for one account or from
    one address (core.services.login_throttle_wait), a sign-in answers 429 with a message
    saying when to try again, without checking the password; wrong passwords are counted
    and audited by core.services.login_failure_record."""

    template_name = "web/auth/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = (request.POST.get("username") or "").strip().lower()
        wait = core_services.login_throttle_wait(email=email, ip=client_ip(request))
        if wait:
            form = self.get_form()
            minutes = math.ceil(wait / 60)
            form.add_error(
                None,
                ValidationError(
                    "Too many wrong passwords for this account or from this network. "
                    f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, or reset "
                    "your password with “Forgot your password?”.",
                    code="throttled",
                ),
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        core_services.login_success_record(email=form.get_user().email)
        return super().form_valid(form)

    def form_invalid(self, form):
        email = (form.data.get("username") or "").strip().lower()
        if email and form.data.get("password"):
            core_services.login_failure_record(email=email, ip=client_ip(self.request))
        return super().form_invalid(form)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to their first workspace's home, anyone else to the login
    page (``LOGIN_REDIRECT_URL`` is this view, so a sign-in lands on the home too)."""
    if not request.user.is_authenticated:
        return redirect(reverse("login"))
    first = core_selectors.workspaces_for_user(request.user).first()
    if first is None:
        return render(request, "web/no_workspace.html")
    return redirect("workspace_home", workspace_slug=first.slug)
