"""Building a segment in a real browser, on a desktop and on a phone: a marketer opens
Segments from the menu, names a segment, adds condition rows (country is US, engagement
score at least 50) and sees the count change live while editing, saves, and after the
background refresh sees its members, linked to their contacts. Set
LEADFLOW_SCREENSHOTS=<dir> to keep screenshots of each step."""

import pytest
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.nurture.models import Segment
from leadflow.nurture.tasks import segment_refresh_task
from tests.e2e.conftest import _orm_beside_playwright, browser, page  # noqa: F401 - fixtures
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def leads(workspace, owner_actor, make_member):
    make_member("marketer", "mia@acme-widgets.com")
    people = {
        "Ann": ("ann@initech.com", 80, "US"),
        "Bo": ("bo@gmail.com", 55, "DE"),
        "Cy": ("cy@hooli.com", 70, "US"),
        "Di": ("di@hooli.com", 5, "US"),
    }
    for name, (email, score, country) in people.items():
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "first_name": name, "last_name": "Lead", "country": country},
            actor=owner_actor,
        ).contact
        Contact.objects.filter(pk=contact.pk).update(engagement_score=score)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_builds_a_segment_watching_the_live_count(page, workspace, leads, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "mia@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/segments/")
    expect(page.get_by_role("heading", name="No segments yet")).to_be_visible()
    shoot(page, "segments-empty", width, top=True)
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name").fill("Engaged Americans")
    page.get_by_label("Field of condition 1").select_option("country")
    page.get_by_label("Operator of condition 1").select_option("eq")
    page.get_by_label("Value of condition 1").fill("US")
    count = page.locator("#segment-count [data-count]")
    expect(count).to_have_text("3")
    page.get_by_label("Field of condition 2").select_option("engagement_score")
    page.get_by_label("Operator of condition 2").select_option("gte")
    page.get_by_label("Value of condition 2").fill("50")
    expect(count).to_have_text("2")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "segment-editing", width, top=True)
    page.get_by_label("Value of condition 2").fill("lots")
    expect(page.locator("#segment-count")).to_contain_text("Must be a number")
    page.get_by_label("Value of condition 2").fill("50")
    expect(count).to_have_text("2")
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".flash-success")).to_contain_text("Engaged Americans")

    segment = Segment.objects.get(workspace=workspace, name="Engaged Americans")
    for row in DBTaskResult.objects.filter(
        task_path=segment_refresh_task.module_path, status="READY"
    ):
        segment_refresh_task.call(*row.args_kwargs["args"])  # as the worker would
    page.reload()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    assert sorted(rows.locator("a.strong").all_inner_texts()) == ["Ann Lead", "Cy Lead"]
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "segment-members", width, top=True)
    page.get_by_role("link", name="All segments").click()
    expect(page.locator("table tbody tr")).to_contain_text("Engaged Americans")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    # The row's Edit button is on the screen (the table does not scroll on a phone).
    edit = page.get_by_role("link", name="Edit")
    box = edit.bounding_box()
    assert box and box["x"] + box["width"] <= width
    shoot(page, "segments-list", width, top=True)
    assert segment.pk and not page.javascript_errors
