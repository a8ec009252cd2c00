"""The sales pages' forms take what anyone may post: NUL characters (refused for the whole
request with a 400 page naming the field), numbers no column holds, nonsense, and answer a
clear 4xx, never a 500, and store nothing. (A lone surrogate cannot be posted as a form:
it has no UTF-8; the API's fuzzing sends them in JSON.)"""

import pytest
from django.test import Client

from leadflow.contacts.models import Company, Contact
from leadflow.sales.models import AssignmentRule, FollowUp, LeadSnooze
from leadflow.sales.services import followup_create
from tests.web.conftest import url

BAD = ["\x00", "9" * 40, "-1", "1e400"]


@pytest.fixture
def browser(owner):
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


@pytest.mark.parametrize("bad", BAD)
def test_a_rules_deadline_fields(browser, workspace, bad):
    answer = browser.post(
        url(workspace, "settings/routing/rules/new/"),
        {
            "name": "R",
            "strategy": "round_robin",
            "fallback": "queue",
            "speed_to_lead": "1",
            "first_touch_minutes": bad,
            "escalate_after_minutes": bad,
            "breach_escalation": bad,
            "rule-match": "all",
        },
    )
    assert answer.status_code == (400 if bad == "\x00" else 422), answer.status_code
    if answer.status_code == 422:
        errors = set(answer.context["rule_errors"])
        assert {"first_touch_minutes", "escalate_after_minutes"} <= errors
    assert not AssignmentRule.objects.exists()


@pytest.mark.parametrize("bad", BAD)
def test_a_companys_account_owner(browser, workspace, make_contact, bad):
    contact = make_contact(email="kim@initech.com")
    answer = browser.post(
        url(workspace, f"companies/{contact.company_id}/edit/"),
        {"name": "Initech", "owner_id": bad},
    )
    assert answer.status_code == (400 if bad == "\x00" else 422), answer.status_code
    if answer.status_code == 422:
        assert "owner_id" in answer.context["errors"]
    assert Company.objects.get(pk=contact.company_id).owner_id is None


@pytest.mark.parametrize("bad", BAD)
def test_a_follow_ups_new_due_time(browser, workspace, contact, owner_actor, bad):
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call", "due_at": "2030-01-02T10:00"},
        actor=owner_actor,
    )
    answer = browser.post(
        url(workspace, f"followups/{followup.pk}/reschedule/"),
        {"due_at": bad},
        headers={"HX-Request": "true", "HX-Target": "followups"},
    )
    assert answer.status_code == (400 if bad == "\x00" else 422), answer.status_code
    assert FollowUp.objects.get(pk=followup.pk).due_at.year == 2030


@pytest.mark.parametrize("bad", BAD)
def test_a_snooze_until(browser, workspace, owner, owner_actor, make_contact, bad):
    contact = make_contact(email="lee@globex.com", owner_id=owner.pk)
    answer = browser.post(
        url(workspace, f"my-leads/{contact.pk}/snooze/"),
        {"until": bad},
        headers={"HX-Request": "true"},
    )
    assert 400 <= answer.status_code < 500, answer.status_code
    assert not LeadSnooze.objects.exists()
    assert Contact.objects.get(pk=contact.pk).owner_id == owner.pk
