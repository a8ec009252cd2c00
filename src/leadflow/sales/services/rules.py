"""Assignment rules: create, change, delete. A rule's conditions are checked with the
condition language (``conditions_validate``) before they are stored; its team and fixed
person must belong to the workspace."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.contacts.conditions import ConditionContext, conditions_validate, tree_from_json
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.sales import selectors
from leadflow.sales.models import (
    TEAM_STRATEGIES,
    AssignmentRule,
    Escalation,
    Fallback,
    Strategy,
)

RULE_FIELDS = (
    "name",
    "position",
    "enabled",
    "conditions",
    "strategy",
    "team_id",
    "owner_id",
    "fallback",
    "first_touch_minutes",
    "first_touch_business_hours",
    "breach_escalation",
    "escalate_after_minutes",
)
MAX_DEADLINE_MINUTES = 7 * 24 * 60


def rule_input_clean(
    workspace: Workspace, data: Mapping[str, Any], current: AssignmentRule | None = None
) -> dict[str, Any]:
    """The rule's fields checked, merged over ``current`` for an update: a name, a strategy;
    a team of this workspace for a team strategy, a member who may own leads for a fixed
    person; a fallback; conditions that compile. ``ValidationFailed`` names each bad field."""
    errors: list[FieldError] = []
    for key in data:
        if key not in RULE_FIELDS:
            errors.append(FieldError(key, "Unknown field."))
    merged = {
        "name": current.name if current else "",
        "position": current.position if current else None,
        "enabled": current.enabled if current else True,
        "conditions": current.conditions if current else {},
        "strategy": current.strategy if current else "",
        "team_id": current.team_id if current else None,
        "owner_id": current.owner_id if current else None,
        "fallback": current.fallback if current else Fallback.QUEUE,
        "first_touch_minutes": current.first_touch_minutes if current else None,
        "first_touch_business_hours": current.first_touch_business_hours if current else True,
        "breach_escalation": (
            current.breach_escalation if current else Escalation.NOTIFY_TEAM_LEAD
        ),
        "escalate_after_minutes": current.escalate_after_minutes if current else 15,
        **{key: value for key, value in data.items() if key in RULE_FIELDS},
    }
    merged["name"] = str(merged["name"] or "").strip()
    if not merged["name"] or len(merged["name"]) > 100:
        errors.append(FieldError("name", "A name of 1 to 100 characters."))
    position = merged["position"]
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or position < 0
    ):
        errors.append(FieldError("position", "A whole number from 0."))
    if not isinstance(merged["enabled"], bool):
        errors.append(FieldError("enabled", "Yes or no."))
    if merged["strategy"] not in Strategy.values:
        errors.append(FieldError("strategy", f"Use one of: {', '.join(Strategy.values)}."))
    if merged["fallback"] not in Fallback.values:
        errors.append(FieldError("fallback", f"Use one of: {', '.join(Fallback.values)}."))
    for name in ("first_touch_minutes", "escalate_after_minutes"):
        minutes = merged[name]
        if (minutes is not None or name == "escalate_after_minutes") and (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not 1 <= minutes <= MAX_DEADLINE_MINUTES
        ):
            errors.append(
                FieldError(name, f"A whole number of minutes from 1 to {MAX_DEADLINE_MINUTES}.")
            )
    if not isinstance(merged["first_touch_business_hours"], bool):
        errors.append(FieldError("first_touch_business_hours", "Yes or no."))
    if merged["breach_escalation"] not in Escalation.values:
        errors.append(
            FieldError("breach_escalation", f"Use one of: {', '.join(Escalation.values)}.")
        )
    if merged["strategy"] in TEAM_STRATEGIES and merged["team_id"] is None:
        errors.append(FieldError("team_id", "Choose the team this strategy shares leads in."))
    if merged["team_id"] is not None:
        try:
            selectors.team_get(workspace, merged["team_id"])
        except NotFound:
            errors.append(FieldError("team_id", "No such team in this workspace."))
    if merged["strategy"] == Strategy.FIXED_PERSON:
        if not is_member_id(workspace, merged["owner_id"], permission=LEAD_OWNER_PERMISSION):
            errors.append(FieldError("owner_id", "A member of this workspace who may own leads."))
    elif merged["owner_id"] is not None:
        errors.append(FieldError("owner_id", "Only a fixed-person rule names a person."))
    conditions = merged["conditions"]
    if conditions:
        try:
            conditions_validate(tree_from_json(conditions), ConditionContext(workspace=workspace))
        except ValidationFailed as failed:
            errors += failed.errors
    elif not isinstance(conditions, dict):
        errors.append(FieldError("conditions", "A condition tree, or {} for every contact."))
    if errors:
        raise ValidationFailed(errors)
    return merged


@transaction.atomic
def assignment_rule_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> AssignmentRule:
    """A new rule (last unless ``position`` is given)."""
    clean = rule_input_clean(workspace, data)
    if clean["position"] is None:
        highest = AssignmentRule.objects.filter(workspace=workspace).aggregate(top=Max("position"))[
            "top"
        ]
        clean["position"] = 0 if highest is None else highest + 1
    rule = AssignmentRule.objects.create(workspace=workspace, **clean)
    audit_record(workspace=workspace, actor=actor, action="assignment_rule.created", obj=rule)
    return rule


@transaction.atomic
def assignment_rule_update(
    *, workspace: Workspace, rule_id: int, data: Mapping[str, Any], actor: Actor
) -> AssignmentRule:
    """Change a rule (a partial update)."""
    rule = selectors.rule_get(workspace, rule_id)
    clean = rule_input_clean(workspace, data, current=rule)
    for name, value in clean.items():
        if name != "position" or value is not None:
            setattr(rule, name, value)
    rule.updated_at = timezone.now()
    rule.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="assignment_rule.updated",
        obj=rule,
        changes={key: data[key] for key in data},
    )
    return rule


@transaction.atomic
def assignment_rule_delete(*, workspace: Workspace, rule_id: int, actor: Actor) -> None:
    """Delete a rule; the assignments it made keep their record, without the rule."""
    rule = selectors.rule_get(workspace, rule_id)
    audit_record(workspace=workspace, actor=actor, action="assignment_rule.deleted", obj=rule)
    rule.delete()


@transaction.atomic
def assignment_rules_reorder(
    *, workspace: Workspace, rule_ids: list[int], actor: Actor
) -> list[AssignmentRule]:
    """Put the workspace's rules in this order (positions 0, 1, 2...). ``rule_ids`` must
    name every rule of the workspace exactly once (ValidationFailed on ``rule_ids``)."""
    rules = {
        rule.pk: rule
        for rule in AssignmentRule.objects.select_for_update().filter(workspace=workspace)
    }
    if (
        not isinstance(rule_ids, list)
        or len(rule_ids) != len(set(rule_ids))
        or set(rule_ids) != set(rules)
    ):
        raise ValidationFailed(
            [FieldError("rule_ids", "Name every rule of this workspace exactly once.")]
        )
    ordered = [rules[pk] for pk in rule_ids]
    for position, rule in enumerate(ordered):
        rule.position = position
    AssignmentRule.objects.bulk_update(ordered, ["position"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="assignment_rule.reordered",
        changes={"rule_ids": rule_ids},
    )
    return ordered


def assignment_rule_move(
    *, workspace: Workspace, rule_id: int, step: int, actor: Actor
) -> AssignmentRule:
    """Move a rule up (``step`` -1) or down (+1) one place in the evaluation order; at the
    top or bottom it stays. NotFound for another workspace's rule."""
    with transaction.atomic():
        rule = selectors.rule_get(workspace, rule_id)
        order = list(
            AssignmentRule.objects.select_for_update()
            .filter(workspace=workspace)
            .order_by("position", "id")
            .values_list("pk", flat=True)
        )
        index = order.index(rule.pk)
        target = min(max(index + (1 if step > 0 else -1), 0), len(order) - 1)
        order[index], order[target] = order[target], order[index]
        assignment_rules_reorder(workspace=workspace, rule_ids=order, actor=actor)
        rule.refresh_from_db()
        return rule
