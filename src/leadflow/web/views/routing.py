"""Routing's pages: Settings → Routing (teams, their members' availability, the assignment
rules in order), reassigning a contact by hand, and the team queue with "Claim".

Every member may read the routing settings (a salesperson sees why leads reach him);
changing them needs ``manage_settings`` (owners, admins). Reassigning needs ``write`` and
touches only contacts the member may see. The team queue is for the team's members and for
owners and admins (``sales.selectors.queue_teams``); its leads have no owner yet, so a
salesperson who sees only own leads sees them there, and only there, until he claims one.
"""

import datetime as dt
import re
import zoneinfo
from functools import cache

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.conditions import ConditionContext
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.core.selectors import LEAD_OWNER_PERMISSION
from leadflow.sales import selectors, services
from leadflow.sales.hours import time_zone_get
from leadflow.sales.models import TEAM_STRATEGIES, AssignmentRule, Escalation, Fallback, Strategy
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.conditions_form import editor_for, tree_from_post
from leadflow.web.forms import error_map
from leadflow.web.views.common import PAGE_SIZE, render_page

MANAGE = "manage_settings"
WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
RULE_PREFIX = "rule"
MEMBER_INPUTS = ("weight", "daily_capacity", "is_lead", "away", "away_until", "time_zone")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def _owner_choices(request: HttpRequest) -> list:
    return list(core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION))


def _int(value: str) -> int | str | None:
    """A posted whole number, None when empty, the text itself when not a number (so the
    service names the field)."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if re.fullmatch(r"-?\d{1,18}", value) else value


# --- the settings page --------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def routing_settings(request: HttpRequest) -> HttpResponse:
    """Teams with their members and the rules in evaluation order."""
    workspace = request.workspace
    teams = list(selectors.team_list(workspace))
    rules = list(selectors.rule_list(workspace))
    page = {
        "settings_section": "routing",
        "teams": teams,
        "rules": rules,
        "may_change": request.membership.can(MANAGE),
        "owner_choices": _owner_choices(request),
    }
    return render_page(request, "web/routing/settings.html", page)


def _back(request: HttpRequest) -> HttpResponse:
    return redirect("routing_settings", request.workspace.slug)


# --- teams --------------------------------------------------------------------------------------


@workspace_view(MANAGE)
@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    team = services.team_create(
        workspace=request.workspace, name=request.POST.get("name", ""), actor=request.actor
    )
    messages.success(request, f"Team “{team.name}” created: add its members.")
    return redirect("routing_team", request.workspace.slug, team.pk)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    """A team: its name (a POST renames it) and its members."""
    workspace = request.workspace
    team = selectors.team_get(workspace, team_id)
    if request.method == "POST":
        if not request.membership.can(MANAGE):
            raise HttpForbidden("Your role may not change routing.")
        team = services.team_rename(
            workspace=workspace,
            team_id=team.pk,
            name=request.POST.get("name", ""),
            actor=request.actor,
        )
        messages.success(request, f"Renamed to “{team.name}”.")
        return redirect("routing_team", workspace.slug, team.pk)
    team = selectors.team_list(workspace).get(pk=team.pk)
    members = list(team.members.all())
    in_team = {member.user_id for member in members}
    page = {
        "settings_section": "routing",
        "team": team,
        "members": members,
        "may_change": request.membership.can(MANAGE),
        "addable": [user for user in _owner_choices(request) if user.pk not in in_team],
    }
    return render_page(request, "web/routing/team.html", page)


@workspace_view(MANAGE)
@require_POST
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_get(request.workspace, team_id)
    services.team_delete(workspace=request.workspace, team_id=team.pk, actor=request.actor)
    messages.success(request, f"Deleted the team “{team.name}”.")
    return _back(request)


@workspace_view(MANAGE)
@require_POST
def team_member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_get(request.workspace, team_id)
    member = services.team_member_add(
        workspace=request.workspace,
        team_id=team.pk,
        user_id=_int(request.POST.get("user_id", "")),
        actor=request.actor,
        settings={"time_zone": request.POST.get("time_zone") or "UTC"},
    )
    messages.success(request, f"Added {member.user.email} to {team.name}.")
    return redirect("routing_team", request.workspace.slug, team.pk)


@workspace_view(MANAGE)
@require_POST
def team_member_remove(request: HttpRequest, team_member_id: int) -> HttpResponse:
    member = selectors.team_member_get(request.workspace, team_member_id)
    services.team_member_remove(
        workspace=request.workspace, team_member_id=member.pk, actor=request.actor
    )
    messages.success(request, f"Took {member.user.email} out of {member.team.name}.")
    return redirect("routing_team", request.workspace.slug, member.team_id)


def hours_text(hours: dict) -> dict[str, str]:
    """Working hours as the editor shows them: per weekday "09:00-12:00, 13:00-17:30"."""
    return {
        day: ", ".join(f"{start}-{end}" for start, end in hours.get(day, [])) for day, _ in WEEKDAYS
    }


def hours_from_post(post) -> tuple[dict, list[FieldError]]:
    """The weekdays' spans posted (``hours-<day>``), or {} for "always"; a span that does
    not read as "HH:MM-HH:MM" is named by its weekday."""
    if post.get("always") == "on":
        return {}, []
    hours: dict[str, list[list[str]]] = {}
    errors = []
    for day, label in WEEKDAYS:
        text = post.get(f"hours-{day}", "").strip()
        if not text:
            continue
        spans = []
        for part in text.split(","):
            found = SPAN.match(part)
            if not found:
                errors.append(
                    FieldError(f"working_hours.{day}", f"{label}: write spans as 09:00-17:30.")
                )
                break
            spans.append([found.group(1).zfill(5), found.group(2).zfill(5)])
        hours[day] = spans
    return hours, errors


def _away_until(text: str, zone_name: str) -> dt.datetime | str | None:
    """A ``datetime-local`` value read in the member's time zone (text when unreadable)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        naive = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return naive.replace(tzinfo=time_zone_get(zone_name) or dt.UTC)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def team_member_edit(request: HttpRequest, team_member_id: int) -> HttpResponse:
    """A salesperson's availability in a team: weight, daily capacity, away (until when),
    working hours per weekday and his time zone. Each problem shows beside its input."""
    workspace = request.workspace
    member = selectors.team_member_get(workspace, team_member_id)
    zone = member.time_zone
    values = {
        "weight": member.weight,
        "daily_capacity": member.daily_capacity if member.daily_capacity is not None else "",
        "is_lead": member.is_lead,
        "away": member.away,
        "away_until": (
            member.away_until.astimezone(time_zone_get(zone) or dt.UTC).strftime("%Y-%m-%dT%H:%M")
            if member.away_until
            else ""
        ),
        "time_zone": zone,
        "always": not member.working_hours,
        "hours": hours_text(member.working_hours),
    }
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not request.membership.can(MANAGE):
            raise HttpForbidden("Your role may not change routing.")
        post = request.POST
        hours, hour_errors = hours_from_post(post)
        zone = post.get("time_zone", "")
        data = {
            "weight": _int(post.get("weight", "")),
            "daily_capacity": _int(post.get("daily_capacity", "")),
            "is_lead": post.get("is_lead") == "on",
            "away": post.get("away") == "on",
            "away_until": _away_until(post.get("away_until", ""), zone),
            "time_zone": zone,
            "working_hours": hours,
        }
        if data["weight"] is None:
            data["weight"] = ""  # empty: named by the service's check
        try:
            if hour_errors:  # the other inputs' problems too, all at once
                data.pop("working_hours")
                try:
                    services.member_settings_clean(data, partial=True)
                except ValidationFailed as failure:
                    raise ValidationFailed(failure.errors + hour_errors) from None
                raise ValidationFailed(hour_errors)
            services.team_member_update(
                workspace=workspace, team_member_id=member.pk, data=data, actor=request.actor
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
            values = {
                **{key: post.get(key, "") for key in ("weight", "daily_capacity", "away_until")},
                "away": post.get("away") == "on",
                "is_lead": post.get("is_lead") == "on",
                "time_zone": zone,
                "always": post.get("always") == "on",
                "hours": {day: post.get(f"hours-{day}", "") for day, _ in WEEKDAYS},
            }
        else:
            messages.success(request, f"Saved {member.user.email}'s availability.")
            return redirect("routing_team", workspace.slug, member.team_id)
    by_day: dict[str, list[str]] = {day: [] for day, _ in WEEKDAYS}
    general_hour_errors = []
    for field, texts in errors.items():
        found = re.match(r"^working_hours\.(\w+)", field)
        if found and found.group(1) in by_day:
            by_day[found.group(1)] += texts
        elif field.startswith("working_hours"):
            general_hour_errors += texts
    page = {
        "settings_section": "routing",
        "member": member,
        "values": values,
        "errors": errors,
        "weekdays": [
            (day, label, values["hours"].get(day, ""), by_day[day]) for day, label in WEEKDAYS
        ],
        "hour_errors": general_hour_errors,
        "other_errors": [
            message
            for field, texts in errors.items()
            if field not in MEMBER_INPUTS and not field.startswith("working_hours")
            for message in texts
        ],
        "time_zones": time_zone_choices(),
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/routing/member.html", page, status=status)


# --- rules --------------------------------------------------------------------------------------

# The rule form's own inputs, read by ``rule_data``; a new rule field (a first-touch
# deadline...) is one entry here, one in ``rule_values`` and one include in the template.
# The strategies whose rule names a team (the account owner's: the team when there is none).
TEAM_USING = (*TEAM_STRATEGIES, Strategy.ACCOUNT_OWNER)

RULE_INPUTS = (
    "name",
    "strategy",
    "team_id",
    "owner_id",
    "fallback",
    "first_touch_minutes",
    "breach_escalation",
    "escalate_after_minutes",
)


def rule_values(rule: AssignmentRule | None) -> dict:
    """What the rule form shows for a rule (or a new one)."""
    if rule is None:
        return {
            "enabled": True,
            "strategy": Strategy.ROUND_ROBIN,
            "fallback": Fallback.QUEUE,
            "first_touch_business_hours": True,
            "breach_escalation": Escalation.NOTIFY_TEAM_LEAD,
            "escalate_after_minutes": 15,
        }
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "strategy": rule.strategy,
        "team_id": rule.team_id or "",
        "owner_id": rule.owner_id or "",
        "fallback": rule.fallback,
        "first_touch_minutes": rule.first_touch_minutes or "",
        "first_touch_business_hours": rule.first_touch_business_hours,
        "breach_escalation": rule.breach_escalation,
        "escalate_after_minutes": rule.escalate_after_minutes,
    }


def rule_data(request: HttpRequest, context: ConditionContext) -> tuple[dict, dict]:
    """The posted rule as the service takes it (``rule_input_clean``) and as the form
    shows it again. A person only for a fixed-person rule, a team only for a team rule."""
    post = request.POST
    shown = {name: post.get(name, "") for name in RULE_INPUTS}
    shown["enabled"] = post.get("enabled") == "on"
    shown["first_touch_business_hours"] = post.get("first_touch_business_hours") == "on"
    data = {
        "name": shown["name"],
        "strategy": shown["strategy"],
        "fallback": shown["fallback"],
        "enabled": shown["enabled"],
        "team_id": _int(shown["team_id"]) if shown["strategy"] in TEAM_USING else None,
        "owner_id": (
            _int(shown["owner_id"]) if shown["strategy"] == Strategy.FIXED_PERSON else None
        ),
    }
    if "speed_to_lead" in post:  # the form's speed-to-lead inputs (a client may leave them out)
        data.update(
            first_touch_minutes=_int(shown["first_touch_minutes"]),
            first_touch_business_hours=shown["first_touch_business_hours"],
            breach_escalation=shown["breach_escalation"],
            escalate_after_minutes=_int(shown["escalate_after_minutes"]),
        )
    data["conditions"] = tree_from_post(post, context, prefix=RULE_PREFIX)
    return data, shown


def _rule_page(request, *, rule, values, editor, errors, status=200) -> HttpResponse:
    page = {
        "settings_section": "routing",
        "rule": rule,
        "rule_values": values,
        "rule_errors": errors,
        "rule_editor": editor,
        "strategy_choices": Strategy.choices,
        "fallback_choices": Fallback.choices,
        "escalation_choices": Escalation.choices,
        "team_choices": [(team.pk, team.name) for team in selectors.team_list(request.workspace)],
        "owner_choices": _owner_choices(request),
        "team_strategies": " ".join(TEAM_USING),
    }
    return render_page(request, "web/routing/rule.html", page, status=status)


def _condition_context(request: HttpRequest) -> ConditionContext:
    return ConditionContext(workspace=request.workspace, user_id=request.user.pk)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """A new rule (``rule_id`` None) or a rule's page: name, on/off, strategy, team or
    person, fallback and the conditions (the condition editor). Problems show beside their
    inputs, a condition's on its row."""
    workspace = request.workspace
    rule = selectors.rule_get(workspace, rule_id) if rule_id is not None else None
    context = _condition_context(request)
    legend = "Leads that match (no condition: every lead)"
    if request.method == "GET":
        editor = editor_for(
            rule.conditions if rule else {}, context, prefix=RULE_PREFIX, legend=legend
        )
        return _rule_page(request, rule=rule, values=rule_values(rule), editor=editor, errors={})
    tree: dict = {}
    shown = {}
    try:
        data, shown = rule_data(request, context)
        tree = data["conditions"]
        if rule is None:
            rule = services.assignment_rule_create(
                workspace=workspace, data=data, actor=request.actor
            )
            messages.success(request, f"Added the rule “{rule.name}”.")
        else:
            rule = services.assignment_rule_update(
                workspace=workspace, rule_id=rule.pk, data=data, actor=request.actor
            )
            messages.success(request, f"Saved the rule “{rule.name}”.")
    except ValidationFailed as failure:
        editor = editor_for(tree, context, prefix=RULE_PREFIX, legend=legend, errors=failure.errors)
        values = shown or {name: request.POST.get(name, "") for name in RULE_INPUTS}
        return _rule_page(
            request,
            rule=rule,
            values=values,
            editor=editor,
            errors=error_map(failure),
            status=422,
        )
    return _back(request)


@workspace_view(MANAGE)
@require_POST
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.rule_get(request.workspace, rule_id)
    rule = services.assignment_rule_update(
        workspace=request.workspace,
        rule_id=rule.pk,
        data={"enabled": not rule.enabled},
        actor=request.actor,
    )
    messages.success(request, f"“{rule.name}” is {'on' if rule.enabled else 'off'}.")
    return _back(request)


@workspace_view(MANAGE)
@require_POST
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    step = -1 if request.POST.get("direction") == "up" else 1
    services.assignment_rule_move(
        workspace=request.workspace, rule_id=rule_id, step=step, actor=request.actor
    )
    return _back(request)


@workspace_view(MANAGE)
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.rule_get(request.workspace, rule_id)
    services.assignment_rule_delete(
        workspace=request.workspace, rule_id=rule.pk, actor=request.actor
    )
    messages.success(request, f"Deleted the rule “{rule.name}”.")
    return _back(request)


def assignment_rows(workspace, contact_id: int, limit: int = 20) -> list:
    """A contact's latest assignments for its page, each with ``strategy_label``."""
    labels = {**dict(Strategy.choices), "claim": "Claimed", "hand_over": "Handed over"}
    rows = list(selectors.contact_assignments(workspace, contact_id)[:limit])
    for row in rows:
        row.strategy_label = labels.get(row.strategy, row.strategy.replace("_", " "))
    return rows


# --- reassigning by hand ------------------------------------------------------------------------


def reassign_target(value: str) -> dict:
    """ "person:<id>" or "team:<id>" as ``leads_reassign``'s owner_id / team_id."""
    kind, _, number = (value or "").partition(":")
    if kind in ("person", "team") and number.isdecimal() and len(number) < 19:
        return {"owner_id" if kind == "person" else "team_id": int(number)}
    raise ValidationFailed([FieldError("to", "Choose a person or a team.")])


def reassign_choices(request: HttpRequest) -> dict:
    """The people and teams a lead may be given to (the reassign forms' options)."""
    return {
        "reassign_people": _owner_choices(request),
        "reassign_teams": list(selectors.team_list(request.workspace).only("pk", "name")),
    }


@workspace_view("write")
@require_POST
def contact_reassign(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Give one contact to a person, or to the next in turn in a team (recorded with the
    member as actor); a contact the member may not see is a 404."""
    contact = contact_selectors.contact_get(request.workspace, request.actor, contact_id)
    made = services.leads_reassign(
        workspace=request.workspace,
        contact_ids=[contact.pk],
        actor=request.actor,
        **reassign_target(request.POST.get("to", "")),
    )
    if not made:
        messages.info(request, f"{contact} has that owner already.")
    elif made[0].owner_id is None:
        messages.info(request, f"Nobody is available: {contact} waits in the team's queue.")
    else:
        messages.success(request, f"Reassigned {contact}: {made[0].reason}.")
    return redirect(safe_next(request, request.path.rsplit("/reassign/", 1)[0] + "/"))


# --- the team queue -----------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def team_queue(request: HttpRequest) -> HttpResponse:
    """The leads waiting in a team's queue, newest first, a page at a time, with "Claim".
    The member's teams only (every team for owners and admins); others get 403."""
    workspace = request.workspace
    teams = list(selectors.queue_teams(workspace, request.user.pk))
    if not teams:
        raise HttpForbidden("Only members of a team see its queue.")
    wanted = request.GET.get("team", "")
    team = next((t for t in teams if str(t.pk) == wanted), teams[0])
    if wanted and str(team.pk) != wanted:
        raise Http404("No such team.")
    page = contact_selectors.cursor_paginate(
        selectors.team_queue(workspace, team),
        sort="-assigned_at",
        cursor=request.GET.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    counts = selectors.queue_counts(workspace, teams)
    context = {
        "section": "queue",
        "teams": [(t, counts[t.pk]) for t in teams],
        "team": team,
        "page": page,
        "now": timezone.now(),
    }
    return render_page(request, "web/routing/queue.html", context)


@workspace_view("write")
@require_POST
def queue_claim(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Claim a waiting lead: it is the member's now, and his contact page opens. Someone
    quicker: a message says so and the queue shows again."""
    back = safe_next(request, default=f"/w/{request.workspace.slug}/queue/")
    try:
        services.lead_claim(
            workspace=request.workspace,
            contact_id=contact_id,
            user_id=request.user.pk,
            actor=request.actor,
        )
    except Conflict as conflict:
        messages.error(request, conflict.detail)
        return redirect(back)
    messages.success(request, "The lead is yours.")
    return redirect("contact_detail", request.workspace.slug, contact_id)
