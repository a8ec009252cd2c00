"""Nurture's public endpoints (no session): the unsubscribe link ``/u/<token>/``.

- ``POST`` with ``List-Unsubscribe=One-Click`` in the body (RFC 8058: a mail provider's
  unsubscribe button, or the page's own) unsubscribes: no cookie, no CSRF token (the
  signed token is the proof), 200 without a redirect; a retry is harmless.
- ``GET`` (and ``HEAD``) shows the confirmation page and the preference centre and never changes
  anything by itself (link scanners fetch every link of a message).
- ``POST`` with ``action=preferences`` saves the preference centre (topics, frequency,
  a pause); the signed token stands in for a CSRF token here too.

An altered or unknown token answers 404 with a page that says so; requests are rate
limited per IP; a database failure answers 503 (core.middleware).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.contacts.models import ConsentStatus
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.publickit import too_many_requests
from leadflow.core.ratelimit import client_ip, rate_limit_hit
from leadflow.nurture import selectors, services
from leadflow.nurture.links import UnsubscribeLink, unsubscribe_read
from leadflow.nurture.models import Frequency

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
TEMPLATE = "nurture/unsubscribe.html"


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    # The token in the address is the recipient's key: never cached, never sent onwards.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _context(workspace: Workspace, link: UnsubscribeLink, **extra) -> dict:
    """What the page shows: the address, whether it is unsubscribed, and (for a link of a
    contact that still exists) the preference centre's topics and current choices."""
    contact = selectors.link_contact(workspace, link.contact_id)
    unsubscribed = selectors.suppression_reason(workspace.pk, link.address) is not None or (
        contact is not None and contact.consent_status == ConsentStatus.WITHDRAWN
    )
    context = {
        "workspace": workspace,
        "address": link.address,
        "unsubscribed": unsubscribed,
        "contact": contact,
        "frequencies": Frequency.choices,
    }
    if contact is not None:
        preferences = selectors.marketing_preferences(workspace.pk, [contact.pk])[contact.pk]
        context["preferences"] = preferences
        context["topics"] = [
            (topic, topic.pk not in preferences.topics_opted_out)
            for topic in selectors.topics_list(workspace)
        ]
    return {**context, **extra}


def _pause_days(raw: str) -> int | None:
    return int(raw) if raw in {"0", "30", "90"} else None


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    wait = rate_limit_hit(
        f"unsubscribe-ip:{client_ip(request)}",
        limit=settings.LEADFLOW_UNSUBSCRIBE_RATE_PER_IP,
        window_seconds=60,
    )
    if wait:
        return too_many_requests("Too many requests; retry shortly.", wait)
    link = unsubscribe_read(token)
    workspace = selectors.link_workspace(link.workspace_id) if link else None
    if link is None or workspace is None:
        return _page(request, {"invalid": True}, status=404)
    if request.method in ("GET", "HEAD"):  # scanners and previews: never a change
        return _page(request, _context(workspace, link))
    if request.POST.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
        source = "unsubscribe page" if request.POST.get("from_page") else "one-click"
        services.unsubscribe_one_click(link=link, source=source)
        return _page(request, _context(workspace, link, done=True))
    if request.POST.get("action") == "preferences":
        context = _context(workspace, link)
        contact = context["contact"]
        if contact is None:
            return _page(request, {**context, "error": "There are no preferences to save."}, 400)
        chosen = {value for value in request.POST.getlist("topic") if value.isdigit()}
        opted_out = [topic.pk for topic, _ in context["topics"] if str(topic.pk) not in chosen]
        try:
            services.preferences_save(
                workspace=workspace,
                contact=contact,
                topics_opted_out=opted_out,
                frequency=request.POST.get("frequency", Frequency.ALL),
                pause_days=_pause_days(request.POST.get("pause", "")),
            )
        except ValidationFailed as error:
            return _page(request, {**context, "error": error.errors[0].message}, status=400)
        return _page(request, _context(workspace, link, saved=True))
    return _page(
        request,
        {
            **_context(workspace, link),
            "error": "This request did not ask for anything: nothing was changed.",
        },
        status=400,
    )
