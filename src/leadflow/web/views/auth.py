"""Signing in and out, password reset and change, and the landing redirect.

Login is by email (stored lower-case, so the form lower-cases what is typed). Password
reset goes through Django's views and mail; an invited member sets a first password
through the same reset link.
"""

from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from leadflow.core import selectors as core_selectors
from leadflow.core.models import User, Workspace


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, matching the email however it is capitalised."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs.update(autocomplete="email")

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()


class InvitationForm(PasswordResetForm):
    """Sends the set-your-password link to one invited member, who has no password yet."""

    def __init__(self, user: User, *args, **kwargs):
        super().__init__({"email": user.email}, *args, **kwargs)
        self.invited = user

    def get_users(self, email):
        return [self.invited] if self.invited.is_active else []


def invitation_send(request: HttpRequest, user: User, workspace: Workspace) -> None:
    """Email ``user`` a link to choose a password and join ``workspace``."""
    form = InvitationForm(user)
    form.is_valid()
    form.save(
        request=request,
        use_https=request.is_secure(),
        subject_template_name="web/auth/invitation_subject.txt",
        email_template_name="web/auth/invitation_email.txt",
        extra_email_context={"workspace": workspace, "inviter": request.user},
    )


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to their first workspace, anyone else to the login page."""
    if not request.user.is_authenticated:
        return redirect(reverse("login"))
    first = core_selectors.workspaces_for_user(request.user).first()
    if first is None:
        return render(request, "web/no_workspace.html")
    return redirect("contact_list", workspace_slug=first.slug)
