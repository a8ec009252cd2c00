"""GET /e/config: the workspace settings the tracker script needs before it stores anything."""

import pytest
from django.test import Client

from .helpers import SITE


def get(key, *, origin=SITE):
    headers = {"Origin": origin} if origin else {}
    return Client().get("/e/config", {"key": key} if key is not None else {}, headers=headers)


def test_the_privacy_settings_for_an_allowed_site(workspace):
    workspace.allowed_origins = [SITE]
    workspace.tracking_requires_consent = True
    workspace.save()
    response = get(workspace.public_key)
    assert response.status_code == 200
    assert response.json() == {"respect_privacy_signals": True, "tracking_requires_consent": True}
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Vary"] == "Origin"
    assert response["Cache-Control"] == "public, max-age=300"


def test_any_site_when_the_workspace_lists_none(workspace):
    workspace.respect_privacy_signals = False
    workspace.save()
    response = get(workspace.public_key, origin="https://elsewhere.example")
    assert response.status_code == 200
    assert response.json() == {
        "respect_privacy_signals": False,
        "tracking_requires_consent": False,
    }


def test_a_site_that_is_not_allowed_is_refused_readably(workspace):
    workspace.allowed_origins = [SITE]
    workspace.save()
    response = get(workspace.public_key, origin="https://elsewhere.example")
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    # Readable by the script, which then stays off.
    assert response["Access-Control-Allow-Origin"] == "https://elsewhere.example"


@pytest.mark.parametrize("key", [None, "", "pk_unknown", "sk_secret", "pk_" + "x" * 60])
def test_unknown_keys(db, key):
    response = get(key)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_key"


def test_each_workspace_answers_for_itself(workspace, other_workspace):
    other_workspace.tracking_requires_consent = True
    other_workspace.save()
    assert get(workspace.public_key).json()["tracking_requires_consent"] is False
    assert get(other_workspace.public_key).json()["tracking_requires_consent"] is True


def test_preflight_and_methods(workspace):
    response = Client().options("/e/config", headers={"Origin": SITE})
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE
    assert Client().post("/e/config", {"key": workspace.public_key}).status_code == 405
