"""The chat widget's server side: the tracker loads the launcher only while the chat may
show, GET /e/chat/config per page (CORS, cache, the flow's proactive start), the consent a
new conversation needs where the workspace asks for it, the chat settings (service, API,
Settings page) and the flow's proactive start (service, API, editor), each refusal naming
its field; and the scripts' sizes."""

import gzip
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client

from leadflow.chat import services
from leadflow.chat.models import ChatSettings, Conversation, Flow
from leadflow.chat.widget import text_colour_on
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import ApiScope, AuditEntry
from tests.chat.test_conversations import SITE, publish
from tests.web.conftest import url

LAUNCHER_LIMIT = 1700  # bytes gzipped: the launcher loads on every page of the site
WIDGET_LIMIT = 35 * 1024  # the chat UI (script and styles), loaded on the first click


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    """No per-process cache between a change and the next read; no shared rate buckets."""
    settings.LEADFLOW_PUBLIC_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def allowed(workspace):
    workspace.allowed_origins = [SITE]
    workspace.save()
    return workspace


def config(workspace, page_url=f"{SITE}/pricing", origin=SITE, key=None):
    return Client().get(
        "/e/chat/config",
        {"key": key or workspace.public_key, "page_url": page_url},
        headers={"Origin": origin},
    )


def errors_of(response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


# --- the tracker's hook and GET /e/chat/config -------------------------------------------------


def tracker_scripts(workspace) -> list[str]:
    response = Client().get("/e/config", {"key": workspace.public_key})
    return response.json().get("scripts", [])


def test_the_tracker_loads_the_launcher_only_while_an_enabled_chat_has_a_running_flow(
    allowed, owner_actor
):
    assert not [s for s in tracker_scripts(allowed) if "chat-launcher" in s]
    flow = services.flow_create(workspace=allowed, actor=owner_actor, data={"name": "Draft"})
    assert not [s for s in tracker_scripts(allowed) if "chat-launcher" in s]  # not published
    Flow.objects.filter(pk=flow.pk).delete()
    publish(allowed, owner_actor)
    launcher = [s for s in tracker_scripts(allowed) if "chat-launcher" in s]
    assert launcher == [f"/static/leadflow/chat-launcher.js?k={allowed.public_key}"]
    services.chat_settings_update(workspace=allowed, actor=owner_actor, changes={"enabled": False})
    assert not [s for s in tracker_scripts(allowed) if "chat-launcher" in s]


def test_the_config_names_the_flow_of_the_page_with_its_look_consent_and_proactive_start(
    allowed, owner_actor
):
    proactive = {"enabled": True, "message": "Questions about plans?", "scroll_percent": 50}
    pricing = publish(
        allowed, owner_actor, page_rules={"include": ["/pricing*"]}, proactive=proactive
    )
    services.chat_settings_update(
        workspace=allowed,
        actor=owner_actor,
        changes={"colour": "#FFD33D", "position": "left", "greeting": "Hi there"},
    )
    response = config(allowed)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Cache-Control"] == "public, max-age=60"
    assert "Origin" in response["Vary"]
    body = response.json()
    assert body["flow"] == pricing.pk
    assert body["launcher"] == {
        "label": "Chat with us",
        "colour": "#ffd33d",
        "text_colour": "#111827",  # dark text on a light yellow
        "position": "left",
    }
    assert body["greeting"] == "Hi there"
    assert body["consent"]["required"] is False and body["consent"]["text"]
    assert body["proactive"] == {
        "enabled": True,
        "message": "Questions about plans?",
        "delay_seconds": None,
        "scroll_percent": 50,
        "exit_intent": False,
        "once_per_days": 1,
    }
    assert body["script"].endswith("chat-widget.js") and body["style"].endswith(".css")
    # Another page of the site: no flow runs there, nothing to draw.
    assert config(allowed, page_url=f"{SITE}/blog/post").json() == {"flow": None}
    services.chat_settings_update(workspace=allowed, actor=owner_actor, changes={"enabled": False})
    assert config(allowed).json() == {"flow": None}


def test_a_chat_with_a_person_gets_the_look_on_pages_without_a_flow_while_the_chat_is_on(
    allowed, owner_actor
):
    publish(allowed, owner_actor, page_rules={"include": ["/pricing*"]})
    blog = f"{SITE}/blog/post"
    assert config(allowed, page_url=blog).json() == {"flow": None}
    live = (
        Client()
        .get(
            "/e/chat/config",
            {"key": allowed.public_key, "page_url": blog, "live": "1"},
            headers={"Origin": SITE},
        )
        .json()
    )
    assert live["flow"] is None and live["proactive"] is None
    assert live["launcher"]["label"] == "Chat with us"
    assert live["script"].endswith("chat-widget.js")
    # Switched off: nothing, live or not.
    services.chat_settings_update(workspace=allowed, actor=owner_actor, changes={"enabled": False})
    off = Client().get(
        "/e/chat/config",
        {"key": allowed.public_key, "page_url": blog, "live": "1"},
        headers={"Origin": SITE},
    )
    assert off.json() == {"flow": None}


def test_the_config_refuses_an_unknown_key_and_a_site_not_allowed(allowed, owner_actor):
    publish(allowed, owner_actor)
    assert config(allowed, key="pk_nobody").status_code == 404
    refused = config(allowed, origin="https://evil.example")
    assert refused.status_code == 403 and refused.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" in refused  # the script may read why
    preflight = Client().options(
        f"/e/chat/config?key={allowed.public_key}", headers={"Origin": SITE}
    )
    assert preflight.status_code == 204


def test_the_launcher_text_is_black_or_white_whichever_reads_better():
    assert text_colour_on("#1f6feb") == "#ffffff"
    assert text_colour_on("#ffffff") == "#111827"
    assert text_colour_on("#000000") == "#ffffff"


# --- consent at the start --------------------------------------------------------------------


def start(workspace, **body):
    return Client().post(
        "/e/chat/start",
        {"key": workspace.public_key, "page_url": f"{SITE}/", **body},
        content_type="application/json",
        headers={"Origin": SITE},
    )


def test_where_consent_is_asked_a_new_chat_needs_it_and_keeps_what_was_accepted(
    allowed, owner_actor
):
    publish(allowed, owner_actor)
    services.chat_settings_update(
        workspace=allowed,
        actor=owner_actor,
        changes={"consent_required": True, "consent_text": "We keep this chat."},
    )
    refused = start(allowed)
    assert refused.status_code == 422 and "consent" in errors_of(refused)
    assert start(allowed, consent="yes").status_code == 422
    assert not Conversation.objects.exists()
    started = start(allowed, consent=True)
    assert started.status_code == 201
    conversation = Conversation.objects.get()
    assert conversation.state["consent"]["text"] == "We keep this chat."
    assert conversation.state["consent"]["at"]
    # Resuming by token asks nothing again.
    resumed = start(allowed, token=started.json()["token"])
    assert resumed.status_code == 200 and resumed.json()["resumed"]


def test_without_a_consent_setting_a_chat_starts_as_before(allowed, owner_actor):
    publish(allowed, owner_actor)
    assert start(allowed).status_code == 201
    assert Conversation.objects.get().state["consent"] is None


def test_the_transcript_page_shows_the_consent_the_visitor_accepted(allowed, owner_actor, owner):
    publish(allowed, owner_actor)
    services.chat_settings_update(
        workspace=allowed, actor=owner_actor, changes={"consent_required": True}
    )
    start(allowed, consent=True)
    client = Client()
    client.force_login(owner)
    page = client.get(url(allowed, f"chat/conversations/{Conversation.objects.get().pk}/"))
    assert page.status_code == 200
    assert "Accepted the consent notice" in page.content.decode()


# --- the chat settings -----------------------------------------------------------------------


def test_the_settings_are_checked_field_by_field_and_saved_with_an_audit_entry(
    workspace, owner_actor
):
    with pytest.raises(ValidationFailed) as refused:
        services.chat_settings_update(
            workspace=workspace,
            actor=owner_actor,
            changes={
                "colour": "blue",
                "position": "top",
                "launcher_label": " ",
                "privacy_url": "javascript:alert(1)",
                "enabled": "yes",
                "agent_capacity": 3,
            },
        )
    fields = {error.field for error in refused.value.errors}
    assert fields == {
        "colour",
        "position",
        "launcher_label",
        "privacy_url",
        "enabled",
        "agent_capacity",
    }
    assert not ChatSettings.objects.exists()
    with pytest.raises(ValidationFailed) as refused:
        services.chat_settings_update(
            workspace=workspace,
            actor=owner_actor,
            changes={"consent_required": True, "consent_text": ""},
        )
    assert [error.field for error in refused.value.errors] == ["consent_text"]
    saved = services.chat_settings_update(
        workspace=workspace,
        actor=owner_actor,
        changes={"colour": "#10B981", "launcher_label": "Ask us", "consent_required": True},
    )
    assert (saved.colour, saved.launcher_label, saved.consent_required) == (
        "#10b981",
        "Ask us",
        True,
    )
    assert saved.agent_capacity == 5  # not the widget's to change
    entry = AuditEntry.objects.get(action="chat_settings.updated")
    assert set(entry.changes) == {"colour", "launcher_label", "consent_required"}


def test_the_settings_api_reads_and_changes_them_naming_bad_fields(api, api_key_for, workspace):
    assert api.get("/chat/settings").json()["launcher_label"] == "Chat with us"
    changed = api.put("/chat/settings", {"greeting": "Hello!", "position": "left"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["greeting"] == "Hello!" and changed.json()["position"] == "left"
    bad = api.put("/chat/settings", {"colour": "#12345", "privacy_url": "nope"})
    assert bad.status_code == 422
    assert set(errors_of(bad)) == {"colour", "privacy_url"}
    reader = api_key_for(workspace, [ApiScope.FORMS_READ])
    assert reader.get("/chat/settings").status_code == 200
    assert reader.put("/chat/settings", {"greeting": "x"}).status_code == 403


def test_the_settings_page_saves_and_shows_each_refusal_beside_its_field(workspace, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(url(workspace, "settings/chat-widget/"))
    assert page.status_code == 200
    assert "chat-launcher.js?k=" + workspace.public_key in page.content.decode()
    form = {
        "enabled": "on",
        "launcher_label": "Ask us",
        "colour": "#zzzzzz",
        "position": "right",
        "greeting": "",
        "consent_text": "We keep this chat.",
        "privacy_url": "",
        "offline_message": "Back soon.",
    }
    refused = client.post(url(workspace, "settings/chat-widget/"), form)
    assert refused.status_code == 422
    assert "A colour as #rrggbb" in refused.content.decode()
    assert not ChatSettings.objects.exists()
    saved = client.post(url(workspace, "settings/chat-widget/"), form | {"colour": "#0f766e"})
    assert saved.status_code == 302
    settings = ChatSettings.objects.get(workspace=workspace)
    assert (settings.colour, settings.launcher_label, settings.consent_required) == (
        "#0f766e",
        "Ask us",
        False,
    )


# --- the proactive start ----------------------------------------------------------------------


def test_a_proactive_start_is_checked_naming_each_field(api):
    bad = api.post(
        "/chat/flows",
        {
            "name": "Bot",
            "proactive": {"enabled": True, "delay_seconds": -1, "once_per_days": 900},
        },
    )
    assert bad.status_code == 422
    assert set(errors_of(bad)) == {"proactive.delay_seconds", "proactive.once_per_days"}
    no_trigger = api.post("/chat/flows", {"name": "Bot", "proactive": {"enabled": True}})
    assert set(errors_of(no_trigger)) == {"proactive.message", "proactive"}
    no_trigger = api.post(
        "/chat/flows", {"name": "Bot", "proactive": {"enabled": True, "message": "Hi"}}
    )
    assert set(errors_of(no_trigger)) == {"proactive"}
    created = api.post(
        "/chat/flows",
        {"name": "Bot", "proactive": {"enabled": True, "message": "Hi", "exit_intent": True}},
    )
    assert created.status_code == 201, created.content
    assert created.json()["proactive"]["exit_intent"] is True
    flow_id = created.json()["id"]
    patched = api.patch(f"/chat/flows/{flow_id}", {"proactive": {"enabled": False}})
    assert patched.json()["proactive"]["enabled"] is False


def test_the_flow_editor_saves_the_proactive_start_and_shows_its_errors(workspace, owner):
    client = Client()
    client.force_login(owner)
    form = {
        "name": "Site bot",
        "status": "draft",
        "priority": "0",
        "step_count": "0",
        "proactive_enabled": "on",
        "proactive_message": "Need a hand?",
        "proactive_delay": "ten",
        "proactive_days": "1",
    }
    refused = client.post(url(workspace, "chat/new/"), form)
    assert refused.status_code == 422
    assert "A whole number from 0 to 3600." in refused.content.decode()
    assert not Flow.objects.exists()
    created = client.post(url(workspace, "chat/new/"), form | {"proactive_delay": "5"})
    assert created.status_code == 302
    flow = Flow.objects.get()
    assert flow.proactive["delay_seconds"] == 5 and flow.proactive["message"] == "Need a hand?"
    page = client.get(url(workspace, f"chat/{flow.pk}/")).content.decode()
    assert "Proactive start" in page and "Need a hand?" in page


# --- the scripts' sizes -----------------------------------------------------------------------


def _gzipped(*names: str) -> int:
    data = b""
    for name in names:
        path = finders.find(f"leadflow/{name}")
        assert path and "chat/static" in path
        data += Path(path).read_bytes()
    return len(gzip.compress(data, compresslevel=9))


def test_the_launcher_stays_small_and_the_chat_ui_under_35_kb_gzipped():
    assert _gzipped("chat-launcher.js") < LAUNCHER_LIMIT
    assert _gzipped("chat-widget.js", "chat-widget.css") < WIDGET_LIMIT
