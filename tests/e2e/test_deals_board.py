"""The deals board in Chromium: a real mouse drag moves a card to another column (the
server agrees, the column counts follow), an arrow key moves a focused card to the next
stage, a refused move puts the card back with a message, and the board, list, deal and
forecast pages fit a phone. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots."""

import pytest
from playwright.sync_api import expect

from leadflow.deals import services
from leadflow.deals.models import Deal
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"deals-{name}", width, top=True)


@pytest.fixture
def deals(workspace, owner_actor):
    pipeline = services.pipeline_default_ensure(workspace)
    stages = {stage.name: stage for stage in pipeline.stages.all()}

    def make(title, amount, **values):
        return services.deal_create(
            workspace=workspace,
            actor=owner_actor,
            values={"title": title, "amount": amount, **values},
        )

    made = {
        "alpha": make("Alpha rollout", "12000", expected_close_date="2031-06-10"),
        "beta": make("Beta licences", "3400"),
        "gamma": make("Gamma support", "800", stage_id=stages["Proposal"].pk),
    }
    return made, stages


def column(page, stage):
    return page.locator(f'.board-column[data-stage-id="{stage.pk}"]')


@pytest.mark.parametrize("width", [1440, 390])
def test_drag_and_keyboard_moves_on_the_board(page, workspace, deals, width):
    made, stages = deals
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/deals/board/")
    expect(page.get_by_role("heading", name="Deals", exact=True)).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    new, qualified = column(page, stages["New"]), column(page, stages["Qualified"])
    expect(new.locator("[data-count]")).to_have_text("2")
    shoot(page, "board", width)

    # A real mouse drag of Alpha from New into Qualified; on a phone, where one column
    # fills the screen, its Move menu (what a thumb uses).
    card = page.locator(f'.deal-card[data-deal-id="{made["alpha"].pk}"]')
    if width >= 1000:
        target = qualified.locator(".board-cards")
        source = card.locator(".deal-card-meta").first.bounding_box()
        box = target.bounding_box()
        page.mouse.move(source["x"] + 10, source["y"] + 5)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(
                source["x"] + (box["x"] + 30 - source["x"]) * step / 10,
                source["y"] + (box["y"] + 20 - source["y"]) * step / 10,
            )
            page.wait_for_timeout(30)
        page.mouse.up()
    else:
        card.get_by_label("Move Alpha rollout to").select_option(str(stages["Qualified"].pk))
        card.get_by_role("button", name="Move").click()
    expect(qualified.locator("[data-count]")).to_have_text("1")
    expect(new.locator("[data-count]")).to_have_text("1")
    expect(qualified.locator("[data-total]")).to_have_text("12,000.00 USD")
    expect(page.locator("#board-status")).to_have_text("Moved to Qualified.")
    assert Deal.objects.get(pk=made["alpha"].pk).stage_id == stages["Qualified"].pk

    # The keyboard: focus Beta and press the Right arrow key: New -> Qualified.
    beta = page.locator(f'.deal-card[data-deal-id="{made["beta"].pk}"]')
    beta.focus()
    page.keyboard.press("ArrowRight")
    expect(qualified.locator("[data-count]")).to_have_text("2")
    expect(beta).to_be_focused()
    assert Deal.objects.get(pk=made["beta"].pk).stage_id == stages["Qualified"].pk
    page.keyboard.press("ArrowRight")
    expect(column(page, stages["Proposal"]).locator("[data-count]")).to_have_text("2")
    assert Deal.objects.get(pk=made["beta"].pk).stage_id == stages["Proposal"].pk
    shoot(page, "board-moved", width)

    # A refused move (the deal was deleted meanwhile) puts the card back with a message.
    gamma = page.locator(f'.deal-card[data-deal-id="{made["gamma"].pk}"]')
    Deal.objects.filter(pk=made["gamma"].pk).delete()
    gamma.focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#board-error")).to_contain_text("Not moved")
    expect(
        column(page, stages["Proposal"]).locator(f'[data-deal-id="{made["gamma"].pk}"]')
    ).to_have_count(1)


@pytest.mark.parametrize("width", [1440, 390])
def test_the_deal_list_page_and_forecast_fit_the_screen(page, workspace, deals, width):
    made, _ = deals
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    for name, path in (
        ("list", "deals/"),
        ("deal", f"deals/{made['alpha'].pk}/"),
        ("forecast", "deals/forecast/"),
    ):
        page.goto(f"/w/{workspace.slug}/{path}")
        assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0, name
        shoot(page, name, width)
    page.goto(f"/w/{workspace.slug}/deals/{made['alpha'].pk}/")
    page.get_by_text("Lost…").click()
    page.get_by_label("Why was it lost?").select_option("Price")
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(".flash-success")).to_contain_text("Lost")
    assert Deal.objects.get(pk=made["alpha"].pk).lost_reason == "Price"
