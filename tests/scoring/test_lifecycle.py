"""Temperature, funnel section, the MQL rule, and sales' accept / reject of MQLs."""

import pytest
from django.db import connection

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_update
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.core.models import AuditEntry
from leadflow.scoring import services
from leadflow.scoring.services.lifecycle import FUNNEL_TABLE, MQL_RULE_ACTOR, TEMPERATURES

MQL_RULE = {
    "version": 1,
    "match": "all",
    "children": [
        {"field": "engagement_score", "operator": "gte", "value": 50},
        {"field": "fit_grade", "operator": "at_least", "value": "B"},
    ],
}


def scores(contact_id, engagement: float, grade: str = "", stage: str | None = None) -> None:
    values = {"engagement_score": engagement, "fit_grade": grade}
    if stage:
        values["lifecycle_stage"] = stage
    Contact.objects.filter(pk=contact_id).update(**values)


def row(contact):
    return Contact.objects.get(pk=contact.pk)


@pytest.fixture
def profile(workspace, owner_actor):
    services.profile_get(workspace)
    return services.profile_update(
        workspace=workspace,
        actor=owner_actor,
        values={"warm_threshold": 15.0, "hot_threshold": 50.0},
    )


def test_temperature_follows_the_thresholds_inclusive(workspace, profile, person):
    people = [person(f"p{n}@x.example") for n in range(5)]
    for contact, value in zip(people, (0, 14.99, 15, 49.9, 50), strict=True):
        scores(contact.pk, value)
    services.lifecycle_apply(workspace_id=workspace.pk)
    assert [row(c).temperature for c in people] == ["cold", "cold", "warm", "warm", "hot"]
    assert [services.temperature_of(v, 15, 50) for v in (0, 14.99, 15, 49.9, 50)] == [
        "cold", "cold", "warm", "warm", "hot",
    ]  # fmt: skip


def test_the_funnel_section_follows_the_documented_table(workspace, profile, person):
    cases = []
    for index, (stage, sections) in enumerate(FUNNEL_TABLE.items()):
        for temperature, score in zip(TEMPERATURES, (0, 20, 80), strict=True):
            contact = person(f"s{index}{temperature}@x.example")
            scores(contact.pk, score, stage=stage)
            cases.append((contact, stage, temperature))
    services.lifecycle_apply(workspace_id=workspace.pk)
    for contact, stage, temperature in cases:
        stored = row(contact)
        assert stored.temperature == temperature
        assert stored.funnel_section == services.funnel_section_of(stage, temperature)
    assert services.funnel_section_of("lead", "hot") == "middle"
    assert services.funnel_section_of("mql", "hot") == "bottom"
    assert services.funnel_section_of("customer", "hot") == ""


def test_the_mql_rule_moves_only_subscribers_and_leads_and_records_why_and_who(
    workspace, owner_actor, profile, person
):
    services.profile_update(
        workspace=workspace, actor=owner_actor, values={"mql_conditions": MQL_RULE}
    )
    lead = person("lead@x.example")
    subscriber = person("sub@x.example", lifecycle_stage="subscriber")
    low_grade = person("low@x.example")
    cold = person("cold@x.example")
    nurtured = person("nurture@x.example", lifecycle_stage="nurture")
    customer = person("customer@x.example", lifecycle_stage="customer")
    scores(lead.pk, 60, "A")
    scores(subscriber.pk, 50, "B")
    scores(low_grade.pk, 90, "C")
    scores(cold.pk, 10, "A")
    scores(nurtured.pk, 90, "A")
    scores(customer.pk, 90, "A")
    services.lifecycle_apply(workspace_id=workspace.pk)
    stages = {
        c.email: row(c).lifecycle_stage
        for c in (lead, subscriber, low_grade, cold, nurtured, customer)
    }
    assert stages == {
        "lead@x.example": "mql",
        "sub@x.example": "mql",
        "low@x.example": "lead",
        "cold@x.example": "lead",
        "nurture@x.example": "nurture",
        "customer@x.example": "customer",
    }
    moved = Activity.objects.get(contact_id=lead.pk, kind="stage.changed")
    assert moved.data == {
        "from": "lead",
        "to": "mql",
        "direction": "forward",
        "reason": "Matched the MQL rule",
    }
    assert moved.actor_label == MQL_RULE_ACTOR and moved.actor_user_id is None
    assert row(lead).stage_changed_at == moved.occurred_at
    assert row(lead).funnel_section == "bottom"  # an MQL and hot
    # Applying again moves nobody twice.
    services.lifecycle_apply(workspace_id=workspace.pk, contact_ids=[lead.pk, subscriber.pk])
    assert Activity.objects.filter(kind="stage.changed", data__to="mql").count() == 2


def test_an_empty_mql_rule_is_off(workspace, profile, person):
    lead = person("lead@x.example")
    scores(lead.pk, 500, "A")
    services.lifecycle_apply(workspace_id=workspace.pk)
    assert row(lead).lifecycle_stage == "lead"


def test_accept_makes_an_sql_and_reject_needs_a_reason_and_nurtures(workspace, owner_actor, person):
    first = person("a@x.example", lifecycle_stage="mql")
    second = person("b@x.example", lifecycle_stage="mql")
    accepted = services.mql_accept(workspace=workspace, contact_id=first.pk, actor=owner_actor)
    assert accepted.lifecycle_stage == "sql"
    with pytest.raises(ValidationFailed) as failed:
        services.mql_reject(
            workspace=workspace, contact_id=second.pk, actor=owner_actor, reason=" "
        )
    assert [e.field for e in failed.value.errors] == ["reason"]
    rejected = services.mql_reject(
        workspace=workspace, contact_id=second.pk, actor=owner_actor, reason="Student, no budget"
    )
    assert rejected.lifecycle_stage == "nurture"
    change = Activity.objects.filter(contact_id=second.pk, kind="stage.changed").latest("pk")
    assert change.data["reason"] == "Student, no budget"
    assert change.actor_user_id == owner_actor.user_id
    assert rejected.stage_changed_at == change.occurred_at
    with pytest.raises(Conflict):  # not an MQL any more
        services.mql_accept(workspace=workspace, contact_id=second.pk, actor=owner_actor)
    assert (
        AuditEntry.objects.filter(
            workspace=workspace, action__in=["scoring.mql_accepted", "scoring.mql_rejected"]
        ).count()
        == 2
    )


def test_another_workspace_and_other_sellers_leads_are_not_found(
    workspace, other_workspace, owner_actor, make_member, person
):
    mql = person("a@x.example", lifecycle_stage="mql")
    seller = make_member("sales")
    seller_actor = Actor.for_user(seller.user, seller)
    other_owner = Actor.system()
    with pytest.raises(NotFound):
        services.mql_accept(workspace=other_workspace, contact_id=mql.pk, actor=other_owner)
    with pytest.raises(NotFound):
        services.mql_reject(workspace=workspace, contact_id=mql.pk, actor=seller_actor, reason="no")
    contact_update(
        workspace=workspace, contact_id=mql.pk, data={"owner_id": seller.user_id}, actor=owner_actor
    )
    assert (
        services.mql_accept(
            workspace=workspace, contact_id=mql.pk, actor=seller_actor
        ).lifecycle_stage
        == "sql"
    )
    assert row(mql).lifecycle_stage == "sql"


def test_the_scoring_fields_compile_to_one_query_on_this_database(workspace, person):
    from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json

    hot = person("hot@x.example")
    Contact.objects.filter(pk=hot.pk).update(
        engagement_score=70, fit_grade="B", conversion_probability=0.31,
        funnel_section="middle", outcome="won",
    )  # fmt: skip
    person("cold@x.example")
    context = ConditionContext(workspace=workspace)

    def matching(tree):
        condition = conditions_compile(tree_from_json({"version": 1, **tree}), context)
        return set(
            Contact.objects.filter(workspace=workspace)
            .filter(condition)
            .values_list("email", flat=True)
        )

    assert matching({"field": "conversion_probability", "operator": "gte", "value": 30}) == {
        "hot@x.example"
    }
    assert matching(
        {"field": "conversion_probability", "operator": "between", "value": [31, 32]}
    ) == {"hot@x.example"}
    assert matching({"field": "conversion_probability", "operator": "is_empty"}) == {
        "cold@x.example"
    }
    assert matching({"field": "fit_grade", "operator": "at_least", "value": "B"}) == {
        "hot@x.example"
    }
    assert matching({"field": "fit_grade", "operator": "at_most", "value": "C"}) == set()
    assert matching({"field": "fit_grade", "operator": "at_least", "value": "A"}) == set()
    assert matching({"field": "engagement_score", "operator": "lt", "value": 1}) == {
        "cold@x.example"
    }
    assert matching({"field": "funnel_section", "operator": "eq", "value": "middle"}) == {
        "hot@x.example"
    }
    assert matching({"field": "outcome", "operator": "is_empty"}) == {"cold@x.example"}
    assert connection.vendor in ("sqlite", "postgresql")


def test_an_mql_rule_on_the_company_moves_leads_too(workspace, owner_actor, profile, person):
    rule = {"version": 1, "field": "company.size", "operator": "in", "value": ["51-200"]}
    services.profile_update(workspace=workspace, actor=owner_actor, values={"mql_conditions": rule})
    big = person("ann@bigco.example", size="51-200")
    freemail = person("bo@gmail.com")
    services.lifecycle_apply(workspace_id=workspace.pk)
    assert (row(big).lifecycle_stage, row(freemail).lifecycle_stage) == ("mql", "lead")
