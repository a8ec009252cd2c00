"""Deals' services: defaults, stage history, probability default vs set by hand, won and
lost with their effect on the contact, reopening, conversion, stages and pipelines."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, LifecycleStage, Outcome
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.deals import selectors, services
from leadflow.deals.models import Deal, DealStageChange, Pipeline, Stage
from leadflow.scoring.features import labelled_dataset

pytestmark = pytest.mark.django_db


def fields(error) -> set[str]:
    return {e.field for e in error.value.errors}


def test_the_first_use_makes_one_default_pipeline_with_ordered_stages(workspace):
    first = services.pipeline_default_ensure(workspace)
    again = services.pipeline_default_ensure(workspace)
    assert first.pk == again.pk and first.name == "Sales"
    stages = list(first.stages.all())
    assert [(s.name, s.probability, s.kind) for s in stages] == [
        ("New", 10, "open"),
        ("Qualified", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert Pipeline.objects.filter(workspace=workspace).count() == 1


def test_a_deal_takes_its_defaults_from_the_contact_stage_and_workspace(
    workspace, owner, lead, make_deal, stages, settings
):
    settings.LEADFLOW_DEFAULT_CURRENCY = "GBP"
    deal = make_deal(contact_id=lead.pk, title="", amount="1200.5")
    assert deal.title == str(lead)
    assert deal.stage == stages["New"] and deal.status == "open"
    assert deal.company_id == lead.company_id
    assert deal.currency == "GBP"
    assert deal.owner_id == owner.pk  # the acting owner, the contact having none
    assert deal.amount == Decimal("1200.50")
    assert (deal.probability, deal.probability_manual) == (10, False)
    created = Activity.objects.get(contact=lead, kind="deal.created")
    assert created.data["deal_id"] == deal.pk and created.data["to_stage"] == "New"
    [change] = DealStageChange.objects.filter(deal=deal)
    assert change.from_stage is None and change.to_stage == stages["New"]


def test_the_workspace_currency_wins_over_the_server_default(workspace, owner_actor, make_deal):
    services.deal_settings_update(
        workspace=workspace, actor=owner_actor, values={"currency": "eur"}
    )
    assert make_deal().currency == "EUR"
    assert make_deal(currency="chf").currency == "CHF"


def test_bad_input_names_every_field_and_writes_nothing(workspace, make_deal, other_contact):
    with pytest.raises(ValidationFailed) as error:
        make_deal(
            title="x" * 201,
            amount="-1",
            currency="dollars",
            expected_close_date="31/12/2026",
            probability=101,
            owner_id=999999,
            contact_id=other_contact.pk,
            colour="red",
        )
    assert fields(error) == {
        "title",
        "amount",
        "currency",
        "expected_close_date",
        "probability",
        "owner_id",
        "contact_id",
        "colour",
    }
    assert not Deal.objects.exists()


def test_moves_record_history_and_time_in_stage_and_follow_the_default_probability(
    workspace, owner_actor, lead, make_deal, stages
):
    deal = make_deal(contact_id=lead.pk)
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=2))
    moved = services.deal_move_stage(
        workspace=workspace, actor=owner_actor, deal_id=deal.pk, stage_id=stages["Proposal"].pk
    )
    assert moved.stage == stages["Proposal"] and moved.probability == 50
    change = DealStageChange.objects.filter(deal=deal).last()
    assert (change.from_stage, change.to_stage) == (stages["New"], stages["Proposal"])
    assert abs(change.seconds_in_from_stage - 2 * 86400) < 60
    assert change.by_user_id == owner_actor.user_id
    activity = Activity.objects.get(contact=lead, kind="deal.stage_changed")
    assert (activity.data["from_stage"], activity.data["to_stage"]) == ("New", "Proposal")


def test_a_probability_set_by_hand_survives_moves_until_cleared(
    workspace, owner_actor, make_deal, stages
):
    deal = make_deal(probability=33)
    assert (deal.probability, deal.probability_manual) == (33, True)
    deal = services.deal_move_stage(
        workspace=workspace, actor=owner_actor, deal_id=deal.pk, stage_id=stages["Negotiation"].pk
    )
    assert deal.probability == 33
    deal = services.deal_update(
        workspace=workspace, actor=owner_actor, deal_id=deal.pk, values={"probability": None}
    )
    assert (deal.probability, deal.probability_manual) == (75, False)
    services.stage_update(
        workspace=workspace, actor=owner_actor, stage_id=stages["Negotiation"].pk,
        values={"probability": 80},
    )  # fmt: skip
    assert Deal.objects.get(pk=deal.pk).probability == 80


def test_winning_makes_the_contact_a_customer_that_scoring_learns_as_won(
    workspace, owner_actor, lead, make_deal, stages
):
    deal = make_deal(contact_id=lead.pk, amount="500")
    won = services.deal_win(workspace=workspace, actor=owner_actor, deal_id=deal.pk)
    assert won.status == "won" and won.stage == stages["Won"] and won.closed_at
    assert won.probability == 100
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.CUSTOMER
    assert lead.outcome == Outcome.WON and lead.outcome_at is not None
    assert Activity.objects.filter(contact=lead, kind="deal.won").count() == 1
    dataset = labelled_dataset(workspace)
    assert list(dataset.y) == [1]


def test_losing_the_last_open_deal_sends_the_contact_to_nurture(
    workspace, owner_actor, lead, make_deal
):
    first = make_deal(contact_id=lead.pk, title="One")
    second = make_deal(contact_id=lead.pk, title="Two")
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=first.pk, reason="Price")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.SQL  # another deal is still open
    lost = services.deal_lose(
        workspace=workspace, actor=owner_actor, deal_id=second.pk, reason="Went quiet"
    )
    assert lost.status == "lost" and lost.lost_reason == "Went quiet"
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.NURTURE
    activity = Activity.objects.get(contact=lead, kind="deal.lost", data__deal_id=second.pk)
    assert activity.data["reason"] == "Went quiet"


def test_the_nurture_setting_off_leaves_the_contact_where_it_is(
    workspace, owner_actor, lead, make_deal
):
    services.deal_settings_update(
        workspace=workspace, actor=owner_actor, values={"nurture_when_all_lost": False}
    )
    deal = make_deal(contact_id=lead.pk)
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=deal.pk, reason="Price")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.SQL


def test_losing_needs_a_reason_and_a_customer_never_goes_to_nurture(
    workspace, owner_actor, lead, make_deal
):
    deal = make_deal(contact_id=lead.pk)
    with pytest.raises(ValidationFailed) as error:
        services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=deal.pk, reason=" ")
    assert fields(error) == {"reason"}
    Contact.objects.filter(pk=lead.pk).update(lifecycle_stage=LifecycleStage.CUSTOMER)
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=deal.pk, reason="Price")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.CUSTOMER


def test_reopening_returns_to_the_last_open_stage(workspace, owner_actor, make_deal, stages):
    deal = make_deal()
    services.deal_move_stage(
        workspace=workspace, actor=owner_actor, deal_id=deal.pk, stage_id=stages["Proposal"].pk
    )
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=deal.pk, reason="Price")
    reopened = services.deal_reopen(workspace=workspace, actor=owner_actor, deal_id=deal.pk)
    assert reopened.stage == stages["Proposal"] and reopened.status == "open"
    assert reopened.closed_at is None and reopened.lost_reason == ""
    with pytest.raises(Conflict):
        services.deal_reopen(workspace=workspace, actor=owner_actor, deal_id=deal.pk)


def test_converting_a_lead_makes_an_opportunity_with_a_deal(workspace, owner_actor, lead, stages):
    deal = services.lead_convert_to_deal(
        workspace=workspace, actor=owner_actor, contact_id=lead.pk, amount="900"
    )
    assert deal.contact_id == lead.pk and deal.stage == stages["New"]
    assert deal.amount == Decimal("900.00")
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.OPPORTUNITY
    change = Activity.objects.get(contact=lead, kind="stage.changed")
    assert change.data["to"] == "opportunity" and "Converted" in change.data["reason"]


def test_converting_a_customer_keeps_the_customer(workspace, owner_actor, lead):
    Contact.objects.filter(pk=lead.pk).update(lifecycle_stage=LifecycleStage.CUSTOMER)
    services.lead_convert_to_deal(workspace=workspace, actor=owner_actor, contact_id=lead.pk)
    lead.refresh_from_db()
    assert lead.lifecycle_stage == LifecycleStage.CUSTOMER


def test_another_workspaces_contact_or_deal_is_not_found(
    workspace, owner_actor, other_contact, other_workspace
):
    with pytest.raises(NotFound):
        services.lead_convert_to_deal(
            workspace=workspace, actor=owner_actor, contact_id=other_contact.pk
        )
    other_pipeline = services.pipeline_default_ensure(other_workspace)
    other = Deal.objects.create(
        workspace=other_workspace, pipeline=other_pipeline,
        stage=other_pipeline.stages.first(), title="Theirs", currency="USD",
    )  # fmt: skip
    with pytest.raises(NotFound):
        services.deal_win(workspace=workspace, actor=owner_actor, deal_id=other.pk)
    with pytest.raises(NotFound):
        services.pipeline_update(
            workspace=workspace, actor=owner_actor, pipeline_id=other_pipeline.pk,
            values={"name": "x"},
        )  # fmt: skip


def test_a_stage_with_deals_is_deleted_only_by_moving_them(
    workspace, owner_actor, make_deal, stages
):
    deal = make_deal()
    with pytest.raises(Conflict):
        services.stage_delete(workspace=workspace, actor=owner_actor, stage_id=stages["New"].pk)
    with pytest.raises(ValidationFailed):
        services.stage_delete(
            workspace=workspace, actor=owner_actor, stage_id=stages["New"].pk,
            move_to_stage_id=stages["Won"].pk,
        )  # fmt: skip
    services.stage_delete(
        workspace=workspace, actor=owner_actor, stage_id=stages["New"].pk,
        move_to_stage_id=stages["Qualified"].pk,
    )  # fmt: skip
    deal.refresh_from_db()
    assert deal.stage == stages["Qualified"] and deal.probability == 25
    assert not Stage.objects.filter(pk=stages["New"].pk).exists()
    last = DealStageChange.objects.filter(deal=deal).last()
    assert last.from_stage_name == "New" and last.to_stage_name == "Qualified"


def test_stages_are_created_reordered_and_named_once(workspace, owner_actor, pipeline, stages):
    demo = services.stage_create(
        workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk,
        values={"name": "Demo", "probability": 40},
    )  # fmt: skip
    names = [s.name for s in selectors.pipeline_get(workspace, pipeline.pk).stages.all()]
    assert names == ["New", "Qualified", "Proposal", "Negotiation", "Demo", "Won", "Lost"]
    with pytest.raises(ValidationFailed) as error:
        services.stage_create(
            workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk,
            values={"name": "Demo", "probability": 40},
        )  # fmt: skip
    assert fields(error) == {"name"}
    order = [demo.pk] + [s.pk for s in stages.values()]
    services.stage_reorder(
        workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk, stage_ids=order
    )
    assert selectors.pipeline_get(workspace, pipeline.pk).stages.all()[0].name == "Demo"
    with pytest.raises(ValidationFailed):
        services.stage_reorder(
            workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk, stage_ids=order[1:]
        )


def test_a_pipeline_with_deals_or_the_last_one_stays(workspace, owner_actor, make_deal, pipeline):
    with pytest.raises(Conflict):
        services.pipeline_delete(workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk)
    second = services.pipeline_create(
        workspace=workspace, actor=owner_actor, values={"name": "Renewals"}
    )
    assert second.stages.count() == 6 and second.position == 1
    make_deal(pipeline_id=second.pk)
    with pytest.raises(Conflict):
        services.pipeline_delete(workspace=workspace, actor=owner_actor, pipeline_id=second.pk)
    Deal.objects.all().delete()
    services.pipeline_delete(workspace=workspace, actor=owner_actor, pipeline_id=second.pk)
    assert list(Pipeline.objects.filter(workspace=workspace)) == [pipeline]


def test_a_workspace_with_deals_and_routing_rules_is_deleted_whole(workspace, owner_actor):
    """Pipelines, stages, deals, teams and rules hold each other (a stage with deals, a
    team with rules cannot be deleted alone), never the workspace: deleting it takes all."""
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.models import Workspace
    from leadflow.sales.models import AssignmentRule, Team
    from leadflow.sales.services import assignment_rule_create, team_create

    contact = contact_upsert(
        workspace=workspace, data={"email": "kim@initech.com"}, actor=owner_actor
    ).contact
    services.deal_create(
        workspace=workspace, actor=owner_actor, values={"title": "Big", "contact_id": contact.pk}
    )
    team = team_create(workspace=workspace, name="Inbound", actor=owner_actor)
    assignment_rule_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "All", "strategy": "round_robin", "team_id": team.pk},
    )
    Workspace.objects.filter(pk=workspace.pk).delete()
    assert not Deal.objects.exists() and not Stage.objects.exists()
    assert not Team.objects.exists() and not AssignmentRule.objects.exists()
