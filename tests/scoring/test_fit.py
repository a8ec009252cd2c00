"""The fit grade: the ideal customer profile's rules move a contact from the base grade,
clamped to A..F; the default rules; which rules a contact matches; the rule services."""

import pytest
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Contact
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import AuditEntry
from leadflow.scoring import selectors, services
from leadflow.scoring.models import FitRule
from leadflow.scoring.services.fit import DEFAULT_FIT_RULES


def grade(contact) -> str:
    return Contact.objects.get(pk=contact.pk).fit_grade


def title_rule(word: str, step: int) -> dict:
    return {"version": 1, "field": "job_title", "operator": "contains", "value": word}, step


@pytest.fixture
def profile(workspace):
    return services.profile_get(workspace)


def test_the_default_rules_are_installed_once_and_each_compiles_and_matches(
    workspace, profile, person
):
    names = list(selectors.fit_rules(workspace).values_list("name", flat=True))
    assert names == [rule["name"] for rule in DEFAULT_FIT_RULES]
    services.fit_rules_default_install(workspace.pk)
    assert FitRule.objects.filter(workspace=workspace).count() == len(DEFAULT_FIT_RULES)
    boss = person("ceo@bigcorp.example", job_title="Head of Marketing", size="201-1000")
    small = person("dev@tinyshop.example", job_title="Developer", size="1-10")
    freemail = person("someone@gmail.com", job_title="Student")
    services.fit_grades_write(workspace_id=workspace.pk)
    by_name = {
        c.pk: [r.name for r in selectors.fit_matches(workspace, c)] for c in (boss, small, freemail)
    }
    assert by_name[boss.pk] == [
        "Senior job title",
        "Corporate email domain",
        "Company of 51 people or more",
    ]
    assert by_name[small.pk] == ["Corporate email domain"]
    assert by_name[freemail.pk] == ["No company"]
    # Base C: +3 is past A (clamped), +1 is B, -1 is D.
    assert (grade(boss), grade(small), grade(freemail)) == ("A", "B", "D")


def test_steps_add_up_from_the_base_grade_and_clamp_at_a_and_f(
    workspace, profile, person, owner_actor
):
    FitRule.objects.filter(workspace=workspace).delete()
    for word, step in (("vp", 2), ("intern", -2), ("temp", -5)):
        tree, step = title_rule(word, step)
        services.fit_rule_create(
            workspace=workspace, actor=owner_actor, name=word, conditions=tree, step=step
        )
    vp = person("a@x.example", job_title="VP Sales")
    intern = person("b@x.example", job_title="Intern")
    temp_intern = person("c@x.example", job_title="Temp intern")
    nobody = person("d@x.example", job_title="Engineer")
    services.fit_grades_write(workspace_id=workspace.pk)
    assert [grade(c) for c in (vp, intern, temp_intern, nobody)] == ["A", "E", "F", "C"]
    services.profile_update(workspace=workspace, actor=owner_actor, values={"base_grade": "A"})
    services.fit_grades_write(workspace_id=workspace.pk)
    assert [grade(c) for c in (vp, intern, temp_intern, nobody)] == ["A", "C", "F", "A"]


def test_a_disabled_rule_and_a_broken_tree_move_nobody(workspace, profile, person, owner_actor):
    FitRule.objects.filter(workspace=workspace).delete()
    tree, _ = title_rule("vp", 1)
    rule = services.fit_rule_create(
        workspace=workspace, actor=owner_actor, name="VP", conditions=tree, step=1
    )
    FitRule.objects.create(
        workspace=workspace,
        name="Broken",
        step=2,
        position=5,
        conditions={"version": 1, "field": "custom.gone", "operator": "is_set"},
    )
    vp = person("a@x.example", job_title="VP")
    services.fit_grades_write(workspace_id=workspace.pk)
    assert grade(vp) == "B"
    assert [r.name for r in selectors.fit_matches(workspace, vp)] == ["VP"]
    services.fit_rule_update(
        workspace=workspace, actor=owner_actor, rule_id=rule.pk, values={"enabled": False}
    )
    services.fit_grades_write(workspace_id=workspace.pk)
    assert grade(vp) == "C"
    assert selectors.fit_matches(workspace, vp) == []
    summary = selectors.fit_summary(workspace, list(selectors.fit_rules(workspace)))
    assert summary.rule_counts[rule.pk] == 1
    assert None in summary.rule_counts.values()  # the broken tree is shown as such
    assert dict(summary.grades)["C"] == 1


def test_only_the_given_contacts_are_regraded(workspace, profile, person, owner_actor):
    first = person("a@x.example", job_title="Director")
    second = person("b@x.example", job_title="Director")
    Contact.objects.filter(pk__in=[first.pk, second.pk]).update(fit_grade="")
    services.fit_grades_write(workspace_id=workspace.pk, contact_ids=[first.pk])
    assert (grade(first), grade(second)) == ("A", "")


def test_bad_rules_are_refused_naming_each_field_and_the_tree_path(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as failed:
        services.fit_rule_create(
            workspace=workspace,
            actor=owner_actor,
            name=" ",
            step=0,
            conditions={
                "version": 1,
                "match": "all",
                "children": [
                    {"field": "job_title", "operator": "gt", "value": "x"},
                    {"field": "nope", "operator": "eq", "value": 1},
                ],
            },
        )
    fields = {error.field for error in failed.value.errors}
    assert fields == {
        "name",
        "step",
        "conditions.children[0].operator",
        "conditions.children[1].field",
    }


def test_rule_changes_are_audited_scoped_and_schedule_a_rescore(
    workspace, other_workspace, owner_actor
):
    tree, _ = title_rule("cto", 1)
    rule = services.fit_rule_create(
        workspace=workspace, actor=owner_actor, name="CTO", conditions=tree, step=1
    )
    services.fit_rule_update(
        workspace=workspace, actor=owner_actor, rule_id=rule.pk, values={"step": "-2"}
    )
    assert FitRule.objects.get(pk=rule.pk).step == -2
    with pytest.raises(NotFound):
        services.fit_rule_delete(workspace=other_workspace, actor=owner_actor, rule_id=rule.pk)
    services.fit_rule_delete(workspace=workspace, actor=owner_actor, rule_id=rule.pk)
    actions = list(
        AuditEntry.objects.filter(workspace=workspace, action__startswith="scoring.fit_rule")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "scoring.fit_rule_created",
        "scoring.fit_rule_updated",
        "scoring.fit_rule_deleted",
    ]
    queued = DBTaskResult.objects.filter(task_path="leadflow.scoring.tasks.workspace_rescore")
    assert [row.args_kwargs["args"] for row in queued] == [[workspace.pk]] * 3
