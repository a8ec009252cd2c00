"""The forecast's arithmetic against values computed by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from leadflow.core.actors import Actor
from leadflow.deals import selectors, services
from leadflow.deals.models import DealStageChange

pytestmark = pytest.mark.django_db


def test_weighted_pipeline_by_month_and_owner_conversion_time_and_outcomes(
    workspace, owner_actor, owner, make_member, make_deal, pipeline, stages
):
    sam = make_member("sales", "sam@acme-widgets.com").user
    june, july = dt.date(2031, 6, 10), dt.date(2031, 7, 3)
    # Open deals: New 10 %, Proposal 50 %, one set by hand at 90 %.
    a = make_deal(title="A", amount="1000", expected_close_date=june, owner_id=owner.pk)
    b = make_deal(title="B", amount="2000", expected_close_date=june, owner_id=sam.pk)
    c = make_deal(title="C", amount="400", expected_close_date=july, owner_id=sam.pk,
                  probability=90)  # fmt: skip
    d = make_deal(title="D", amount="300", owner_id=owner.pk)  # no close date
    e = make_deal(title="E", amount="50", currency="EUR", expected_close_date=june)

    def move(deal, name):
        services.deal_move_stage(
            workspace=workspace, actor=owner_actor, deal_id=deal.pk, stage_id=stages[name].pk
        )

    move(b, "Proposal")
    # Closed deals: one won from Qualified, two lost (one after Proposal).
    won = make_deal(title="W", amount="700")
    move(won, "Qualified")
    services.deal_win(workspace=workspace, actor=owner_actor, deal_id=won.pk)
    lost1 = make_deal(title="L1", amount="100")
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=lost1.pk, reason="Price")
    lost2 = make_deal(title="L2", amount="200")
    move(lost2, "Proposal")
    services.deal_lose(workspace=workspace, actor=owner_actor, deal_id=lost2.pk, reason="Price")
    # Time in New: make every stay out of New last exactly 2 days, and out of Qualified 4.
    DealStageChange.objects.filter(from_stage=stages["New"]).update(seconds_in_from_stage=2 * 86400)
    DealStageChange.objects.filter(from_stage=stages["Qualified"]).update(
        seconds_in_from_stage=4 * 86400
    )

    result = selectors.forecast(workspace, Actor.system(), pipeline=pipeline)

    months = {(row["month"], row["currency"]): row for row in result.weighted_by_month}
    # June USD: A 1000 x 10 % = 100 and B 2000 x 50 % = 1000.
    assert months[(dt.date(2031, 6, 1), "USD")]["weighted"] == Decimal("1100.00")
    assert months[(dt.date(2031, 6, 1), "USD")]["total"] == Decimal("3000.00")
    assert months[(dt.date(2031, 6, 1), "USD")]["deals"] == 2
    # July: C 400 x 90 % (set by hand) = 360; no date: D 300 x 10 % = 30; EUR apart: 5.
    assert months[(dt.date(2031, 7, 1), "USD")]["weighted"] == Decimal("360.00")
    assert months[(None, "USD")]["weighted"] == Decimal("30.00")
    assert months[(dt.date(2031, 6, 1), "EUR")]["weighted"] == Decimal("5.00")
    assert list(months)[-1][0] is None  # no date comes last

    owners = {(row["owner_id"], row["currency"]): row for row in result.weighted_by_owner}
    assert owners[(sam.pk, "USD")]["weighted"] == Decimal("1360.00")  # B 1000 + C 360
    assert owners[(sam.pk, "USD")]["total"] == Decimal("2400.00")
    assert owners[(owner.pk, "USD")]["weighted"] == Decimal("130.00")  # A 100 + D 30 (+ E EUR)

    flows = {flow.stage.name: flow for flow in result.flows}
    # Entered New: A B C D E W L1 L2 = 8; reached a later open or won stage: B W L2 = 3.
    assert (flows["New"].entered, flows["New"].advanced) == (8, 3)
    assert flows["New"].conversion == pytest.approx(3 / 8)
    # Entered Qualified: W only, which was won.
    assert (flows["Qualified"].entered, flows["Qualified"].advanced) == (1, 1)
    # Entered Proposal: B (still there), L2 (lost): none reached a later stage.
    assert (flows["Proposal"].entered, flows["Proposal"].advanced) == (2, 0)
    assert flows["Negotiation"].conversion is None
    assert flows["New"].average_days == pytest.approx(2.0)
    assert flows["Qualified"].average_days == pytest.approx(4.0)
    assert flows["Proposal"].average_days is not None  # L2 left it for Lost

    closed = {(row["status"], row["currency"]): row for row in result.closed}
    assert closed[("won", "USD")]["deals"] == 1
    assert closed[("won", "USD")]["total"] == Decimal("700")
    assert closed[("lost", "USD")]["deals"] == 2
    assert closed[("lost", "USD")]["total"] == Decimal("300")
    assert result.lost_reasons == [{"lost_reason": "Price", "deals": 2}]
    # A closed-since date after today leaves no closed deals.
    later = selectors.forecast(
        workspace, Actor.system(), pipeline=pipeline,
        closed_since=timezone.now().date() + dt.timedelta(days=1),
    )  # fmt: skip
    assert later.closed == [] and later.lost_reasons == []
    assert a and c and d and e


def test_the_forecast_counts_only_what_an_own_leads_salesperson_sees(
    workspace, owner, make_member, make_deal, pipeline
):
    sam = make_member("sales", "sam@acme-widgets.com")
    make_deal(title="Mine", amount="100", owner_id=sam.user_id)
    make_deal(title="Not mine", amount="900", owner_id=owner.pk)
    seen = selectors.forecast(workspace, Actor.for_user(sam.user, sam), pipeline=pipeline)
    assert [row["total"] for row in seen.weighted_by_owner] == [Decimal("100.00")]
