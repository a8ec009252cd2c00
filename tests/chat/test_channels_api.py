"""/api/v1/chat/channels: create, list, get, change, delete; no secret is ever answered
(the channel names environment variables and says whether each is set); bad fields are
named; the settings scopes guard it; another workspace's channel answers 404."""

import json

import pytest

from leadflow.chat import services
from leadflow.chat.models import Channel
from leadflow.core.models import AuditEntry
from tests.chat.channel_kit import secret_env

SECRET = "EAAG-this-is-the-access-token-777"


@pytest.fixture
def flow(workspace, owner_actor):
    return services.flow_create(workspace=workspace, actor=owner_actor, data={"name": "Bot"})


def test_a_channel_is_created_listed_changed_and_deleted(api, workspace, flow, monkeypatch):
    monkeypatch.setenv(secret_env(workspace, "WA"), SECRET)
    created = api.post(
        "/chat/channels",
        {
            "kind": "whatsapp",
            "name": "Support line",
            "flow": flow.pk,
            "account_id": "106540352242922",
            "token_env": secret_env(workspace, "WA"),
            "app_secret_env": secret_env(workspace, "WA_APP"),
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token_set"] is True and body["app_secret_set"] is False
    assert body["webhook_url"].endswith(f"/hooks/whatsapp/{Channel.objects.get().webhook_token}/")
    assert len(body["verify_token"]) == 32
    assert SECRET not in created.content.decode()
    channel_id = body["id"]

    listed = api.get("/chat/channels")
    assert [c["id"] for c in listed.json()] == [channel_id]
    assert SECRET not in listed.content.decode()

    old_url = body["webhook_url"]
    changed = api.patch(
        f"/chat/channels/{channel_id}",
        {"name": "Sales line", "enabled": False, "regenerate_webhook": True},
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Sales line" and changed.json()["enabled"] is False
    assert changed.json()["webhook_url"] != old_url
    assert api.get(f"/chat/channels/{channel_id}").json()["name"] == "Sales line"
    assert AuditEntry.objects.filter(workspace=workspace, action="chat.channel.updated").exists()
    assert SECRET not in json.dumps(list(AuditEntry.objects.values("changes")))

    assert api.delete(f"/chat/channels/{channel_id}").status_code == 204
    assert api.get(f"/chat/channels/{channel_id}").status_code == 404


def test_bad_settings_are_refused_naming_each_field(api, other_workspace, owner_actor):
    other_flow = services.flow_create(
        workspace=other_workspace, actor=owner_actor, data={"name": "Theirs"}
    )
    answer = api.post(
        "/chat/channels",
        {
            "kind": "messenger",
            "name": " ",
            "flow": other_flow.pk,
            "token_env": "HOME",
            "app_secret_env": "LEADFLOW_MESSENGER_x-y",
        },
    )
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"name", "flow", "token_env", "app_secret_env", "account_id"}
    assert api.post("/chat/channels", {"kind": "sms", "name": "x"}).status_code == 422
    assert Channel.objects.count() == 0


def test_a_channel_s_kind_never_changes(api, workspace):
    created = api.post("/chat/channels", {"kind": "telegram", "name": "Bot"}).json()
    answer = api.patch(f"/chat/channels/{created['id']}", {"kind": "whatsapp"})
    assert answer.status_code == 422  # not a field of a change
    assert Channel.objects.get().kind == "telegram"


def test_the_settings_scopes_guard_channels(api_key_for, workspace):
    reader = api_key_for(workspace, scopes=["settings:read"])
    assert reader.get("/chat/channels").status_code == 200
    assert reader.post("/chat/channels", {"kind": "telegram", "name": "Bot"}).status_code == 403
    outsider = api_key_for(workspace, scopes=["forms:write"])
    assert outsider.get("/chat/channels").status_code == 403


def test_another_workspace_s_channels_are_not_listed(api, other_api):
    other_api.post("/chat/channels", {"kind": "telegram", "name": "Theirs"})
    assert api.get("/chat/channels").json() == []


def test_set_webhook_without_a_token_says_why(api):
    created = api.post("/chat/channels", {"kind": "telegram", "name": "Bot"}).json()
    answer = api.post(f"/chat/channels/{created['id']}/webhook")
    assert answer.status_code == 409
    assert "token" in answer.json()["detail"]
    whatsapp = api.post(
        "/chat/channels", {"kind": "whatsapp", "name": "Line", "account_id": "1065403522"}
    ).json()
    assert api.post(f"/chat/channels/{whatsapp['id']}/webhook").status_code == 409
