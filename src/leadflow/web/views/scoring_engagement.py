"""Settings → Scoring → Engagement: the workspace's engagement rules (add, change, turn
on or off, delete), the half-life of points and where warm and hot begin, and a preview
("with these rules, N contacts would be hot / MQL today") of an edit before it is saved.

Every member reads the page (so a salesperson can see how a score is made); the roles that
run marketing (owners, admins, marketers: ``write`` and ``delete``, as for the ideal
customer profile and lead sources) change it and run previews.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
from leadflow.core.errors import ValidationFailed
from leadflow.scoring import selectors, services
from leadflow.scoring.models import EngagementRule
from leadflow.tracking.models import EventType
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

CONDITION_ROWS = 3
RULE_INPUTS = ("name", "trigger", "points", "cap_per_day", "cap_total", "enabled")
PROFILE_INPUTS = ("half_life_days", "warm_threshold", "hot_threshold")
OPERATOR_LABELS = (
    ("eq", "is"),
    ("ne", "is not"),
    ("contains", "contains"),
    ("not_contains", "does not contain"),
    ("starts_with", "starts with"),
    ("matches", "matches pattern (*)"),
)
PARTIALS = {"engagement-preview": "preview"}


def _may_change(request: HttpRequest) -> None:
    if not _may(request):
        raise HttpForbidden("Only owners, admins and marketers change how engagement is scored.")


def _may(request: HttpRequest) -> bool:
    return request.membership.can("write") and request.membership.can("delete")


def _trigger_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    activities = sorted(
        ((f"activity:{key}", d.label) for key, d in ACTIVITY_KINDS.items()), key=lambda c: c[1]
    )
    events = [(f"event:{value}", str(label)) for value, label in EventType.choices]
    return [("Activities", activities), ("Tracked events", events)]


def _rule_values(rule: EngagementRule | None) -> dict[str, Any]:
    if rule is None:
        return {
            "trigger": "activity:form.submitted",
            "points": 10,
            "enabled": True,
            "rows": _rows([]),
        }
    return {
        "name": rule.name,
        "trigger": f"{rule.source}:{rule.kind}",
        "points": rule.points,
        "cap_per_day": rule.cap_per_day,
        "cap_total": rule.cap_total,
        "enabled": rule.enabled,
        "rows": _rows(rule.conditions),
    }


def _rows(conditions: list[dict]) -> list[dict]:
    rows = [dict(condition) for condition in conditions[:CONDITION_ROWS]]
    rows += [{"property": "", "operator": "eq", "value": ""}] * (CONDITION_ROWS - len(rows))
    return [{**row, "index": index} for index, row in enumerate(rows)]


def _rule_form(post) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(what the form shows again, the values for the service, error names → inputs)."""
    source, _, kind = post.get("trigger", "").partition(":")
    rows, conditions, rename = [], [], {"source": "trigger", "kind": "trigger"}
    for index in range(CONDITION_ROWS):
        row = {
            "index": index,
            "property": post.get(f"cond_property_{index}", "").strip()[:200],
            "operator": post.get(f"cond_operator_{index}", "eq"),
            "value": post.get(f"cond_value_{index}", "")[:600],
        }
        rows.append(row)
        if row["property"] or row["value"]:
            for part in ("property", "operator", "value"):
                rename[f"conditions[{len(conditions)}].{part}"] = f"cond_{part}_{index}"
            rename[f"conditions[{len(conditions)}]"] = f"cond_property_{index}"
            conditions.append({key: row[key] for key in ("property", "operator", "value")})
    shown = {
        name: post.get(name, "")[:200] for name in ("name", "points", "cap_per_day", "cap_total")
    }
    shown |= {
        "trigger": post.get("trigger", ""),
        "enabled": post.get("enabled") == "on",
        "rows": rows,
    }
    values = {
        "name": shown["name"],
        "source": source,
        "kind": kind,
        "conditions": conditions,
        "points": shown["points"].strip(),
        "cap_per_day": shown["cap_per_day"].strip() or None,
        "cap_total": shown["cap_total"].strip() or None,
        "enabled": shown["enabled"],
    }
    return shown, values, rename


def _shown_errors(errors: dict) -> list[str]:
    names = {*RULE_INPUTS, *PROFILE_INPUTS}
    names |= {f"cond_{part}_{i}" for part in ("property", "operator", "value") for i in range(3)}
    return non_field_errors(errors, names)


def _page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    workspace = request.workspace
    profile = services.profile_get(workspace)
    base = {
        "settings_section": "scoring",
        "profile": profile,
        "rules": list(selectors.engagement_rules(workspace)),
        "profile_values": {name: getattr(profile, name) for name in PROFILE_INPUTS},
        "profile_errors": {},
        "rule_values": _rule_values(None),
        "rule_errors": {},
        "trigger_groups": _trigger_groups(),
        "operator_choices": OPERATOR_LABELS,
        "may_change": _may(request),
    }
    base |= context
    errors = {**base["profile_errors"], **base["rule_errors"]}
    for row in base["rule_values"].get("rows", []):
        row["errors"] = [
            message
            for part in ("property", "operator", "value")
            for message in base["rule_errors"].get(f"cond_{part}_{row['index']}", [])
        ]
    labels = {value: label for _, choices in base["trigger_groups"] for value, label in choices}
    operators = dict(OPERATOR_LABELS)
    for rule in base["rules"]:
        rule.trigger_label = labels.get(f"{rule.source}:{rule.kind}", rule.kind)
        rule.condition_text = [
            (c["property"], operators.get(c["operator"], c["operator"]), c["value"])
            for c in rule.conditions
        ]
    base["other_errors"] = _shown_errors(errors)
    template = "web/scoring/rule_edit.html" if base.get("rule") else "web/scoring/engagement.html"
    return render_page(request, template, base, status=status, partials=PARTIALS)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def engagement_settings(request: HttpRequest) -> HttpResponse:
    """The rules, the half-life and thresholds (saved by POST), and a form to add a rule."""
    if request.method == "GET":
        return _page(request)
    _may_change(request)
    values = {name: request.POST.get(name, "")[:50] for name in PROFILE_INPUTS}
    try:
        services.engagement_profile_update(
            workspace=request.workspace, actor=request.actor, values=values
        )
    except ValidationFailed as failure:
        return _page(request, profile_values=values, profile_errors=error_map(failure), status=422)
    messages.success(request, "Saved. Every contact's score is being recomputed.")
    return redirect("scoring_engagement", request.workspace.slug)


@workspace_view("read")
@require_POST
def engagement_rule_create(request: HttpRequest) -> HttpResponse:
    _may_change(request)
    shown, values, rename = _rule_form(request.POST)
    try:
        rule = services.engagement_rule_create(
            workspace=request.workspace, actor=request.actor, values=values
        )
    except ValidationFailed as failure:
        return _page(request, rule_values=shown, rule_errors=error_map(failure, rename), status=422)
    messages.success(request, f"Added the rule “{rule.name}”. Scores are being recomputed.")
    return redirect("scoring_engagement", request.workspace.slug)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def engagement_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.engagement_rule_get(request.workspace, rule_id)
    _may_change(request)
    if request.method == "GET":
        return _page(request, rule=rule, rule_values=_rule_values(rule))
    shown, values, rename = _rule_form(request.POST)
    try:
        services.engagement_rule_update(
            workspace=request.workspace, actor=request.actor, rule_id=rule.pk, values=values
        )
    except ValidationFailed as failure:
        return _page(
            request,
            rule=rule,
            rule_values=shown,
            rule_errors=error_map(failure, rename),
            status=422,
        )
    messages.success(request, f"Saved the rule “{values['name'].strip()}”.")
    return redirect("scoring_engagement", request.workspace.slug)


@workspace_view("read")
@require_POST
def engagement_rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    _may_change(request)
    rule = selectors.engagement_rule_get(request.workspace, rule_id)
    services.engagement_rule_update(
        workspace=request.workspace,
        actor=request.actor,
        rule_id=rule.pk,
        values={"enabled": not rule.enabled},
    )
    state = "off" if rule.enabled else "on"
    messages.success(request, f"Turned {state} the rule “{rule.name}”.")
    return redirect("scoring_engagement", request.workspace.slug)


@workspace_view("read")
@require_POST
def engagement_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    _may_change(request)
    rule = selectors.engagement_rule_get(request.workspace, rule_id)
    services.engagement_rule_delete(
        workspace=request.workspace, actor=request.actor, rule_id=rule.pk
    )
    messages.success(request, f"Deleted the rule “{rule.name}”. Scores are being recomputed.")
    return redirect("scoring_engagement", request.workspace.slug)


@workspace_view("read")
@require_POST
def engagement_preview(request: HttpRequest) -> HttpResponse:
    """What an unsaved edit would do today (nothing is kept): a rule form (new, or with
    ``rule_id``) or the profile form. htmx gets the preview panel; a plain POST the page
    it came from, its form filled in, with the preview."""
    _may_change(request)
    workspace, post = request.workspace, request.POST
    rule = None
    if post.get("rule_id"):
        try:
            rule = selectors.engagement_rule_get(workspace, int(post["rule_id"]))
        except (ValueError, OverflowError):
            rule = selectors.engagement_rule_get(workspace, 0)
    context: dict[str, Any] = {"rule": rule}
    try:
        if post.get("form") == "profile":
            values = {name: post.get(name, "")[:50] for name in PROFILE_INPUTS}
            context["profile_values"] = values
            cleaned = services.engagement_profile_clean(values)
            preview = services.engagement_preview(workspace=workspace, profile_values=cleaned)
        else:
            shown, values, rename = _rule_form(post)
            context["rule_values"] = shown
            preview = services.engagement_preview(
                workspace=workspace, rule_id=rule.pk if rule else None, values=values
            )
    except ValidationFailed as failure:
        key = "profile_errors" if post.get("form") == "profile" else "rule_errors"
        names = None if key == "profile_errors" else rename
        context[key] = error_map(failure, names)
        context["preview_failed"] = True
        return _page(request, status=422, **context)
    return _page(request, preview=preview, **context)
