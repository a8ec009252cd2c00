"""Marketers' patterns run in linear time on what anonymous visitors send (RE2), and a pattern
RE2 cannot run is refused when it is saved, with a field error."""

import time
import uuid

import pytest

from leadflow.capture import services as capture_services
from leadflow.contacts.models import Contact, CustomField
from leadflow.core.errors import ValidationFailed
from leadflow.core.patterns import pattern_fullmatch, pattern_problem
from leadflow.tracking import services as tracking_services
from leadflow.tracking.channels import classify
from leadflow.tracking.models import ChannelRule
from tests.capture.conftest import PublicClient

# (a+)+b backtracks exponentially in Python's re: 26 characters took ~2 s there, 28 took 9 s.
EVIL = "(a+)+b"
WORST = "a" * 26 + "c"
BUDGET_SECONDS = 0.5


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_the_worst_case_pattern_answers_at_once_even_on_100000_characters():
    for text in (WORST, "a" * 100_000 + "c"):
        matched, seconds = timed(lambda text=text: pattern_fullmatch(EVIL, text))
        assert matched is False and seconds < BUDGET_SECONDS


@pytest.fixture
def evil_form(workspace, owner_actor, settings):
    settings.LEADFLOW_FORM_RATE_PER_IP = 0
    return capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Code",
            "min_fill_seconds": 0,
            "fields": [
                {"name": "email", "type": "email", "required": True, "maps_to": "email"},
                {"name": "code", "type": "text", "pattern": EVIL},
            ],
        },
    )


def test_a_form_field_pattern_on_anonymous_input_answers_within_the_budget(evil_form):
    public = PublicClient(evil_form)
    ok = public.submit({"email": "jane@initech.com", "code": "aaab"})  # also warms up
    assert ok.status_code == 201
    token = public.config().json()["token"]
    response, seconds = timed(
        lambda: public.submit(
            {"email": "jane@initech.com", "code": WORST}, submission_id=uuid.uuid4(), token=token
        )
    )
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert seconds < BUDGET_SECONDS + 0.5  # the request around the match


def test_a_custom_field_pattern_on_api_input_answers_within_the_budget(workspace, api):
    CustomField.objects.create(
        workspace=workspace, key="code", label="Code", field_type="text", pattern=EVIL
    )
    body = {"email": "jane@initech.com", "custom_fields": {"code": WORST}}
    response, seconds = timed(lambda: api.post("/contacts", body))
    assert response.status_code == 422
    assert seconds < BUDGET_SECONDS + 0.5
    assert not Contact.objects.exists()


def test_a_channel_rule_pattern_on_a_visitors_utm_answers_within_the_budget(workspace):
    rule = ChannelRule(workspace=workspace, channel="affiliate", utm_source=EVIL)
    touch, seconds = timed(
        lambda: classify(
            utm={"utm_source": WORST},
            click_ids={},
            referrer="",
            landing_page="https://www.acme-widgets.com/",
            workspace_rules=[rule],
        )
    )
    assert touch.channel != "affiliate" and seconds < BUDGET_SECONDS


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)a", "a{1001}", "(a{1000}){1000}"])
def test_a_pattern_re2_cannot_run_is_refused_when_saved_with_a_field_error(
    workspace, owner_actor, api, pattern
):
    assert pattern_problem(pattern)
    response = api.post(
        "/custom-fields", {"label": "Code", "field_type": "text", "pattern": pattern}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["pattern"]
    with pytest.raises(ValidationFailed) as failure:
        capture_services.form_create(
            workspace=workspace,
            actor=owner_actor,
            data={"name": "F", "fields": [{"name": "code", "type": "text", "pattern": pattern}]},
        )
    assert [e.field for e in failure.value.errors] == ["fields[0].pattern"]
    with pytest.raises(ValidationFailed) as failure:
        tracking_services.channel_rule_create(
            workspace=workspace, actor=owner_actor, data={"channel": "email", "utm_source": pattern}
        )
    assert [e.field for e in failure.value.errors] == ["utm_source"]


def test_a_stored_pattern_re2_cannot_run_never_refuses_a_lead(evil_form):
    evil_form.fields[1]["pattern"] = r"(a)\1"
    evil_form.save(update_fields=["fields"])
    response = PublicClient(evil_form).submit({"email": "jane@initech.com", "code": "zz"})
    assert response.status_code == 201
