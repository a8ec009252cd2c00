"""Engagement points: rules over activities and tracked events, the ledger, decay.

The ledger (``ScorePoint``) holds one row per source row (activity or event) a rule gave
points for. It is derived: ``ledger.engagement_rebuild`` deletes the rows of some contacts (or a
whole workspace) and writes them again with one ``INSERT ... SELECT`` per enabled rule,
the caps applied by window functions. An incremental rebuild (the contacts an activity was
about) and a full one run the same statements, so they give the same rows; the score is
the decayed sum of a contact's rows at a moment (``engagement_scores_write``).

Rule changes go through ``engagement_rule_create`` / ``_update`` / ``_delete``: checked
(``ValidationFailed`` names each bad field), audited, and followed by a full recompute of
the workspace, scheduled in the same transaction.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
from leadflow.contacts.services import contact_scores_write_from
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.scoring.engagement_sql import (
    OPERATORS,
    Decayed,
    PropertyUnknown,
    Round2,
    property_path,
)
from leadflow.scoring.models import EngagementRule, RuleSource, ScorePoint, ScoringProfile
from leadflow.tracking.models import EventType

RESCORE_TASK = "leadflow.scoring.tasks.workspace_rescore"
# Contact ids per statement (SQLite's bound-parameter limit).
POINTS_LIMIT = 1000
CAP_PER_DAY_LIMIT = 10_000
CAP_TOTAL_LIMIT = 1_000_000
MAX_CONDITIONS = 10
MAX_VALUE = 500
RULE_FIELDS = ("name", "enabled", "source", "kind", "conditions", "points", "cap_per_day")
RULE_FIELDS += ("cap_total", "position")

# The rules a new workspace starts with (docs/scoring/engagement.md lists them).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "Form submitted", "source": "activity", "kind": "form.submitted", "points": 20},
    {
        "name": "Page viewed",
        "source": "event",
        "kind": "pageview",
        "points": 1,
        "cap_per_day": 10,
    },
    {
        "name": "Pricing page viewed",
        "source": "event",
        "kind": "pageview",
        "conditions": [{"property": "url", "operator": "matches", "value": "*pricing*"}],
        "points": 10,
        "cap_per_day": 1,
    },
    {
        "name": "Demo page viewed",
        "source": "event",
        "kind": "pageview",
        "conditions": [{"property": "url", "operator": "matches", "value": "*demo*"}],
        "points": 10,
        "cap_per_day": 1,
    },
    {
        "name": "Call-to-action clicked",
        "source": "event",
        "kind": "click",
        "points": 5,
        "cap_per_day": 5,
    },
    {
        "name": "Identified on the website",
        "source": "activity",
        "kind": "visitor.linked",
        "points": 5,
        "cap_total": 1,
    },
    {"name": "Replied", "source": "event", "kind": "reply", "points": 10, "cap_per_day": 3},
    {"name": "Shared", "source": "event", "kind": "share", "points": 5, "cap_per_day": 3},
    {"name": "Followed", "source": "event", "kind": "follow", "points": 5, "cap_total": 1},
    {
        "name": "Consent withdrawn",
        "source": "activity",
        "kind": "consent.changed",
        "conditions": [{"property": "to", "operator": "eq", "value": "withdrawn"}],
        "points": -25,
    },
    {
        "name": "Careers page viewed",
        "source": "event",
        "kind": "pageview",
        "conditions": [{"property": "url", "operator": "matches", "value": "*career*"}],
        "points": -10,
        "cap_total": 1,
    },
    {
        "name": "Jobs page viewed",
        "source": "event",
        "kind": "pageview",
        "conditions": [{"property": "url", "operator": "matches", "value": "*/jobs*"}],
        "points": -10,
        "cap_total": 1,
    },
    {
        "name": "Marked as competitor",
        "source": "activity",
        "kind": "tag.added",
        "conditions": [{"property": "tag", "operator": "eq", "value": "competitor"}],
        "points": -100,
        "cap_total": 1,
    },
)


# --- the ledger and the score --------------------------------------------------------------


def half_life_days(workspace_id: int) -> int:
    found = ScoringProfile.objects.filter(workspace_id=workspace_id).values_list(
        "half_life_days", flat=True
    )
    return next(iter(found), None) or ScoringProfile._meta.get_field("half_life_days").default


def decayed_totals(workspace_id: int, now: dt.datetime) -> QuerySet:
    """Each contact's decayed sum of points at ``now`` (rounded to 2 decimals), as rows of
    ``contact_id, value``; contacts without points have no row."""
    decayed = Decayed(now, half_life_days(workspace_id))
    return (
        ScorePoint.objects.filter(workspace_id=workspace_id)
        .order_by()
        .values("contact_id")
        .annotate(value=Round2(Sum(decayed)))
        .values("contact_id", "value")
    )


def engagement_scores_write(
    *, workspace_id: int, contact_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> None:
    """Copy each contact's decayed sum of points at ``now`` onto
    ``Contact.engagement_score`` (through ``contacts.services.contact_scores_write_from``;
    the pipeline writes it together with the other scores: ``services.refresh``)."""
    now = now or timezone.now()
    contact_scores_write_from(
        workspace_id=workspace_id,
        column="engagement_score",
        rows=decayed_totals(workspace_id, now),
        default=0.0,
        contact_ids=None if contact_ids is None else sorted(set(contact_ids)),
    )


def ledger_forget_merged(workspace: Workspace, from_id: int, to_id: int) -> None:
    """A merge hook (contacts.services.MERGE_HOOKS): the merged-away contact's points go;
    the contact that stays is rescored when the merge's activity is delivered."""
    ScorePoint.objects.filter(workspace_id=workspace.pk, contact_id=from_id).delete()


# --- rules -----------------------------------------------------------------------------------


def engagement_rules_default_install(workspace_id: int) -> None:
    """Create the default engagement rules of a new workspace (docs/scoring/engagement.md),
    once (``profile_get`` calls it in the transaction that marks them installed)."""
    now = timezone.now()
    EngagementRule.objects.bulk_create(
        EngagementRule(
            workspace_id=workspace_id,
            position=position,
            created_at=now,
            updated_at=now,
            **{"conditions": [], **rule},
        )
        for position, rule in enumerate(DEFAULT_RULES)
    )


def event_kinds() -> list[str]:
    """Event types a rule may name: every one tracking knows at runtime."""
    return list(EventType.values)


def activity_kinds() -> list[str]:
    return sorted(ACTIVITY_KINDS)


def _whole(raw: Any, name: str, low: int, high: int, errors: list, *, optional: bool) -> Any:
    if raw is None or raw == "":
        if optional:
            return None
        errors.append(FieldError(name, "Enter a whole number."))
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        errors.append(FieldError(name, "Enter a whole number."))
        return None
    try:
        number = int(raw)
    except (TypeError, ValueError, OverflowError):
        errors.append(FieldError(name, "Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.append(FieldError(name, f"Enter a number from {low} to {high}."))
        return None
    return number


def _conditions_clean(raw: Any, source: str | None, errors: list) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(FieldError("conditions", "Give a list of conditions."))
        return []
    if len(raw) > MAX_CONDITIONS:
        errors.append(FieldError("conditions", f"At most {MAX_CONDITIONS} conditions."))
        return []
    cleaned = []
    for index, item in enumerate(raw):
        path = f"conditions[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"property", "operator", "value"}:
            errors.append(FieldError(path, "Give property, operator and value."))
            continue
        prop, operator, value = item.get("property"), item.get("operator"), item.get("value")
        if not isinstance(prop, str) or not prop.strip():
            errors.append(FieldError(f"{path}.property", "Name a property."))
        elif source is not None:
            try:
                property_path(source, prop)
            except PropertyUnknown:
                hint = (
                    "url, name, referrer or properties.<key>"
                    if source == RuleSource.EVENT
                    else "data.<key> or form, tag, to, from, page_url, campaign, reason"
                )
                errors.append(FieldError(f"{path}.property", f"Not a property here; use {hint}."))
        if operator not in OPERATORS:
            errors.append(FieldError(f"{path}.operator", "Choose one of: " + ", ".join(OPERATORS)))
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            errors.append(FieldError(f"{path}.value", "Give a text value."))
            continue
        value = str(value)
        if len(value) > MAX_VALUE or "\x00" in value:
            errors.append(FieldError(f"{path}.value", f"At most {MAX_VALUE} characters."))
            continue
        if operator != "eq" and operator != "ne" and not value.strip("*"):
            errors.append(FieldError(f"{path}.value", "Give some text to look for."))
            continue
        cleaned.append({"property": str(prop).strip(), "operator": operator, "value": value})
    return cleaned


PROFILE_LIMITS = {
    "half_life_days": (1, 3650),
    "warm_threshold": (0, 1e6),
    "hot_threshold": (0, 1e6),
}


def engagement_profile_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the engagement part of the profile (half-life in whole days, the warm and hot
    thresholds, warm below hot): ``ValidationFailed`` names every bad field."""
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    for name, (low, high) in PROFILE_LIMITS.items():
        if name not in values:
            continue
        raw = values[name]
        if name == "half_life_days":
            number = _whole(raw, name, int(low), int(high), errors, optional=False)
        else:
            try:
                number = float(str(raw).strip())
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                errors.append(FieldError(name, f"Enter a number from {low:g} to {high:g}."))
                number = None
        if number is not None:
            cleaned[name] = number
    warm, hot = cleaned.get("warm_threshold"), cleaned.get("hot_threshold")
    if warm is not None and hot is not None and warm >= hot:
        errors.append(FieldError("hot_threshold", "Hot must begin above warm."))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def engagement_profile_update(
    *, workspace: Workspace, actor: Actor, values: Mapping[str, Any]
) -> ScoringProfile:
    """Change the half-life and the temperature thresholds (audited by ``profile_update``);
    a change recomputes every contact (a task scheduled in the same transaction)."""
    from leadflow.scoring.services.profile import profile_get, profile_update  # imports this

    cleaned = engagement_profile_clean(values)
    with transaction.atomic():
        before = profile_get(workspace)
        changed = any(getattr(before, name) != value for name, value in cleaned.items())
        profile = profile_update(workspace=workspace, actor=actor, values=cleaned)
        if changed:
            task_schedule(RESCORE_TASK, workspace.pk)
    return profile


def engagement_rule_clean(
    values: Mapping[str, Any], *, current: EngagementRule | None = None
) -> dict[str, Any]:
    """Check a rule's fields (all of them for a new rule; those given for a change, read
    with the rule's other fields): ``ValidationFailed`` names every bad field."""
    errors: list[FieldError] = []
    unknown = sorted(set(values) - set(RULE_FIELDS))
    for name in unknown:
        errors.append(FieldError(name, "Not a field of an engagement rule."))

    def given(name: str) -> bool:
        return name in values or current is None

    def value(name: str, default: Any = None) -> Any:
        if name in values:
            return values[name]
        return getattr(current, name) if current is not None else default

    cleaned: dict[str, Any] = {}
    if given("name"):
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "Give the rule a name."))
        elif len(name.strip()) > 100 or "\x00" in name:
            errors.append(FieldError("name", "At most 100 characters."))
        else:
            cleaned["name"] = name.strip()
    source = value("source")
    if given("source") and source not in RuleSource.values:
        errors.append(FieldError("source", "Choose activity or event."))
        source = None
    elif given("source"):
        cleaned["source"] = source
    if given("kind") or given("source"):
        kind = value("kind")
        kinds = event_kinds() if source == RuleSource.EVENT else activity_kinds()
        if source is not None and (not isinstance(kind, str) or kind not in kinds):
            errors.append(FieldError("kind", "Choose one of: " + ", ".join(kinds)))
        elif source is not None:
            cleaned["kind"] = kind
    if given("conditions") or given("source"):
        cleaned["conditions"] = _conditions_clean(value("conditions", []), source, errors)
    if given("points"):
        points = _whole(
            values.get("points"), "points", -POINTS_LIMIT, POINTS_LIMIT, errors, optional=False
        )
        if points == 0:
            errors.append(FieldError("points", "Give or take at least one point."))
        elif points is not None:
            cleaned["points"] = points
    if "cap_per_day" in values or current is None:
        cleaned["cap_per_day"] = _whole(
            values.get("cap_per_day"), "cap_per_day", 1, CAP_PER_DAY_LIMIT, errors, optional=True
        )
    if "cap_total" in values or current is None:
        cleaned["cap_total"] = _whole(
            values.get("cap_total"), "cap_total", 1, CAP_TOTAL_LIMIT, errors, optional=True
        )
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            errors.append(FieldError("enabled", "Give true or false."))
        else:
            cleaned["enabled"] = values["enabled"]
    if "position" in values:
        position = _whole(values["position"], "position", 0, 100_000, errors, optional=False)
        if position is not None:
            cleaned["position"] = position
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _rule_state(rule: EngagementRule) -> dict[str, str]:
    return {name: str(getattr(rule, name)) for name in RULE_FIELDS}


def engagement_rule_create(
    *, workspace: Workspace, actor: Actor, values: Mapping[str, Any]
) -> EngagementRule:
    """Add a rule (at the end of the list unless ``position`` is given); every contact of
    the workspace is recomputed by a task scheduled in the same transaction."""
    cleaned = engagement_rule_clean(values)
    with transaction.atomic():
        if "position" not in cleaned:
            last = (
                EngagementRule.objects.filter(workspace=workspace)
                .order_by("-position")
                .values_list("position", flat=True)
                .first()
            )
            cleaned["position"] = 0 if last is None else last + 1
        rule = EngagementRule.objects.create(workspace=workspace, **cleaned)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.engagement_rule_created",
            obj=rule,
            changes={name: ["", after] for name, after in _rule_state(rule).items()},
        )
        task_schedule(RESCORE_TASK, workspace.pk)
    return rule


def engagement_rule_update(
    *, workspace: Workspace, actor: Actor, rule_id: int, values: Mapping[str, Any]
) -> EngagementRule:
    """Change the fields given in ``values``; another workspace's rule is NotFound. A
    change that changes something schedules a full recompute of the workspace."""
    with transaction.atomic():
        rule = (
            EngagementRule.objects.select_for_update()
            .filter(workspace=workspace, pk=rule_id)
            .first()
        )
        if rule is None:
            raise NotFound("No such engagement rule.")
        cleaned = engagement_rule_clean(values, current=rule)
        before = _rule_state(rule)
        for name, value in cleaned.items():
            setattr(rule, name, value)
        after = _rule_state(rule)
        changes = {
            name: [before[name], after[name]] for name in after if before[name] != after[name]
        }
        if not changes:
            return rule
        rule.updated_at = timezone.now()
        rule.save()
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.engagement_rule_updated",
            obj=rule,
            changes=changes,
        )
        task_schedule(RESCORE_TASK, workspace.pk)
    return rule


def engagement_rule_delete(*, workspace: Workspace, actor: Actor, rule_id: int) -> None:
    """Delete the rule; its points leave every contact's score with the recompute
    scheduled in the same transaction."""
    with transaction.atomic():
        rule = (
            EngagementRule.objects.select_for_update()
            .filter(workspace=workspace, pk=rule_id)
            .first()
        )
        if rule is None:
            raise NotFound("No such engagement rule.")
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.engagement_rule_deleted",
            obj=rule,
            changes={name: [value, ""] for name, value in _rule_state(rule).items()},
        )
        rule.delete()
        task_schedule(RESCORE_TASK, workspace.pk)
