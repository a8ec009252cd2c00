"""A salesperson opens a lead and reads why it scores what it scores, in a real browser on
a desktop and on a phone: the engagement points by rule (as given and after decay), the
fit rules it matched, and the conversion probability with the factors behind it, from a
model trained on the workspace's own history. Set LEADFLOW_SCREENSHOTS=<dir> to keep
screenshots."""

import datetime as dt
import os
import re
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.contacts.activity_log import activities_deliver
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.scoring import services
from leadflow.scoring.services.training import model_train
from leadflow.tracking.models import Event
from tests.conftest import PASSWORD
from tests.scoring.history import SITE, history_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS_SCROLL = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_salesperson_reads_why_a_lead_scores_what_it_scores(
    page, workspace, owner_actor, make_member, width
):
    seller = make_member("sales", "sam@acme-widgets.com")
    history_make(workspace, contacts=260)
    model_train(workspace=workspace, families=["frequency", "logistic"])
    lead = contact_upsert(
        workspace=workspace,
        data={
            "email": "dana@initech.com",
            "first_name": "Dana",
            "job_title": "Head of Operations",
            "owner_id": seller.user_id,
            "custom_fields": {"budget": 90000},
        },
        actor=owner_actor,
    ).contact
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            workspace_id=workspace.pk,
            event_id=uuid.uuid4(),
            contact_id=lead.pk,
            event_type="pageview",
            url=f"{SITE}/pricing",
            occurred_at=now - dt.timedelta(days=days),
        )
        for days in (1, 2, 40)
    )
    activities_deliver(workspace_id=workspace.pk)  # the worker: the subscriber scores her
    services.contacts_rescore(workspace_id=workspace.pk, contact_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.engagement_score > 0
    assert lead.conversion_probability is not None

    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/login/")
    page.get_by_label("Email").fill("sam@acme-widgets.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))
    page.goto(f"/w/{workspace.slug}/contacts/{lead.pk}/")

    panel = page.locator("#score")
    expect(panel.get_by_role("heading", name="Score")).to_be_visible()
    expect(panel.locator(".score-number")).to_have_text(
        str(round(Contact.objects.get(pk=lead.pk).engagement_score))
    )
    why = panel.locator("details.score-why")
    if not why.evaluate("element => element.open"):
        why.locator("summary").click()
    breakdown = why.locator("[data-engagement-breakdown] table")
    expect(breakdown).to_be_visible()
    # The pricing visits gave points; the one 40 days ago is worth less than given.
    expect(breakdown).to_contain_text(re.compile(r"[Pp]ricing"))
    expect(why).to_contain_text("a point halves every 30 days")
    expect(why.get_by_role("heading", name="Probability")).to_be_visible()
    factors = why.locator("h3:has-text('Probability') + ul li")
    expect(factors.first).to_be_visible()
    assert 1 <= factors.count() <= 5
    directory = os.environ.get("LEADFLOW_SCREENSHOTS")
    if directory:
        page.screenshot(path=f"{directory}/contact-score-{width}.png", full_page=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 1
