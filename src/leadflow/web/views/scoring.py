"""Lead scoring's pages: the ideal customer profile (the base grade, the fit rules and the
MQL rule, Settings → Ideal customer profile), the MQL queue with sales' accept / reject,
and the Score panel of the contact page.

The profile is marketing's: owners, admins and marketers (``write`` and ``delete``, as
lead sources) read and change it. The queue is every member's (a sales member sees their
own leads); accepting and rejecting needs ``write`` and a contact the member can change.
"""

from django.contrib import messages
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import FIT_GRADES, Contact, LifecycleStage
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.scoring import selectors, services
from leadflow.scoring.services.lifecycle import FUNNEL_TABLE, MQL_FROM_STAGES
from leadflow.web.access import workspace_view
from leadflow.web.conditions_form import editor_for, tree_from_post
from leadflow.web.forms import error_map
from leadflow.web.views.common import render_page

PROFILE_ROLES = {"permission": "write", "also": ("delete",)}
QUEUE_SIZE = 200
STEP_CHOICES = [(step, f"{step:+d}") for step in (3, 2, 1, -1, -2, -3)]


def _context(request: HttpRequest) -> ConditionContext:
    return ConditionContext(workspace=request.workspace, user_id=request.user.pk)


def _mql_count(request: HttpRequest, tree: dict) -> int | None:
    """How many subscribers and leads the MQL rule would move now (None: rule off)."""
    if not tree:
        return None
    condition = conditions_compile(tree_from_json(tree), _context(request))
    return selectors.conditions_count(request.workspace, condition, where=_leads_waiting())


def _leads_waiting() -> Q:
    return Q(lifecycle_stage__in=MQL_FROM_STAGES)


def _profile_page(
    request: HttpRequest,
    *,
    rule_editor=None,
    rule_values: dict | None = None,
    rule_errors: dict | None = None,
    mql_editor=None,
    mql_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    profile = services.profile_get(workspace)
    rules = list(selectors.fit_rules(workspace))
    summary = selectors.fit_summary(workspace, rules)
    context = _context(request)
    mql_tree = profile.mql_conditions or {}
    try:
        mql_count = _mql_count(request, mql_tree)
    except ValidationFailed:
        mql_count = None
    graded = max(summary.total, 1)
    page = {
        "settings_section": "scoring_profile",
        "profile": profile,
        "grade_choices": [(grade, grade) for grade in FIT_GRADES],
        "step_choices": STEP_CHOICES,
        "rules": [(rule, summary.rule_counts.get(rule.pk)) for rule in rules],
        "grades": [
            (grade or "Not graded", count, round(100 * count / graded))
            for grade, count in summary.grades
            if grade or count
        ],
        "total": summary.total,
        "rule_editor": rule_editor or editor_for({}, context, prefix="rule", legend="Matches"),
        "rule_values": rule_values or {"step": 1},
        "rule_errors": rule_errors or {},
        "mql_editor": mql_editor
        or editor_for(
            mql_tree, context, prefix="mql", legend="A lead becomes an MQL when it matches"
        ),
        "mql_errors": mql_errors or {},
        "mql_count": mql_count,
        "funnel_table": [
            (stage, LifecycleStage(stage).label, sections)
            for stage, sections in FUNNEL_TABLE.items()
        ],
    }
    return render_page(request, "web/scoring/profile.html", page, status=status)


@workspace_view(**PROFILE_ROLES)
@require_http_methods(["GET", "POST"])
def scoring_profile(request: HttpRequest) -> HttpResponse:
    """The ideal customer profile; a POST saves the base grade."""
    if request.method == "GET":
        return _profile_page(request)
    grade = request.POST.get("base_grade", "")
    if grade not in FIT_GRADES:
        raise ValidationFailed([FieldError("base_grade", "Choose a grade from A to F.")])
    services.profile_update(
        workspace=request.workspace, actor=request.actor, values={"base_grade": grade}
    )
    services.rescore_schedule(request.workspace.pk)
    messages.success(request, f"Contacts start at grade {grade}; grades are being recomputed.")
    return redirect("scoring_profile", request.workspace.slug)


def _rule_values(request: HttpRequest) -> dict:
    return {
        "name": request.POST.get("name", ""),
        "step": request.POST.get("step", ""),
        "enabled": request.POST.get("enabled") == "on",
    }


@workspace_view(**PROFILE_ROLES)
@require_POST
def fit_rule_create(request: HttpRequest) -> HttpResponse:
    """Add a fit rule; every problem shows beside its input (tree rows included)."""
    values = _rule_values(request)
    tree: dict = {}
    try:
        tree = tree_from_post(request.POST, _context(request), prefix="rule")
        rule = services.fit_rule_create(
            workspace=request.workspace,
            actor=request.actor,
            name=values["name"],
            conditions=tree,
            step=values["step"],
        )
    except ValidationFailed as failure:
        editor = editor_for(
            tree, _context(request), prefix="rule", legend="Matches", errors=failure.errors
        )
        return _profile_page(
            request,
            rule_editor=editor,
            rule_values=values,
            rule_errors=error_map(failure),
            status=422,
        )
    messages.success(request, f"Added “{rule.name}”; grades are being recomputed.")
    return redirect("scoring_profile", request.workspace.slug)


@workspace_view(**PROFILE_ROLES)
@require_http_methods(["GET", "POST"])
def fit_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Change one fit rule: its name, step, whether it counts, and its conditions."""
    rule = selectors.fit_rules(request.workspace).filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such fit rule.")
    context = _context(request)
    values = {"name": rule.name, "step": rule.step, "enabled": rule.enabled}
    editor = editor_for(rule.conditions, context, prefix="rule", legend="Matches")
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = _rule_values(request)
        tree: dict = {}
        try:
            tree = tree_from_post(request.POST, context, prefix="rule")
            services.fit_rule_update(
                workspace=request.workspace,
                actor=request.actor,
                rule_id=rule.pk,
                values={**values, "conditions": tree},
            )
        except ValidationFailed as failure:
            editor = editor_for(
                tree, context, prefix="rule", legend="Matches", errors=failure.errors
            )
            errors, status = error_map(failure), 422
        else:
            messages.success(
                request, f"Saved “{values['name'].strip()}”; grades are being recomputed."
            )
            return redirect("scoring_profile", request.workspace.slug)
    page = {
        "settings_section": "scoring_profile",
        "rule": rule,
        "rule_values": values,
        "rule_errors": errors,
        "rule_editor": editor,
        "step_choices": STEP_CHOICES,
    }
    return render_page(request, "web/scoring/fit_rule_edit.html", page, status=status)


@workspace_view(**PROFILE_ROLES)
@require_POST
def fit_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    services.fit_rule_delete(workspace=request.workspace, actor=request.actor, rule_id=rule_id)
    messages.success(request, "Deleted the fit rule; grades are being recomputed.")
    return redirect("scoring_profile", request.workspace.slug)


@workspace_view(**PROFILE_ROLES)
@require_POST
def mql_rule_save(request: HttpRequest) -> HttpResponse:
    """Save the MQL rule (no rows: no automatic MQL); with ``preview`` (or from htmx), only
    count the leads it would move now. The temperature thresholds it shows are set on the
    engagement page, their one home (they are points of the engagement score)."""
    context = _context(request)
    errors: list[FieldError] = []
    tree: dict = {}
    try:
        tree = tree_from_post(request.POST, context, prefix="mql")
        if tree:
            conditions_compile(tree_from_json(tree), context)
    except ValidationFailed as failure:
        errors += failure.errors
    if errors and request.htmx:  # counting as the rule is typed: say what is missing
        first = errors[0]
        where = first.field.removeprefix("conditions").lstrip(".") or first.field
        text = f"Not counted yet ({where}: {first.message})"
        return HttpResponse(text, content_type="text/plain; charset=utf-8")
    if errors:
        failure = ValidationFailed(errors)
        editor = editor_for(
            tree, context, prefix="mql", legend="A lead becomes an MQL when it matches",
            errors=[e for e in errors if e.field.startswith("conditions")],
        )  # fmt: skip
        return _profile_page(request, mql_editor=editor, mql_errors=error_map(failure), status=422)
    if request.POST.get("preview") or request.htmx:
        count = _mql_count(request, tree)
        text = "The rule is off." if count is None else f"{count} lead(s) match now."
        if request.htmx:
            return HttpResponse(text, content_type="text/plain; charset=utf-8")
        messages.info(request, f"Preview, not saved: {text}")
        editor = editor_for(
            tree, context, prefix="mql", legend="A lead becomes an MQL when it matches"
        )
        return _profile_page(request, mql_editor=editor)
    services.profile_update(
        workspace=request.workspace,
        actor=request.actor,
        values={"mql_conditions": tree},
    )
    services.rescore_schedule(request.workspace.pk)
    messages.success(request, "Saved the MQL rule; contacts are being rescored.")
    return redirect("scoring_profile", request.workspace.slug)


# --- the MQL queue ------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def mql_queue(request: HttpRequest) -> HttpResponse:
    """The MQLs the member can see, likeliest first (conversion probability, then
    engagement score), with what sales needs to decide."""
    leads = (
        contact_selectors.contacts_visible(request.workspace, request.actor)
        .filter(lifecycle_stage=LifecycleStage.MQL)
        .select_related("owner", "company")
        .order_by(F("conversion_probability").desc(nulls_last=True), "-engagement_score", "-id")
    )
    rows = list(leads[: QUEUE_SIZE + 1])
    context = {
        "section": "mql",
        "leads": rows[:QUEUE_SIZE],
        "more": len(rows) > QUEUE_SIZE,
        "now": timezone.now(),
    }
    return render_page(request, "web/scoring/mql_queue.html", context)


def _back(request: HttpRequest, contact_id: int) -> HttpResponse:
    if request.POST.get("from") == "contact":
        return redirect("contact_detail", request.workspace.slug, contact_id)
    return redirect("mql_queue", request.workspace.slug)


@workspace_view("write")
@require_POST
def mql_accept(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = services.mql_accept(
        workspace=request.workspace,
        contact_id=contact_id,
        actor=request.actor,
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, f"Accepted {contact}: now a sales-qualified lead.")
    return _back(request, contact_id)


@workspace_view("write")
@require_POST
def mql_reject(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = services.mql_reject(
        workspace=request.workspace,
        contact_id=contact_id,
        actor=request.actor,
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, f"Rejected {contact}: back to nurture.")
    return _back(request, contact_id)


# --- the contact page's Score panel -------------------------------------------------------


def score_panel(request: HttpRequest, contact: Contact) -> dict:
    """What the contact page's Score panel shows: the engagement breakdown, the fit grade
    with the rules that matched, the probability with its factors (None: no model yet),
    temperature, funnel section, and how long the contact has been in its stage."""
    workspace = request.workspace
    since = contact.stage_changed_at
    return {
        "breakdown": selectors.engagement_breakdown(workspace, contact.pk),
        "fit_matches": selectors.fit_matches(workspace, contact),
        "prediction": selectors.prediction_for(workspace, contact.pk),
        "in_stage": (timezone.now() - since) if since else None,
        "stage_since": since,
        "is_mql": contact.lifecycle_stage == LifecycleStage.MQL,
    }
