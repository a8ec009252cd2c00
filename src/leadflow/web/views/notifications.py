"""In-app notifications: the bell in the header (its count, fetched by htmx after the page
loads and every 30 seconds, so a page costs no extra query), the notifications page, and
marking them read. Each member sees only their own notifications in the current workspace.

Also the member's profile: their name and the time zone their follow-up times are read in.
"""

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.core import notifications
from leadflow.core.errors import ValidationFailed
from leadflow.core.services import user_profile_update
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map

BELL_MAX = 99


@workspace_view("read")
@require_safe
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's count of unread notifications: one COUNT query."""
    unread = notifications.notification_unread_count(request.workspace, request.user)
    return render(
        request,
        "web/notifications/_bell.html",
        {"unread": unread, "unread_shown": f"{BELL_MAX}+" if unread > BELL_MAX else unread},
    )


@workspace_view("read")
@require_safe
def notification_list(request: HttpRequest) -> HttpResponse:
    """The member's notifications, newest first, 50 a page (unread ones marked)."""
    rows = notifications.notification_list(
        request.workspace, request.user, unread=request.GET.get("unread") == "1"
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    unread = notifications.notification_unread_count(request.workspace, request.user)
    return render(
        request,
        "web/notifications/list.html",
        {"page": page, "unread": unread, "only_unread": request.GET.get("unread") == "1"},
    )


@workspace_view("read")
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (a path inside the app)."""
    row = (
        notifications.notification_list(request.workspace, request.user)
        .filter(pk=notification_id)
        .first()
    )
    if row is None:
        raise Http404("No such notification.")
    notifications.notification_mark_read(
        workspace=request.workspace, user=request.user, notification_id=row.pk
    )
    if row.link and url_has_allowed_host_and_scheme(row.link, allowed_hosts=None):
        return redirect(row.link)
    return redirect("notification_list", request.workspace.slug)


@workspace_view("read")
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read."""
    if not notifications.notification_mark_read(
        workspace=request.workspace, user=request.user, notification_id=notification_id
    ):
        raise Http404("No such notification.")
    return redirect("notification_list", request.workspace.slug)


@workspace_view("read")
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark all the member's notifications in this workspace read."""
    changed = notifications.notifications_mark_all_read(
        workspace=request.workspace, user=request.user
    )
    messages.success(request, f"{changed} marked read." if changed else "Nothing unread.")
    return redirect("notification_list", request.workspace.slug)


TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The member's name and time zone (their follow-ups' due times are read in it)."""
    user = request.user
    values = {"full_name": user.full_name, "time_zone": user.time_zone}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {
            "full_name": request.POST.get("full_name", ""),
            "time_zone": request.POST.get("time_zone", ""),
        }
        try:
            user_profile_update(user=user, data=values)
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Profile saved.")
            return redirect("profile")
    return render(
        request,
        "web/auth/profile.html",
        {
            "values": values,
            "errors": errors,
            "zone_choices": [(name, name.replace("_", " ")) for name in TIME_ZONES],
        },
        status=status,
    )
