""" "My leads", the salesperson's queue: the member's own open leads, hot and new first
(``sales.selectors.my_leads``), a side panel per lead with one-click actions (log a call,
email, schedule a follow-up, accept / reject an MQL, convert to a deal, disqualify,
snooze, hand back), keyboard shortcuts (static/leadflow/my-leads.js) and a cheap poll
that redraws the list only when a lead came in.

Every view runs behind ``workspace_view("write")``: the roles that may own leads (a
viewer gets 403). A lead is looked up among the member's own open leads, so anybody
else's lead, or another workspace's id, answers 404. Writes go through the services of
the apps that own them, each in one transaction with its timeline row.
"""

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST, require_safe

from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.deals.services import lead_convert_to_deal
from leadflow.sales import selectors, services
from leadflow.sales.followup_kinds import CALL_OUTCOMES
from leadflow.sales.models import FollowUpKind
from leadflow.scoring.services import mql_accept, mql_reject
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map
from leadflow.web.timeline import Names, timeline_entries
from leadflow.web.views.common import PAGE_SIZE
from leadflow.web.views.email import compose_context
from leadflow.web.views.followups import followup_form_data

ACTIONS = ("call", "followup", "accept", "reject", "deal", "disqualify", "snooze", "hand-back")
SHORTCUTS = [
    ("j / k", "Next / previous lead"),
    ("Enter", "Open the selected lead"),
    ("c", "Log a call"),
    ("e", "Send an email"),
    ("f", "Schedule a follow-up"),
    ("a", "Accept the MQL"),
    ("r", "Reject the MQL"),
    ("d", "Convert to a deal"),
    ("x", "Disqualify"),
    ("s", "Snooze"),
    ("?", "Show these shortcuts"),
]


def _zone(request: HttpRequest):
    return selectors.assignee_time_zone(
        request.workspace, request.user.pk, own=request.user.time_zone
    )


def _list_context(request: HttpRequest, cursor: str | None) -> dict:
    now = timezone.now()
    queue = selectors.my_leads(request.workspace, request.user.pk, now=now)
    page = selectors.my_leads_page(queue, cursor=cursor, limit=PAGE_SIZE)
    return {
        "rows": _rows(request, page.items),
        "next_cursor": page.next_cursor,
        "cursor": cursor or "",
        "since": now.isoformat(),
        "now": now,
    }


def _rows(request: HttpRequest, contacts: list[Contact]) -> list:
    """The page's rows, each with its last activities in words (``row.entries``); the
    names they need are the member's and the activities' actors, already loaded."""
    rows = selectors.my_leads_rows(request.workspace, contacts)
    users = {request.user.pk: request.user.display_name}
    for row in rows:
        for activity in row.activities:
            if activity.actor_user is not None:
                users[activity.actor_user_id] = activity.actor_user.display_name
    names = Names(users=users, companies={}, custom_fields=[])
    for row in rows:
        row.entries = timeline_entries(row.activities, names)
    return rows


@workspace_view("write")
@require_safe
def my_leads(request: HttpRequest) -> HttpResponse:
    """The queue page (or, for the list's own refresh, the list alone)."""
    context = {
        "section": "my_leads",
        "shortcuts": SHORTCUTS,
        **_list_context(request, request.GET.get("cursor") or None),
    }
    if request.htmx and request.htmx.target == "my-leads-list":
        return render(request, "web/sales/my_leads.html#leads", context)
    return render(request, "web/sales/my_leads.html", context)


@workspace_view("write")
@require_safe
def my_leads_poll(request: HttpRequest) -> HttpResponse:
    """The live poll: 204 (nothing to swap) when no lead came into the queue since
    ``since``; else the list's first page (which carries the next poll)."""
    since = parse_datetime(request.GET.get("since", ""))
    if since is None or timezone.is_naive(since):
        raise ValidationFailed([FieldError("since", "A date and time with its time zone.")])
    count = selectors.my_leads_changed(request.workspace, request.user.pk, since=since)
    if not count:
        return HttpResponse(status=204)
    context = {"arrived": count, **_list_context(request, None)}
    return render(request, "web/sales/my_leads.html#leads", context)


def _lead(request: HttpRequest, contact_id: int) -> Contact:
    """One of the member's own open leads (snoozed too), else 404."""
    contact = (
        Contact.objects.filter(
            workspace=request.workspace,
            owner_id=request.user.pk,
            lifecycle_stage__in=selectors.OPEN_STAGES,
            pk=contact_id,
        )
        .select_related("company")
        .first()
    )
    if contact is None:
        raise Http404("Not one of your open leads.")
    return contact


def _panel_context(request: HttpRequest, contact: Contact, **extra) -> dict:
    zone, zone_name = _zone(request)
    tomorrow_9 = (timezone.now().astimezone(zone) + dt.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    row = _rows(request, [contact])[0]
    context = {
        "contact": contact,
        "row": row,
        "is_mql": contact.lifecycle_stage == LifecycleStage.MQL,
        "call_outcomes": CALL_OUTCOMES.items(),
        "followup_kinds": FollowUpKind.choices,
        "tomorrow_10": tomorrow_9.replace(hour=10).strftime("%Y-%m-%dT%H:%M"),
        "tomorrow_9": tomorrow_9.strftime("%Y-%m-%dT%H:%M"),
        "in_an_hour": (timezone.now().astimezone(zone) + dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "next_week": (tomorrow_9 + dt.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M"),
        "my_zone": zone_name,
        "log_url": reverse("my_leads_action", args=[request.workspace.slug, contact.pk, "call"]),
        "log_target": "#lead-panel",
        "log_swap": "innerHTML",
        "log_errors": {},
        "log_values": {},
        "errors": {},
        "values": {},
        "open": "",
        "now": timezone.now(),
    }
    context.update(compose_context(request, contact))
    context.update(extra)
    return context


def _panel(request: HttpRequest, contact: Contact, status: int = 200, **extra) -> HttpResponse:
    response = render(
        request,
        "web/sales/_my_lead_panel.html",
        _panel_context(request, contact, **extra),
        status=status,
    )
    if status == 200 and request.method == "POST":
        response["HX-Trigger"] = "my-leads-refresh"
    return response


@workspace_view("write")
@require_safe
def my_lead_panel(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The side panel of one of the member's leads, its actions ready."""
    return _panel(request, _lead(request, contact_id))


def _snooze_until(text: str, zone) -> dt.datetime:
    moment = parse_datetime(text.strip()) if text else None
    if moment is None:
        raise ValidationFailed([FieldError("until", "Choose a date and time.")])
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)
    return moment


def _act(request: HttpRequest, contact: Contact, action: str) -> tuple[str, str]:
    """Run one action; returns (what to tell the member, a link or "")."""
    workspace, actor, post = request.workspace, request.actor, request.POST
    reason = post.get("reason", "")
    if action == "call":
        next_followup = followup_form_data(post, "next_") if post.get("next") == "on" else None
        duration = post.get("duration_minutes", "").strip()
        if duration and not duration.isdecimal():
            raise ValidationFailed([FieldError("duration_minutes", "Whole minutes.")])
        services.call_log(
            duration_minutes=int(duration) if duration else None,
            workspace=workspace,
            contact_id=contact.pk,
            outcome=post.get("outcome", ""),
            notes=post.get("notes", ""),
            next_followup=next_followup,
            actor=actor,
        )
        return "Call logged.", ""
    if action == "followup":
        services.followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data=followup_form_data(post),
            actor=actor,
        )
        return "Follow-up scheduled.", ""
    if action == "accept":
        mql_accept(workspace=workspace, contact_id=contact.pk, actor=actor, reason=reason)
        return f"Accepted {contact}: now a sales-qualified lead.", ""
    if action == "reject":
        mql_reject(workspace=workspace, contact_id=contact.pk, actor=actor, reason=reason)
        return f"Rejected {contact}: back to nurture.", ""
    if action == "deal":
        deal = lead_convert_to_deal(
            workspace=workspace,
            actor=actor,
            contact_id=contact.pk,
            title=post.get("title", "").strip() or None,
            amount=post.get("amount", "").strip() or None,
        )
        return f"Deal created: {deal}.", reverse("deal_detail", args=[workspace.slug, deal.pk])
    if action == "disqualify":
        services.lead_disqualify(
            workspace=workspace, contact_id=contact.pk, reason=reason, actor=actor
        )
        return f"{contact} disqualified.", ""
    if action == "snooze":
        until = _snooze_until(post.get("preset") or post.get("until", ""), _zone(request)[0])
        services.lead_snooze(
            workspace=workspace,
            contact_id=contact.pk,
            user_id=request.user.pk,
            until=until,
            actor=actor,
        )
        return f"{contact} snoozed until {until:%b %-d, %H:%M}.", ""
    services.lead_hand_back(workspace=workspace, contact_id=contact.pk, reason=reason, actor=actor)
    return f"{contact} handed back to routing.", ""


@workspace_view("write")
@require_POST
def my_lead_action(request: HttpRequest, contact_id: int, action: str) -> HttpResponse:
    """One action on one of the member's leads. With htmx: the panel again (errors beside
    their fields, 422) and the list refreshed; without: back to the queue with a message."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    contact = _lead(request, contact_id)
    try:
        done, link = _act(request, contact, action)
    except (ValidationFailed, Conflict) as failure:
        if not request.htmx:
            raise
        errors = (
            error_map(failure)
            if isinstance(failure, ValidationFailed)
            else {"__all__": [failure.detail]}
        )
        errors = {name.replace("next_followup.", "next_"): texts for name, texts in errors.items()}
        values = request.POST.dict()
        return _panel(
            request,
            contact,
            status=422,
            errors=errors,
            values=values,
            open=action,
            log_errors={"call": errors} if action == "call" else {},
            log_values={"call": values} if action == "call" else {},
            log_open="call" if action == "call" else "",
        )
    if not request.htmx:
        messages.success(request, done)
        return redirect("my_leads", request.workspace.slug)
    still_mine = Contact.objects.filter(
        workspace=request.workspace,
        pk=contact.pk,
        owner_id=request.user.pk,
        lifecycle_stage__in=selectors.OPEN_STAGES,
    ).first()
    if still_mine is None or action == "snooze":
        response = render(request, "web/sales/_my_lead_done.html", {"done": done, "link": link})
        response["HX-Trigger"] = "my-leads-refresh"
        return response
    still_mine.company = contact.company
    return _panel(request, still_mine, done=done, link=link)
