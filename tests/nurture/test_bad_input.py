"""Nurture's API routes added this session answer hostile input with a clear 4xx naming
the field, never a 500, and write nothing: NUL bytes, lone surrogates, deep nesting, huge
numbers."""

import json

import pytest

from leadflow.nurture.models import Offer, PacingSettings

DEEP = {"a": 1}
for _ in range(200):
    DEEP = {"a": DEEP}


def raw_post(api, path: str, text: str):
    return api.client.post(
        f"/api/v1{path}", text, content_type="application/json", headers=api.headers
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"name": "Spring\x00sale"},
        {"name": "Spring", "priority": 10**40},
        {"name": "Spring", "valid_days": 10**40},
        {"name": "Spring", "interests": [DEEP]},
        {"name": "Spring", "interests": ["x" * 10_000]},
    ],
)
def test_a_bad_offer_is_refused_and_nothing_is_written(api, body):
    answer = api.post("/nurture/offers", body)
    assert 400 <= answer.status_code < 500, answer.content
    assert not Offer.objects.exists()


@pytest.mark.django_db
def test_a_lone_surrogate_in_raw_json_is_refused(api):
    answer = raw_post(api, "/nurture/offers", '{"name": "Spring \\ud800"}')
    assert 400 <= answer.status_code < 500
    assert not Offer.objects.exists()
    answer = raw_post(api, "/nurture/redemptions", '{"code": "\\ud800"}')
    assert 400 <= answer.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"cap_messages": 10**40},
        {"cap_days": -(10**40)},
        {"time_zone": "Europe/Paris\x00"},
        {"quiet_start": "25:99"},
        {"time_zone": DEEP},
    ],
)
def test_bad_pacing_is_refused_and_nothing_is_saved(api, body):
    answer = api.patch("/nurture/pacing", body)
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"][0]["field"].split(".")[0] in body
    assert not PacingSettings.objects.exists()


@pytest.mark.django_db
def test_a_huge_or_nested_redemption_is_refused(api):
    assert api.post("/nurture/redemptions", {"code": "x" * 81}).status_code == 422
    assert api.post("/nurture/redemptions", {"code": DEEP}).status_code == 422
    assert raw_post(api, "/nurture/redemptions", json.dumps({"code": "A\x00B"})).status_code in (
        400,
        404,
        422,
    )
