"""Fit reads: the ideal customer profile's rules, which of them a contact matches, how many
contacts each matches now and how the workspace's grades are spread."""

from dataclasses import dataclass

from django.db.models import Case, Count, Q, QuerySet, Value, When

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import FIT_GRADES, Contact
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import Workspace
from leadflow.scoring.models import FitRule


def fit_rule_condition(rule: FitRule, context: ConditionContext) -> Q | None:
    """The ``Q`` on Contact of the rule's tree, or None when the tree no longer compiles
    (a custom field it names was deleted): such a rule matches nobody until it is fixed."""
    try:
        return conditions_compile(tree_from_json(rule.conditions), context)
    except ValidationFailed:
        return None


def fit_rules(workspace: Workspace) -> QuerySet[FitRule]:
    return FitRule.objects.filter(workspace=workspace).order_by("position", "id")


def fit_matches(workspace: Workspace, contact: Contact) -> list[FitRule]:
    """The enabled fit rules this contact matches, in order: one query, each rule's
    compiled tree evaluated on this contact's row."""
    context = ConditionContext(workspace=workspace)
    rules = [rule for rule in fit_rules(workspace) if rule.enabled]
    conditions = {rule.pk: fit_rule_condition(rule, context) for rule in rules}
    flags = {
        f"rule_{pk}": Case(When(condition, then=Value(True)), default=Value(False))
        for pk, condition in conditions.items()
        if condition is not None
    }
    if not flags:
        return []
    row = (
        Contact.objects.filter(workspace=workspace, pk=contact.pk)
        .annotate(**{name: expression for name, expression in flags.items()})
        .values(*flags)
        .first()
    )
    if row is None:
        return []
    return [rule for rule in rules if row.get(f"rule_{rule.pk}")]


@dataclass
class FitSummary:
    """For the ideal customer profile page: contacts each rule matches now (None: its tree
    no longer compiles), and how many contacts have each grade ("" not graded yet)."""

    rule_counts: dict[int, int | None]
    grades: list[tuple[str, int]]
    total: int


def fit_summary(workspace: Workspace, rules: list[FitRule]) -> FitSummary:
    """Two queries: one count per rule (filtered aggregates), one grouped by grade."""
    context = ConditionContext(workspace=workspace)
    conditions = {rule.pk: fit_rule_condition(rule, context) for rule in rules}
    aggregates = {
        f"rule_{pk}": Count("pk", filter=condition)
        for pk, condition in conditions.items()
        if condition is not None
    }
    contacts = Contact.objects.filter(workspace=workspace)
    counted = contacts.aggregate(total=Count("pk"), **aggregates)
    by_grade = dict(
        contacts.order_by()
        .values_list("fit_grade")
        .annotate(n=Count("pk"))
        .values_list("fit_grade", "n")
    )
    return FitSummary(
        rule_counts={
            pk: (None if condition is None else counted[f"rule_{pk}"])
            for pk, condition in conditions.items()
        },
        grades=[(grade, by_grade.get(grade, 0)) for grade in (*FIT_GRADES, "")],
        total=counted["total"],
    )


def conditions_count(workspace: Workspace, condition: Q, *, where: Q | None = None) -> int:
    """How many of the workspace's contacts match (and ``where``, when given)."""
    contacts = Contact.objects.filter(workspace=workspace).filter(condition)
    if where is not None:
        contacts = contacts.filter(where)
    return contacts.count()
