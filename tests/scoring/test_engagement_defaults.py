"""The default rules of a new workspace: each one fires on what LeadFlow really writes
(the kinds' own writers and services, the tracker's event types), and nothing else."""

import pytest

from leadflow.contacts.kind_writers import form_submitted_data
from leadflow.contacts.services import (
    contact_consent_set,
    contact_update,
    contact_upsert,
    contacts_bulk_action,
)
from leadflow.scoring.models import EngagementRule
from leadflow.scoring.selectors import engagement_breakdown
from leadflow.scoring.services import contacts_rescore, profile_get
from leadflow.scoring.services.engagement import DEFAULT_RULES
from leadflow.tracking.models import Visitor
from leadflow.tracking.services import visitor_link
from tests.scoring.engagement_helpers import NOW, SYSTEM, activity, event, new_contact, score

pytestmark = pytest.mark.django_db
SITE = "https://www.acme-widgets.com"


def fired(workspace, contact) -> dict[str, tuple[int, int]]:
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[contact.pk], now=NOW)
    lines = engagement_breakdown(workspace, contact.pk, now=NOW).lines
    return {line.rule_name: (line.count, line.points) for line in lines}


def test_a_new_workspace_gets_the_default_rules_once(workspace):
    profile_get(workspace)
    profile_get(workspace)
    names = list(EngagementRule.objects.filter(workspace=workspace).values_list("name", flat=True))
    assert names == [rule["name"] for rule in DEFAULT_RULES]


def test_scoring_a_workspace_nobody_configured_installs_its_defaults(workspace):
    ada = new_contact(workspace)
    event(workspace, ada, url=f"{SITE}/")
    assert fired(workspace, ada) == {"Page viewed": (1, 1)}


def test_a_form_submission_gives_twenty(workspace):
    ada = new_contact(workspace)
    data = form_submitted_data(form="Contact us", values={"email": "ada@example.com"}, form_id=1)
    activity(workspace, ada, "form.submitted", data)
    assert fired(workspace, ada) == {"Form submitted": (1, 20)}


def test_page_views_give_one_each_up_to_ten_a_day_and_key_pages_more(workspace):
    ada = new_contact(workspace)
    for index in range(12):
        event(workspace, ada, url=f"{SITE}/blog/{index}", at=NOW.replace(hour=index))
    event(workspace, ada, url=f"{SITE}/pricing", at=NOW.replace(hour=13))
    event(workspace, ada, url=f"{SITE}/pricing?plan=pro", at=NOW.replace(hour=14))
    event(workspace, ada, url=f"{SITE}/book-a-demo", at=NOW.replace(hour=15))
    assert fired(workspace, ada) == {
        "Page viewed": (10, 10),
        "Pricing page viewed": (1, 10),
        "Demo page viewed": (1, 10),
    }


def test_clicks_replies_shares_and_follows(workspace):
    ada = new_contact(workspace)
    for _ in range(6):
        event(workspace, ada, "click", url=f"{SITE}/", name="Start trial")
    for kind in ("reply", "share", "follow", "follow"):
        event(workspace, ada, kind)
    assert fired(workspace, ada) == {
        "Call-to-action clicked": (5, 25),
        "Replied": (1, 10),
        "Shared": (1, 5),
        "Followed": (1, 5),
    }


def test_identifying_on_the_website_gives_five_once(workspace):
    ada = new_contact(workspace)
    for key in ("browser-1", "browser-2"):
        visitor = Visitor.objects.create(workspace=workspace, visitor_key=key)
        visitor_link(workspace=workspace, visitor=visitor, contact=ada, reason="identify")
    assert fired(workspace, ada) == {"Identified on the website": (1, 5)}


def test_withdrawing_consent_takes_twenty_five(workspace):
    ada = new_contact(workspace)
    contact_consent_set(workspace=workspace, contact=ada, status="granted", actor=SYSTEM)
    contact_consent_set(workspace=workspace, contact=ada, status="withdrawn", actor=SYSTEM)
    assert fired(workspace, ada) == {"Consent withdrawn": (1, -25)}


def test_careers_and_jobs_pages_take_ten_once_each(workspace):
    ada = new_contact(workspace)
    for path in ("/careers", "/careers/engineer", "/jobs/42"):
        event(workspace, ada, url=f"{SITE}{path}")
    got = fired(workspace, ada)
    assert got["Careers page viewed"] == (1, -10)
    assert got["Jobs page viewed"] == (1, -10)


@pytest.mark.parametrize("path", ["edit", "bulk", "upsert", "new"])
def test_marking_as_competitor_takes_a_hundred_however_the_tag_is_added(
    workspace, owner_actor, path
):
    ada = new_contact(workspace)
    if path == "edit":
        contact_update(
            workspace=workspace, contact_id=ada.pk, data={"tags": ["Competitor"]}, actor=owner_actor
        )
    elif path == "bulk":
        contacts_bulk_action(
            workspace=workspace,
            contact_ids=[ada.pk],
            action="tag",
            value="competitor",
            actor=owner_actor,
        )
    elif path == "upsert":
        contact_upsert(
            workspace=workspace,
            actor=SYSTEM,
            data={"email": "ada@example.com", "tags": ["competitor"]},
        )
    else:
        ada = contact_upsert(
            workspace=workspace, actor=SYSTEM, data={"email": "new@x.com", "tags": ["competitor"]}
        ).contact
    assert fired(workspace, ada) == {"Marked as competitor": (1, -100)}
    assert score(ada) == -100


def test_other_tags_and_other_edits_give_nothing(workspace, owner_actor):
    ada = new_contact(workspace)
    contact_update(
        workspace=workspace,
        contact_id=ada.pk,
        data={"tags": ["partner"], "first_name": "Ada"},
        actor=owner_actor,
    )
    assert fired(workspace, ada) == {}
