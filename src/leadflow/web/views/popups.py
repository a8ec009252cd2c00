"""Pop-ups in the app: the list with each one's views, closes, conversions and conversion
rate; one page to create or edit a pop-up (style, content, triggers, targeting with the
condition editor for identified visitors, frequency); deletion.

Pop-up ids in URLs are looked up inside the current workspace (another workspace's id
answers 404). Reading needs ``read``; writing needs ``manage_forms`` (pop-ups are
marketing's, like forms). Writes go through ``capture.popups.services``, whose field
errors (``triggers.time_seconds``, ``targeting.include[2]``...) are shown on their inputs.
"""

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_safe

from leadflow.capture import selectors as form_selectors
from leadflow.capture.popups import selectors, services
from leadflow.capture.popups.models import Popup, PopupContent, PopupStatus, PopupStyle
from leadflow.capture.popups.rules import (
    AUDIENCES,
    DEVICES,
    FREQUENCY_DEFAULTS,
    TARGETING_DEFAULTS,
    VISITORS,
)
from leadflow.contacts.conditions import ConditionContext
from leadflow.core.errors import ValidationFailed
from leadflow.tracking.models import Channel
from leadflow.web.access import workspace_view
from leadflow.web.conditions_form import editor_for, tree_from_post
from leadflow.web.views.common import render_page

SECTION = {"section": "popups"}
PREFIX = "conditions"
LEGEND = "Identified visitors must match"
VISITOR_LABELS = {
    "all": "New and returning",
    "new": "New visitors only",
    "returning": "Returning only",
}
AUDIENCE_LABELS = {
    "everyone": "Everyone (identified visitors must match the conditions)",
    "anonymous": "Only visitors not yet identified",
    "known": "Only identified visitors matching the conditions",
}
PATTERN_LISTS = ("include", "exclude", "utm_source", "utm_medium", "utm_campaign")


@workspace_view("read")
@require_safe
def popup_list(request: HttpRequest) -> HttpResponse:
    """Every pop-up with its counters (stored on its row: no counting query)."""
    popups = list(selectors.popup_list(request.workspace))
    return render_page(request, "web/popups/list.html", {**SECTION, "popups": popups})


def _number(raw: str) -> Any:
    """A typed number, None for blank, the text itself when unreadable (the service names it)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,]", raw) if line.strip()]


def _posted(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    form_id = post.get("form_id", "").strip()
    return {
        "name": post.get("name", ""),
        "status": post.get("status", ""),
        "style": post.get("style", ""),
        "content": post.get("content", ""),
        "title": post.get("title", ""),
        "body": post.get("body", ""),
        "form_id": int(form_id) if form_id.isdigit() and len(form_id) < 18 else None,
        "link_url": post.get("link_url", ""),
        "link_label": post.get("link_label", ""),
        "mobile_full": post.get("mobile_full") == "on",
        "triggers": {
            "time_seconds": _number(post.get("time_seconds", "")),
            "scroll_percent": _number(post.get("scroll_percent", "")),
            "exit_intent": post.get("exit_intent") == "on",
            "inactivity_seconds": _number(post.get("inactivity_seconds", "")),
            "click_selector": post.get("click_selector", ""),
        },
        "targeting": {
            **{key: _lines(post.get(key, "")) for key in PATTERN_LISTS},
            "devices": post.getlist("devices"),
            "visitors": post.get("visitors", "all"),
            "channels": post.getlist("channels"),
            "audience": post.get("audience", "everyone"),
            "conditions": None,
        },
        "frequency": {
            "once_per_session": post.get("once_per_session") == "on",
            "every_days": _number(post.get("every_days", "")),
            "closed_days": _number(post.get("closed_days", "")),
            "stop_after_convert": post.get("stop_after_convert") == "on",
        },
    }


def _values(popup: Popup | None) -> dict[str, Any]:
    """What the page shows: the pop-up's settings, or a new one's defaults."""
    if popup is None:
        return {
            "name": "",
            "status": PopupStatus.PAUSED,
            "style": PopupStyle.MODAL,
            "content": PopupContent.NOTICE,
            "title": "",
            "body": "",
            "form_id": None,
            "link_url": "",
            "link_label": "",
            "mobile_full": False,
            "triggers": {"time_seconds": 5},
            "targeting": dict(TARGETING_DEFAULTS),
            "frequency": dict(FREQUENCY_DEFAULTS),
        }
    return {
        "name": popup.name,
        "status": popup.status,
        "style": popup.style,
        "content": popup.content,
        "title": popup.title,
        "body": popup.body,
        "form_id": popup.form_id,
        "link_url": popup.link_url,
        "link_label": popup.link_label,
        "mobile_full": popup.mobile_full,
        "triggers": popup.triggers,
        "targeting": popup.targeting,
        "frequency": popup.frequency,
    }


def _error_key(field: str) -> str:
    """An error's field as the page's input name: ``triggers.time_seconds`` → time_seconds,
    ``targeting.include[2]`` → include."""
    return re.sub(r"\[\d+\]$", "", field.split(".")[-1] if "." in field else field)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def popup_edit(request: HttpRequest, popup_id: int | None = None) -> HttpResponse:
    """A new pop-up (``popup_id`` None) or one pop-up's settings and figures."""
    workspace = request.workspace
    popup = selectors.popup_get(workspace, popup_id) if popup_id else None
    context = ConditionContext(workspace=workspace, user_id=request.user.pk)
    values = _values(popup)
    errors: dict[str, list[str]] = {}
    tree_errors = []
    status = 200
    if request.method == "POST":
        if not request.membership.can("manage_forms"):
            return HttpResponse("Your role does not allow this.", status=403)
        values = _posted(request)
        try:
            values["targeting"]["conditions"] = tree_from_post(request.POST, context) or None
            if popup is None:
                popup = services.popup_create(workspace=workspace, data=values, actor=request.actor)
                messages.success(request, f"Created the pop-up “{popup.name}”.")
            else:
                popup = services.popup_update(
                    workspace=workspace, popup_id=popup.pk, data=values, actor=request.actor
                )
                messages.success(request, f"Saved the pop-up “{popup.name}”.")
            return redirect("popup_edit", workspace.slug, popup.pk)
        except ValidationFailed as failure:
            status = 422
            for error in failure.errors:
                if error.field.startswith(("targeting.conditions", "conditions")):
                    tree_errors.append(
                        type(error)(error.field.removeprefix("targeting."), error.message)
                    )
                else:
                    errors.setdefault(_error_key(error.field), []).append(error.message)
    tree = values["targeting"].get("conditions") if values.get("targeting") else None
    page = {
        **SECTION,
        "popup": popup,
        "values": values,
        "lists": {key: "\n".join(values["targeting"].get(key, [])) for key in PATTERN_LISTS},
        "errors": errors,
        "editor": editor_for(tree, context, prefix=PREFIX, legend=LEGEND, errors=tree_errors),
        "forms": list(form_selectors.form_list(workspace)),
        "styles": PopupStyle.choices,
        "contents": PopupContent.choices,
        "statuses": PopupStatus.choices,
        "devices": DEVICES,
        "visitor_choices": [(key, VISITOR_LABELS[key]) for key in VISITORS],
        "audience_choices": [(key, AUDIENCE_LABELS[key]) for key in AUDIENCES],
        "channels": Channel.choices,
        "may_edit": request.membership.can("manage_forms"),
    }
    return render_page(request, "web/popups/edit.html", page, status=status)


@workspace_view("manage_forms")
@require_http_methods(["GET", "POST"])
def popup_delete(request: HttpRequest, popup_id: int) -> HttpResponse:
    """Ask, then delete the pop-up and its figures."""
    popup = selectors.popup_get(request.workspace, popup_id)
    if request.method == "POST":
        services.popup_delete(workspace=request.workspace, popup_id=popup.pk, actor=request.actor)
        messages.success(request, f"Deleted the pop-up “{popup.name}”.")
        return redirect("popup_list", request.workspace.slug)
    return render_page(request, "web/popups/delete.html", {**SECTION, "popup": popup})
