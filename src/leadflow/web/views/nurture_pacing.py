"""Settings → Pacing: how often marketing may reach one person (the cap across every
sequence and broadcast), quiet hours in the person's own time zone, and the pause after
ignored messages. Every member may read it; changing it needs ``manage_settings``. A refused
input is shown beside its field with 422 and nothing is saved."""

import datetime as dt
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from leadflow.core.errors import ValidationFailed
from leadflow.nurture.selectors.pacing import pacing_settings_get
from leadflow.nurture.services.pacing import PACING_FIELDS, pacing_settings_update
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

MANAGE = "manage_settings"
NUMBERS = ("cap_messages", "cap_days", "pause_after_ignored")
TIMES = ("quiet_start", "quiet_end")


def _posted(post) -> tuple[dict, dict]:
    """(what the service gets, what the form shows again): numbers and times parsed where
    they parse, else left as text so the service names the field."""
    shown = {name: post.get(name, "").strip() for name in PACING_FIELDS}
    shown["quiet_enabled"] = post.get("quiet_enabled") == "on"
    changes: dict = {"quiet_enabled": shown["quiet_enabled"], "time_zone": shown["time_zone"]}
    for name in NUMBERS:
        text = shown[name]
        changes[name] = int(text) if re.fullmatch(r"-?\d{1,6}", text) else text
    for name in TIMES:
        try:
            changes[name] = dt.time.fromisoformat(shown[name])
        except ValueError:
            changes[name] = shown[name]
    return changes, shown


def _values(found) -> dict:
    values = {name: getattr(found, name) for name in PACING_FIELDS}
    for name in TIMES:
        values[name] = values[name].strftime("%H:%M")
    return values


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def pacing_settings(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    may_change = request.membership.can(MANAGE)
    values, errors, status = _values(pacing_settings_get(workspace.pk)), {}, 200
    if request.method == "POST":
        if not may_change:
            raise HttpForbidden("Your role may not change the pacing.")
        changes, values = _posted(request.POST)
        try:
            pacing_settings_update(
                workspace_id=workspace.pk, actor=request.actor, changes=changes, now=timezone.now()
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the pacing.")
            return redirect("nurture_pacing", workspace.slug)
    page = {
        "settings_section": "pacing",
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, PACING_FIELDS),
        "may_change": may_change,
    }
    return render_page(request, "web/nurture/pacing.html", page, status=status)
