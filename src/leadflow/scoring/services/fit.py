"""Fit grades: the ideal customer profile's rules, A to F (docs/scoring/fit-lifecycle.md).

A contact starts at the profile's base grade; each enabled rule it matches moves it
``step`` letters (positive towards A, negative towards F), and the result is clamped to
A..F. The grade of every contact is written by one UPDATE (per 5,000 ids when ids are
given): each rule is one correlated ``EXISTS`` of its compiled condition tree on the row's
id (an index lookup per row), summed, and
the letter is picked from "ABCDEF" by position, so the sum is computed once per row."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When
from django.db.models.functions import Greatest, Least, Substr
from django.utils import timezone

from leadflow.contacts.conditions import (
    ConditionContext,
    conditions_validate,
    tree_from_json,
    tree_to_json,
)
from leadflow.contacts.models import FIT_GRADES, Contact
from leadflow.contacts.services import contact_scores_write
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.scoring.models import FitRule, ScoringProfile
from leadflow.scoring.selectors.fit import fit_rule_condition

MAX_STEP = len(FIT_GRADES) - 1
MAX_RULES = 50
DEFAULT_BASE_GRADE = "C"

# The default ideal customer profile of a new workspace (docs/scoring/fit-lifecycle.md).
SENIOR_TITLE_WORDS = (
    "director", "head", "vp", "vice president", "chief", "founder", "owner", "partner",
    "president", "manager", "ceo", "cto", "cfo", "coo", "cmo",
)  # fmt: skip
DEFAULT_FIT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "Senior job title",
        "step": 1,
        "conditions": {
            "version": 1,
            "match": "any",
            "children": [
                {"field": "job_title", "operator": "contains", "value": word}
                for word in SENIOR_TITLE_WORDS
            ],
        },
    },
    {
        # A company is only found or made from a corporate domain: free-mail never makes one.
        "name": "Corporate email domain",
        "step": 1,
        "conditions": {"version": 1, "field": "company.domain", "operator": "is_set"},
    },
    {
        "name": "Company of 51 people or more",
        "step": 1,
        "conditions": {
            "version": 1,
            "field": "company.size",
            "operator": "in",
            "value": ["51-200", "201-1000", "1001-5000", "5001+"],
        },
    },
    {
        "name": "No company",
        "step": -1,
        "conditions": {"version": 1, "field": "company", "operator": "is_empty"},
    },
)


def fit_grade_expression(
    workspace: Workspace, profile: ScoringProfile | None, *, in_select: bool = False
) -> Any:
    """The fit grade of a contact row as one SQL expression (a letter of "ABCDEF"): the
    profile's base grade moved by each enabled rule the row matches, clamped to A..F.

    ``in_select``: for a SELECT of contacts (``services.refresh``), where each rule's
    condition is tested on the row itself, its company joined once (to-many conditions are
    subqueries already: the condition language never multiplies rows). Otherwise (an
    UPDATE's SET, which may not join) through a correlated EXISTS on the row's own id:
    about twice the work on a million contacts."""
    base = profile.base_grade if profile else DEFAULT_BASE_GRADE
    base_index = FIT_GRADES.index(base) if base in FIT_GRADES else FIT_GRADES.index("C")
    context = ConditionContext(workspace=workspace)
    moved: Any = Value(0)
    for rule in FitRule.objects.filter(workspace=workspace, enabled=True).order_by("position"):
        condition = fit_rule_condition(rule, context)
        if condition is None or not rule.step:
            continue
        # A correlated EXISTS on the row's own id, not the condition itself: an UPDATE may
        # not join (company.domain), and an IN (subquery) of many ids is not always hashed
        # (too big for work_mem: then it is scanned once per row).
        if not in_select:
            condition = Exists(Contact.objects.filter(pk=OuterRef("pk")).filter(condition))
        moved = moved + Case(
            When(condition, then=Value(rule.step)),
            default=Value(0),
            output_field=IntegerField(),
        )
    index = Least(
        Greatest(Value(base_index) - moved, Value(0), output_field=IntegerField()),
        Value(MAX_STEP),
        output_field=IntegerField(),
    )
    return Substr(Value("".join(FIT_GRADES)), index + Value(1), Value(1))


def fit_grades_write(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """Grade these contacts (all when None) by the workspace's fit rules, set-based, and
    copy the grade onto ``Contact.fit_grade`` (the pipeline writes it together with the
    other scores: ``services.refresh``)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
    contact_scores_write(
        workspace_id=workspace_id,
        values={"fit_grade": fit_grade_expression(workspace, profile)},
        contact_ids=contact_ids,
    )


def fit_rules_default_install(workspace_id: int) -> None:
    """Create the default fit rules of a new workspace (docs/scoring/fit-lifecycle.md),
    once: the caller (``profile_get``) installs defaults in the transaction that marks
    them installed, and a workspace that has fit rules already gets none."""
    if FitRule.objects.filter(workspace_id=workspace_id).exists():
        return
    now = timezone.now()
    FitRule.objects.bulk_create(
        FitRule(
            workspace_id=workspace_id,
            position=position,
            name=rule["name"],
            step=rule["step"],
            conditions=rule["conditions"],
            created_at=now,
            updated_at=now,
        )
        for position, rule in enumerate(DEFAULT_FIT_RULES)
    )


def rescore_schedule(workspace_id: int) -> None:
    """Recompute the workspace's scores after the current transaction commits (its rules
    or profile changed)."""
    task_schedule("leadflow.scoring.tasks.workspace_rescore", workspace_id)


def fit_rule_clean(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """``name``, ``conditions`` (a condition tree in JSON form), ``step`` and ``enabled``
    checked; ``ValidationFailed`` names every bad field, the tree's by their path
    (``conditions.children[1].value``)."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "Name the rule."))
        elif len(name.strip()) > 100 or "\x00" in name:
            errors.append(FieldError("name", "At most 100 characters, no NUL."))
        else:
            clean["name"] = name.strip()
    if "step" in data:
        step = data["step"]
        if isinstance(step, str) and step.strip().lstrip("+-").isdigit():
            step = int(step.strip())
        if isinstance(step, bool) or not isinstance(step, int) or not 0 < abs(step) <= MAX_STEP:
            errors.append(
                FieldError(
                    "step", f"A whole number of grades from -{MAX_STEP} to {MAX_STEP}, not 0."
                )
            )
        else:
            clean["step"] = step
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors.append(FieldError("enabled", "Must be true or false."))
        else:
            clean["enabled"] = data["enabled"]
    if "conditions" in data:
        try:
            tree = conditions_validate(
                tree_from_json(data["conditions"]), ConditionContext(workspace=workspace)
            )
            clean["conditions"] = tree_to_json(tree)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def fit_rule_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    conditions: dict,
    step: int,
    enabled: bool = True,
) -> FitRule:
    """Add a rule at the end of the profile, audited; the workspace is regraded after the
    commit."""
    clean = fit_rule_clean(
        workspace, {"name": name, "conditions": conditions, "step": step, "enabled": enabled}
    )
    with transaction.atomic():
        count = FitRule.objects.filter(workspace=workspace).count()
        if count >= MAX_RULES:
            raise ValidationFailed([FieldError("name", f"At most {MAX_RULES} fit rules.")])
        rule = FitRule.objects.create(workspace=workspace, position=count, **clean)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.fit_rule_created",
            obj=rule,
            changes={"name": rule.name, "step": rule.step},
        )
        rescore_schedule(workspace.pk)
    return rule


def _rule_for_write(workspace: Workspace, rule_id: int) -> FitRule:
    rule = FitRule.objects.select_for_update().filter(workspace=workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound("No such fit rule.")
    return rule


def fit_rule_update(
    *, workspace: Workspace, actor: Actor, rule_id: int, values: dict[str, Any]
) -> FitRule:
    """Change the given fields of a rule (``name``, ``conditions``, ``step``, ``enabled``,
    ``position``), audited; the workspace is regraded after the commit."""
    position = values.get("position")
    clean = fit_rule_clean(workspace, {k: v for k, v in values.items() if k != "position"})
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < 1000
    ):
        raise ValidationFailed([FieldError("position", "A whole number from 0 to 999.")])
    with transaction.atomic():
        rule = _rule_for_write(workspace, rule_id)
        if position is not None:
            clean["position"] = position
        changes = {
            name: [str(getattr(rule, name)), str(value)]
            for name, value in clean.items()
            if getattr(rule, name) != value
        }
        if not changes:
            return rule
        for name, value in clean.items():
            setattr(rule, name, value)
        rule.updated_at = timezone.now()
        rule.save()
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.fit_rule_updated",
            obj=rule,
            changes=changes,
        )
        rescore_schedule(workspace.pk)
    return rule


def fit_rule_delete(*, workspace: Workspace, actor: Actor, rule_id: int) -> None:
    """Remove a rule, audited; the workspace is regraded after the commit."""
    with transaction.atomic():
        rule = _rule_for_write(workspace, rule_id)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.fit_rule_deleted",
            obj=rule,
            changes={"name": rule.name, "step": rule.step},
        )
        rule.delete()
        rescore_schedule(workspace.pk)
