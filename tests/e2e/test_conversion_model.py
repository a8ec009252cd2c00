"""Settings → Conversion model in a real browser, on a desktop and on a phone: the model
in use with its candidates, evaluation and calibration chart, the versions with a rejected
one, "Force" putting it into use and "Train now" queueing a new version. Set
LEADFLOW_SCREENSHOTS=<dir> to keep screenshots."""

import os
import re

import pytest
from playwright.sync_api import expect

from leadflow.scoring.models import ConversionModel, ModelStatus
from leadflow.scoring.services.training import model_train
from tests.conftest import PASSWORD
from tests.scoring.history import history_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS_SCROLL = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@pytest.mark.parametrize("width", [1440, 390])
def test_an_owner_reads_the_model_forces_a_version_and_trains_again(page, workspace, width):
    history_make(workspace, contacts=260)
    active = model_train(workspace=workspace, families=["frequency", "logistic"])
    rejected = ConversionModel.objects.create(
        workspace=workspace,
        version=active.version + 1,
        status=ModelStatus.REJECTED,
        family="frequency",
        rows=260,
        artifact=active.artifact,
        message="Not used: its time hold-out ROC AUC 0.610 is below the model in use (0.700).",
    )
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))

    page.goto(f"/w/{workspace.slug}/settings/scoring/model/")
    expect(page.get_by_role("heading", name="Conversion model")).to_be_visible()
    expect(page.get_by_test_id("family")).to_have_text(re.compile(r"\w"))
    expect(page.get_by_test_id("calibration").locator("circle").first).to_be_attached()
    expect(page.get_by_test_id("metrics")).to_contain_text("Converters in the top 20 %")
    expect(page.get_by_test_id("versions")).to_contain_text("below the model in use")
    directory = os.environ.get("LEADFLOW_SCREENSHOTS")
    if directory:
        page.screenshot(path=f"{directory}/conversion-model-{width}.png", full_page=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 1

    page.get_by_role("button", name="Force").click()
    expect(page.get_by_text(f"Version {rejected.version} is now in use")).to_be_visible()
    rejected.refresh_from_db()
    assert rejected.status == ModelStatus.ACTIVE

    page.get_by_role("button", name="Train now").click()
    expect(page.get_by_text("is queued for training")).to_be_visible()
    expect(page.get_by_role("button", name="Training…")).to_be_disabled()
    assert ConversionModel.objects.filter(workspace=workspace, status="training").count() == 1
