"""Follow-ups, calls and meetings in the app: the "Follow-ups" page (overdue, today,
upcoming, done; owners and admins can look at anyone's), the follow-ups panel on the contact
page (add, complete, reopen, reschedule, edit, delete) and the "Log call" / "Log meeting"
forms of its timeline, which can schedule the next follow-up in the same submit.

Every view runs behind ``workspace_view``; follow-up and contact ids are looked up among
what the member may see (``sales.selectors.followups_visible``), so another workspace's id,
or a lead a salesperson may not open, answers 404. Writes go through ``sales.services``.
"""

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.models import Contact
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.selectors import LEAD_OWNER_PERMISSION
from leadflow.sales import selectors, services
from leadflow.sales.followup_kinds import CALL_OUTCOMES, MEETING_OUTCOMES
from leadflow.sales.models import FollowUpKind
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.forms import error_map
from leadflow.web.views.common import PAGE_SIZE, query_with

BUCKET_LABELS = {"overdue": "Overdue", "today": "Today", "upcoming": "Upcoming", "done": "Done"}
LOGS = {"call": CALL_OUTCOMES, "meeting": MEETING_OUTCOMES}


def _zone(request: HttpRequest):
    return selectors.assignee_time_zone(
        request.workspace, request.user.pk, own=request.user.time_zone
    )


def followup_form_data(post: QueryDict, prefix: str = "") -> dict:
    """The follow-up fields a form posted (``prefix`` for the one inside a log form): the
    due time as typed (``datetime-local``), read in the assignee's zone by the service."""
    data = {
        "kind": post.get(f"{prefix}kind", FollowUpKind.CALL),
        "title": post.get(f"{prefix}title", ""),
        "notes": post.get(f"{prefix}notes", ""),
        "due_at": post.get(f"{prefix}due_at", ""),
    }
    assignee = post.get(f"{prefix}assignee_id", "")
    if assignee:
        data["assignee_id"] = int(assignee) if assignee.isdecimal() else assignee
    if post.get(f"{prefix}reminder_at"):
        data["reminder_at"] = post[f"{prefix}reminder_at"]
    return data


def followup_panel_context(
    request: HttpRequest,
    contact: Contact,
    *,
    errors: dict | None = None,
    values: dict | None = None,
) -> dict:
    """What the contact page's follow-ups panel and log forms show (three queries)."""
    open_ones, done = selectors.contact_followups(request.workspace, request.actor, contact.pk)
    zone, zone_name = _zone(request)
    # A due time is typed in its assignee's zone (the service reads it there): the
    # reschedule field shows it in that zone, whoever looks.
    zones = {request.user.pk: (zone, zone_name)}
    for followup in open_ones:
        if followup.assignee_id not in zones:
            zones[followup.assignee_id] = selectors.assignee_time_zone(
                request.workspace, followup.assignee_id
            )
        followup.zone_name = zones[followup.assignee_id][1]
        followup.due_local = _local(followup.due_at, zones[followup.assignee_id][0])
    return {
        "followups_open": open_ones,
        "followups_done": done,
        "followup_errors": errors or {},
        "followup_values": values or {"kind": FollowUpKind.CALL},
        "followup_kinds": FollowUpKind.choices,
        "lead_owners": list(
            core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION)
        ),
        "my_zone": zone_name,
        "now_for_panel": timezone.now(),
        "tomorrow_10": (timezone.now().astimezone(zone) + dt.timedelta(days=1)).strftime(
            "%Y-%m-%dT10:00"
        ),
        "call_outcomes": CALL_OUTCOMES.items(),
        "meeting_outcomes": MEETING_OUTCOMES.items(),
    }


def _local(moment: dt.datetime | None, zone) -> str:
    """``moment`` as a ``datetime-local`` field shows it in ``zone`` ("" when None)."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _panel(request: HttpRequest, contact: Contact, status: int = 200, **extra) -> HttpResponse:
    context = {"contact": contact, **followup_panel_context(request, contact, **extra)}
    response = render(request, "web/followups/_panel.html", context, status=status)
    if status == 200 and request.method == "POST":
        response["HX-Trigger"] = "timeline-changed"
    return response


@workspace_view("read")
@require_safe
def followup_panel(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact's follow-ups panel alone (refreshed after a call or meeting log)."""
    contact = contact_selectors.contact_get(request.workspace, request.actor, contact_id)
    return _panel(request, contact)


@workspace_view("write")
@require_POST
def followup_add(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Schedule a follow-up on the contact; errors beside their fields."""
    contact = contact_selectors.contact_get(request.workspace, request.actor, contact_id)
    data = followup_form_data(request.POST)
    try:
        services.followup_create(
            workspace=request.workspace, contact_id=contact.pk, data=data, actor=request.actor
        )
    except ValidationFailed as failure:
        if not request.htmx:
            raise
        return _panel(request, contact, status=422, errors=error_map(failure), values=data)
    if not request.htmx:
        messages.success(request, "Follow-up scheduled.")
        return redirect("contact_detail", request.workspace.slug, contact.pk)
    return _panel(request, contact)


def _followup_action(request: HttpRequest, followup_id: int, action=None) -> HttpResponse:
    """Run ``action`` on the follow-up (None: it was done already), then answer with the
    contact's panel (HTMX) or go back."""
    followup = selectors.followup_get(request.workspace, request.actor, followup_id)
    if action is not None:
        action(workspace=request.workspace, followup_id=followup.pk, actor=request.actor)
    if request.htmx and request.htmx.target == "followups":
        contact = contact_selectors.contact_get(
            request.workspace, request.actor, followup.contact_id
        )
        return _panel(request, contact)
    return redirect(
        safe_next(request, default=reverse("followup_list", args=[request.workspace.slug]))
    )


@workspace_view("write")
@require_POST
def followup_complete(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Mark a follow-up done."""
    return _followup_action(request, followup_id, services.followup_complete)


@workspace_view("write")
@require_POST
def followup_reopen(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Open a done follow-up again."""
    return _followup_action(request, followup_id, services.followup_reopen)


@workspace_view("write")
@require_POST
def followup_reschedule(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Move a follow-up's due time (typed in the assignee's zone; its reminder moves with
    it when it followed the due time); a bad time shows in the panel's message."""
    followup = selectors.followup_get(request.workspace, request.actor, followup_id)
    try:
        services.followup_update(
            workspace=request.workspace,
            followup_id=followup.pk,
            data={"due_at": request.POST.get("due_at", "")},
            actor=request.actor,
        )
    except ValidationFailed as failure:
        if not (request.htmx and request.htmx.target == "followups"):
            raise
        contact = contact_selectors.contact_get(
            request.workspace, request.actor, followup.contact_id
        )
        errors = {"__all__": [f"Due: {e.message}" for e in failure.errors]}
        return _panel(request, contact, status=422, errors=errors)
    return _followup_action(request, followup_id)


@workspace_view("write")
def followup_edit(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Change everything about a follow-up: kind, what, due time and reminder (typed in the
    assignee's time zone; a new assignee's when it changes hands), assignee and notes.
    Errors beside their fields (422), nothing changed."""
    followup = selectors.followup_get(request.workspace, request.actor, followup_id)
    contact_url = reverse("contact_detail", args=[request.workspace.slug, followup.contact_id])
    errors: dict = {}
    if request.method == "POST":
        data = followup_form_data(request.POST)
        if not data.get("reminder_at"):
            data["reminder_at"] = None  # emptied: the reminder follows the due time
        try:
            services.followup_update(
                workspace=request.workspace,
                followup_id=followup.pk,
                data=data,
                actor=request.actor,
            )
        except ValidationFailed as failure:
            errors = error_map(failure)
            values = {**data, "reminder_at": data.get("reminder_at") or ""}
        else:
            messages.success(request, "Follow-up changed.")
            return redirect(safe_next(request, default=contact_url))
    elif request.method in ("GET", "HEAD"):
        zone, _ = selectors.assignee_time_zone(request.workspace, followup.assignee_id)
        values = {
            "kind": followup.kind,
            "title": followup.title,
            "notes": followup.notes,
            "assignee_id": followup.assignee_id,
            "due_at": _local(followup.due_at, zone),
            "reminder_at": ""
            if followup.reminder_at == followup.due_at
            else _local(followup.reminder_at, zone),
        }
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    _, zone_name = selectors.assignee_time_zone(request.workspace, followup.assignee_id)
    context = {
        "followup": followup,
        "values": values,
        "errors": errors,
        "kinds": FollowUpKind.choices,
        "lead_owners": list(
            core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION)
        ),
        "zone_name": zone_name,
        "contact_url": contact_url,
        "next": safe_next(request, default=contact_url),
    }
    return render(request, "web/followups/edit.html", context, status=422 if errors else 200)


@workspace_view("write")
@require_POST
def followup_delete(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Delete a follow-up (the timeline keeps that it was)."""
    return _followup_action(request, followup_id, services.followup_delete)


@workspace_view("read")
@require_safe
def followup_list(request: HttpRequest) -> HttpResponse:
    """The member's follow-ups by bucket, with each bucket's count; owners and admins
    (``manage_members``) can look at anyone's, or everyone's."""
    workspace, actor = request.workspace, request.actor
    bucket = request.GET.get("due", "today")
    if bucket not in BUCKET_LABELS:
        bucket = "today"
    may_filter = request.membership.can("manage_members")
    assignee_param = request.GET.get("assignee", "") if may_filter else ""
    if assignee_param == "all":
        assignee_id = None
    elif assignee_param.isdecimal():
        assignee_id = int(assignee_param)
    else:
        assignee_param, assignee_id = "", request.user.pk
    if assignee_id in (None, request.user.pk):
        zone, zone_name = _zone(request)
    else:
        zone, zone_name = selectors.assignee_time_zone(workspace, assignee_id)
    now = timezone.now()
    filters = selectors.FollowUpFilters(assignee_id=assignee_id, bucket=bucket)
    rows = list(
        selectors.followup_list(workspace, actor, filters, now=now, zone=zone)[: PAGE_SIZE + 1]
    )
    counts = selectors.followup_counts(workspace, actor, filters, now=now, zone=zone)
    params = {"assignee": assignee_param} if assignee_param else {}
    context = {
        "followups": rows[:PAGE_SIZE],
        "more": len(rows) > PAGE_SIZE,
        "bucket": bucket,
        "tabs": [
            (name, label, counts[name], query_with(params, due=name))
            for name, label in BUCKET_LABELS.items()
        ],
        "may_filter": may_filter,
        "assignee_param": assignee_param,
        "lead_owners": (
            list(core_selectors.member_users(workspace, permission=LEAD_OWNER_PERMISSION))
            if may_filter
            else []
        ),
        "zone": zone,
        "zone_name": zone_name,
        "now": now,
        "next_url": request.get_full_path(),
    }
    return render(request, "web/followups/list.html", context)


@workspace_view("write")
@require_POST
def contact_log(request: HttpRequest, contact_id: int, what: str) -> HttpResponse:
    """Log a call or a meeting (``what``) on the timeline, and with "schedule the next
    follow-up" ticked, that follow-up in the same transaction."""
    from leadflow.web.views.contacts import contact_page_render  # the page that shows it

    if what not in LOGS:
        raise Http404("Nothing to log here.")
    contact = contact_selectors.contact_get(request.workspace, request.actor, contact_id)
    post = request.POST
    duration = post.get("duration_minutes", "").strip()
    next_followup = followup_form_data(post, "next_") if post.get("next") == "on" else None
    try:
        if duration and not duration.isdecimal():
            raise ValidationFailed([FieldError("duration_minutes", "Whole minutes.")])
        log = services.call_log if what == "call" else services.meeting_log
        log(
            workspace=request.workspace,
            contact_id=contact.pk,
            outcome=post.get("outcome", ""),
            notes=post.get("notes", ""),
            duration_minutes=int(duration) if duration else None,
            next_followup=next_followup,
            actor=request.actor,
        )
    except ValidationFailed as failure:
        errors = {
            name.replace("next_followup.", "next_"): texts
            for name, texts in error_map(failure).items()
        }
        return contact_page_render(
            request,
            contact,
            partial="activity",
            status=422,
            log_open=what,
            log_errors={what: errors},
            log_values={what: post.dict()},
        )
    if not request.htmx:
        messages.success(request, f"{what.capitalize()} logged.")
        return redirect("contact_detail", request.workspace.slug, contact.pk)
    return contact_page_render(request, contact, partial="activity", trigger="followups-changed")
