"""The ideal customer profile and the MQL queue in a real browser, on a desktop and on a
phone: a marketer adds a fit rule with the condition editor (the operators follow the
chosen field), sees how many contacts it matches, sets an MQL rule and sees the leads it
matches counted as they type; a salesperson accepts one MQL and rejects another with a
reason from the queue. Set LEADFLOW_SCREENSHOTS=<dir> to keep screenshots of each step."""

import pytest
from playwright.sync_api import expect

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.scoring import services
from leadflow.scoring.models import FitRule
from tests.e2e import helpers
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, width: int) -> None:
    helpers.shoot(page, f"scoring-{name}", width)


@pytest.fixture
def people(workspace, owner_actor, make_member):
    make_member("marketer", "mia@acme-widgets.com")
    seller = make_member("sales", "sam@acme-widgets.com")
    services.profile_get(workspace)

    def lead(email, score, probability=None, **data) -> Contact:
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "owner_id": seller.user_id, **data},
            actor=owner_actor,
        ).contact
        Contact.objects.filter(pk=contact.pk).update(
            engagement_score=score, conversion_probability=probability
        )
        return contact

    leads = {
        "ann": lead("ann@initech.com", 80, 0.62, first_name="Ann", job_title="Head of IT",
                    lifecycle_stage="mql"),
        "bo": lead("bo@gmail.com", 55, 0.18, first_name="Bo", lifecycle_stage="mql"),
        "cy": lead("cy@hooli.com", 70, None, first_name="Cy", job_title="Engineer"),
        "di": lead("di@hooli.com", 5, None, first_name="Di"),
    }  # fmt: skip
    services.fit_grades_write(workspace_id=workspace.pk)
    services.lifecycle_apply(workspace_id=workspace.pk)
    return leads


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketer_shapes_the_profile_and_sales_works_the_queue(page, workspace, people, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "mia@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/settings/scoring/profile/")
    expect(page.get_by_role("heading", name="Ideal customer profile")).to_be_visible()
    expect(page.locator("#fit-rules tbody tr")).to_have_count(4)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "profile", width)

    # A rule from the editor: choosing a number field offers number operators only.
    form = page.locator("form.rule-form")
    form.get_by_label("Name").fill("Engineers")
    form.get_by_label("Step (grades)").select_option("-1")
    form.get_by_label("Field of condition 1").select_option("job_title")
    operator = form.get_by_label("Operator of condition 1")
    assert not operator.locator("option[value='contains']").evaluate("o => o.hidden")
    form.get_by_label("Field of condition 2").select_option("engagement_score")
    second = form.get_by_label("Operator of condition 2")
    assert second.locator("option[value='contains']").evaluate("o => o.hidden")
    assert not second.locator("option[value='gte']").evaluate("o => o.hidden")
    form.get_by_label("Field of condition 2").select_option("")
    operator.select_option("contains")
    form.get_by_label("Value of condition 1").fill("engineer")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator(".flash-success")).to_contain_text("Engineers")
    row = page.locator("#fit-rules tbody tr", has_text="Engineers")
    expect(row).to_contain_text("1")  # Cy matches now
    assert FitRule.objects.get(workspace=workspace, name="Engineers").step == -1

    # The MQL rule, counted as it is typed, then saved.
    lifecycle = page.locator("#lifecycle")
    lifecycle.get_by_label("Field of condition 1").select_option("engagement_score")
    lifecycle.get_by_label("Operator of condition 1").select_option("gte")
    lifecycle.get_by_label("Value of condition 1").fill("60")
    lifecycle.get_by_label("Value of condition 1").press("Tab")
    expect(page.locator("#mql-count")).to_have_text("1 lead(s) match now.")
    shoot(page, "mql-rule", width)
    # The thresholds are shown here and set on the engagement page (one home).
    expect(lifecycle.locator(".temperature-thresholds")).to_contain_text("warm from")
    expect(lifecycle.get_by_role("link", name="Change the thresholds")).to_have_attribute(
        "href", f"/w/{workspace.slug}/settings/scoring/engagement/#decay"
    )
    lifecycle.get_by_role("button", name="Save the MQL rule").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved the MQL rule")

    # Sales: the queue, likeliest first; accept Ann, reject Bo with a reason.
    page.context.clear_cookies()
    log_in(page, "sam@acme-widgets.com")
    page.goto(f"/w/{workspace.slug}/mql/")
    rows = page.locator(".mql-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ann")
    expect(rows.first).to_contain_text("62 %")
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(page, "queue", width)
    rows.first.get_by_role("button", name="Accept").click()
    expect(page.locator(".flash-success")).to_contain_text("Accepted Ann")
    bo = page.locator(".mql-table tbody tr", has_text="Bo")
    bo.locator("summary", has_text="Reject").click()
    bo.get_by_label("Why?").fill("Personal email, student")
    shoot(page, "reject", width)
    bo.get_by_role("button", name="Reject lead").click()
    expect(page.locator(".flash-success")).to_contain_text("back to nurture")
    expect(page.locator(".mql-table")).to_have_count(0)
    assert Contact.objects.get(pk=people["ann"].pk).lifecycle_stage == "sql"
    assert Contact.objects.get(pk=people["bo"].pk).lifecycle_stage == "nurture"

    # The contact page's Score panel explains the grade.
    page.goto(f"/w/{workspace.slug}/contacts/{people['ann'].pk}/")
    panel = page.locator("#score")
    expect(panel).to_contain_text("Senior job title")
    expect(panel).to_contain_text("Sales-qualified lead")
    shoot(page, "contact", width)
    assert not page.javascript_errors
