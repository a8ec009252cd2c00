"""Settings → Deals in Chromium: an admin opens a pipeline's settings from the board, adds
the stage "Negotiation" at 60 % before "Won", renames the pipeline, and the board shows the
new column under the new name; the pages fit a phone. Set LEADFLOW_SCREENSHOTS=<dir> to
keep screenshots."""

import pytest
from playwright.sync_api import expect

from leadflow.deals import services
from leadflow.deals.models import Stage
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pipeline(workspace, owner_actor):
    """The default pipeline without its Negotiation stage (the admin adds it back)."""
    pipeline = services.pipeline_default_ensure(workspace)
    negotiation = Stage.objects.get(pipeline=pipeline, name="Negotiation")
    services.stage_delete(workspace=workspace, actor=owner_actor, stage_id=negotiation.pk)
    return pipeline


@pytest.mark.parametrize("width", [1440, 390])
def test_an_admin_adds_a_stage_and_renames_the_pipeline_and_the_board_follows(
    page, workspace, pipeline, width
):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "owner@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/deals/board/")
    expect(page.locator(".board-column h2", has_text="Negotiation")).to_have_count(0)
    page.get_by_role("link", name="Pipeline settings").click()
    expect(page.get_by_role("heading", name="Pipeline: Sales")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0

    form = page.locator("#add-stage")
    form.get_by_label("Name").fill("Negotiation")
    form.get_by_label("Win probability (%)").fill("60")
    form.get_by_label("Place").select_option(label="Before Won")
    form.get_by_role("button", name="Add stage").click()
    expect(page.get_by_text("Added the stage “Negotiation”.")).to_be_visible()
    rows = page.locator("#stages tbody tr td.strong")
    expect(rows).to_have_text(["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"])
    expect(page.locator("#stages tbody tr").nth(3)).to_contain_text("60 %")

    # A bad probability is named beside its input, and nothing is added.
    form = page.locator("#add-stage")
    form.get_by_label("Name").fill("Legal")
    form.get_by_label("Win probability (%)").fill("150")
    form.get_by_role("button", name="Add stage").click()
    expect(page.locator("#id_stage_probability_error")).to_have_text(
        "A whole number from 0 to 100."
    )
    expect(rows).to_have_count(6)

    page.locator("#id_rename").fill("Enterprise")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Pipeline: Enterprise")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "deals-settings-pipeline", width, top=True)

    page.get_by_role("link", name="← Deals").click()
    expect(page.locator("#pipelines")).to_contain_text("Enterprise")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "deals-settings", width, top=True)

    page.goto(f"/w/{workspace.slug}/deals/board/")
    expect(page.get_by_text("Enterprise pipeline: open deals by stage.")).to_be_visible()
    headings = page.locator(".board-column h2")
    expect(headings).to_have_text(["New", "Qualified", "Proposal", "Negotiation"])
    expect(page.locator(".board-column").nth(3)).to_contain_text("60 % win probability")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    helpers.shoot(page, "deals-settings-board", width, top=True)
