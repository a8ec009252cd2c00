"""The sequence, broadcast and text-message pages against input no field can hold: ids
and numbers far past 64 bits, NUL characters (refused by the middleware), unknown step
types and places. Every answer is a 4xx (or a redirect with a message), never a 500,
and nothing is written."""

import pytest

from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import Broadcast, Sequence, SmsSettings
from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
from leadflow.nurture.services.sequences import sequence_create

HUGE = "9" * 40


@pytest.fixture
def marketer(client_for):
    return client_for("marketer")


def test_sequence_pages_refuse_what_no_field_can_hold(workspace, marketer, owner_actor):
    base = f"/w/{workspace.slug}/sequences/"
    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "Drip", "steps": [{"id": 1, "type": "tag", "tag": "a"}]},
    )
    answers = [
        marketer.post(
            base + "new/",
            {"name": "X", "trigger_kind": "segment.entered", "trigger_segment_id": HUGE},
        ),
        marketer.post(base + "new/", {"name": "Y\x00"}),
        marketer.post(
            f"{base}{sequence.pk}/steps/new/",
            {"type": "wait", "after": HUGE, "link": "next", "wait_amount": HUGE},
        ),
        marketer.post(f"{base}{sequence.pk}/steps/new/", {"type": "teleport"}),
        marketer.post(
            f"{base}{sequence.pk}/steps/new/",
            {"type": "tag", "after": "1", "link": "sideways", "tag": "b"},
        ),
        marketer.post(f"{base}{sequence.pk}/steps/1/", {"tag": "x" * 500}),
        marketer.get(f"{base}{sequence.pk}/enrolments/?step={HUGE}&before={HUGE}"),
        marketer.get(f"{base}{HUGE}/"),
        marketer.post(f"{base}{sequence.pk}/enrol/", {"contacts": HUGE}),
    ]
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    assert [a.status_code for a in answers[:2]] == [422, 400]
    assert list(Sequence.objects.values_list("name", flat=True)) == ["Drip"]
    assert Sequence.objects.get().steps == [{"id": 1, "type": "tag", "tag": "a", "next": None}]


def test_broadcast_and_sms_pages_refuse_what_no_field_can_hold(workspace, marketer, client_for):
    admin = client_for("admin")
    answers = [
        marketer.post(
            f"/w/{workspace.slug}/broadcasts/new/",
            {
                "name": "N",
                "segment_id": HUGE,
                "A-template_id": HUGE,
                "A-identity_id": HUGE,
                "test_percent": HUGE,
                "min_sample": HUGE,
                "confidence": "1e400",
            },
        ),
        marketer.get(f"/w/{workspace.slug}/broadcasts/{HUGE}/"),
        admin.post(
            f"/w/{workspace.slug}/settings/sms/",
            {
                "api_base": "https://api.twilio.com",
                "account_sid": "A" * 500,
                "from_number": HUGE,
                "token_env": secret_name_base(workspace.pk, TOKEN_ENV_PREFIX) + "_" + "X" * 200,
            },
        ),
    ]
    # Each too-long field alone, the others right: refused, nothing stored.
    right = {
        "api_base": "https://api.twilio.com",
        "account_sid": "AC1",
        "from_number": "+14155550100",
        "token_env": secret_name_base(workspace.pk, TOKEN_ENV_PREFIX) + "_A",
    }
    for field, value in (
        ("api_base", "https://api.twilio.com/" + "a" * 400),
        ("token_env", secret_name_base(workspace.pk, TOKEN_ENV_PREFIX) + "_" + "X" * 200),
    ):
        answers.append(admin.post(f"/w/{workspace.slug}/settings/sms/", {**right, field: value}))
    assert [a.status_code for a in answers] == [422, 404, 422, 422, 422]
    assert not Broadcast.objects.exists() and not SmsSettings.objects.exists()
