"""The workspace's chat policy (``chat.services.settings_policy``, Settings → Chat policy,
/api/v1/chat/policy): retention days, chats per person and the knowledge base's thresholds;
each bad field named (422), the thresholds changing the band a question falls in (answer,
suggestions, hand-over), and each workspace its own."""

import pytest
from django.test import Client

from leadflow.chat import knowledge, selectors
from leadflow.chat.knowledge_model import MODEL_ID
from leadflow.chat.models import ChatSettings
from leadflow.chat.services.settings_policy import chat_policy_update
from leadflow.core.actors import Actor
from leadflow.core.errors import PermissionDenied, ValidationFailed
from leadflow.core.models import AuditEntry, Membership

PASSWORDS = [
    ("How do I reset my password?", "Use “Forgot password” on the sign-in page."),
    ("How do I change my password?", "Profile → Security → Change password."),
    ("Can I change my email address?", "Profile → Account → Email."),
    ("Do you ship to Canada?", "Yes, in 5 to 7 days."),
]


@pytest.fixture
def lexical(settings, workspace, owner_actor):
    """The test set's password entries, ranked by their words (BM25: quick, no model)."""
    settings.LEADFLOW_KNOWLEDGE_MODEL = "off"
    for title, body in PASSWORDS:
        knowledge.entry_create(
            workspace=workspace, actor=owner_actor, data={"title": title, "body": body}
        )


def _set(workspace, actor, **data):
    return chat_policy_update(workspace, data, actor)


def test_the_defaults_until_saved_and_a_partial_update(workspace, owner_actor):
    assert ChatSettings.objects.count() == 0
    saved = _set(workspace, owner_actor, retention_days=90, kb_answer_floor=0.6)
    assert (saved.retention_days, saved.anonymous_retention_days) == (90, 30)
    assert (saved.agent_capacity, saved.kb_answer_floor, saved.kb_margin) == (5, 0.6, None)
    again = _set(workspace, owner_actor, agent_capacity="7", kb_answer_floor=None)
    assert (again.retention_days, again.agent_capacity, again.kb_answer_floor) == (90, 7, None)
    assert ChatSettings.objects.count() == 1
    audit = AuditEntry.objects.filter(action="chat.policy_updated").order_by("pk").last()
    assert audit.changes == {"agent_capacity": [5, 7], "kb_answer_floor": [0.6, None]}


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"retention_days": 0}, {"retention_days"}),
        ({"retention_days": 3651, "anonymous_retention_days": "x"}, {"retention_days",
                                                                     "anonymous_retention_days"}),
        ({"retention_days": True}, {"retention_days"}),
        ({"agent_capacity": 0}, {"agent_capacity"}),
        ({"agent_capacity": 51}, {"agent_capacity"}),
        ({"kb_answer_floor": 1.01}, {"kb_answer_floor"}),
        ({"kb_answer_floor": -0.1, "kb_margin": 0.51}, {"kb_answer_floor", "kb_margin"}),
        ({"kb_suggest_floor": "most"}, {"kb_suggest_floor"}),
        ({"kb_suggest_floor": float("nan")}, {"kb_suggest_floor"}),
        ({"kb_answer_floor": 0.5, "kb_suggest_floor": 0.6}, {"kb_suggest_floor"}),
        ({"kb_suggest_floor": 0.5}, {"kb_suggest_floor"}),  # above the calibrated 0.48
        ({"kb_answer_floor": 0.2}, {"kb_answer_floor"}),  # below the calibrated 0.30
        ({"colour": "#fff"}, {"colour"}),
    ],
)  # fmt: skip
def test_a_bad_policy_is_refused_naming_each_field(workspace, owner_actor, data, fields):
    with pytest.raises(ValidationFailed) as refused:
        _set(workspace, owner_actor, **data)
    assert {error.field for error in refused.value.errors} == fields
    assert not ChatSettings.objects.exists()


def test_the_suggestion_floor_may_equal_the_answer_floor(workspace, owner_actor):
    saved = _set(workspace, owner_actor, kb_answer_floor=0.4, kb_suggest_floor=0.4, kb_margin=0)
    assert (saved.kb_answer_floor, saved.kb_suggest_floor, saved.kb_margin) == (0.4, 0.4, 0.0)


def test_only_admins_change_it(workspace, make_member):
    marketer = make_member("marketer")
    with pytest.raises(PermissionDenied):
        _set(workspace, Actor.for_user(marketer.user, marketer), retention_days=10)
    assert selectors.chat_settings_get(workspace).retention_days == 365
    admin = make_member("admin")
    assert (
        _set(workspace, Actor.for_user(admin.user, admin), retention_days=10).retention_days == 10
    )


def test_the_thresholds_move_a_question_between_the_bands(workspace, owner_actor, lexical):
    question = "I forgot my password, how to reset it"
    before = knowledge.knowledge_answer(workspace, question, record=False)
    assert before.kind == "answer" and before.ranking == "bm25" and before.overridden == ()
    assert before.thresholds == knowledge.THRESHOLDS["bm25"]
    score = before.score
    assert 0.5 < score < 0.9  # room above it for a raised floor

    _set(workspace, owner_actor, kb_answer_floor=round(score + 0.01, 3))
    floor_raised = knowledge.knowledge_answer(workspace, question, record=False)
    assert floor_raised.kind == "suggest" and floor_raised.overridden == ("answer",)
    assert floor_raised.thresholds.answer == round(score + 0.01, 3)
    assert floor_raised.thresholds.suggest == knowledge.THRESHOLDS["bm25"].suggest

    _set(workspace, owner_actor, kb_suggest_floor=0.95, kb_answer_floor=0.95)
    handed_over = knowledge.knowledge_answer(workspace, question, record=False)
    assert handed_over.kind == "handover"

    _set(workspace, owner_actor, kb_answer_floor=None, kb_suggest_floor=None, kb_margin=0.5)
    margin_raised = knowledge.knowledge_answer(workspace, question, record=False)
    assert margin_raised.kind == "suggest" and margin_raised.overridden == ("margin",)

    vague = "password"
    _set(workspace, owner_actor, kb_margin=None)
    assert knowledge.knowledge_answer(workspace, vague, record=False).kind != "answer"
    _set(workspace, owner_actor, kb_answer_floor=0.0, kb_margin=0.0, kb_suggest_floor=0.0)
    assert knowledge.knowledge_answer(workspace, vague, record=False).kind == "answer"


def test_the_bot_answers_with_the_workspaces_thresholds(workspace, owner_actor, lexical):
    """The bot's seam (what a conversation's knowledge step says) follows the policy."""
    question = "I forgot my password, how to reset it"
    assert knowledge.knowledge_bot_answer(workspace=workspace, question=question).citation
    _set(workspace, owner_actor, kb_answer_floor=0.95, kb_suggest_floor=0.95)
    assert knowledge.knowledge_bot_answer(workspace=workspace, question=question) is None


def test_another_workspaces_policy_changes_nothing_here(
    workspace, other_workspace, lexical, owner_actor
):
    other_owner = Membership.objects.get(workspace=other_workspace, role="owner")
    other_actor = Actor.for_user(other_owner.user, other_owner)
    _set(other_workspace, other_actor, kb_answer_floor=1.0, kb_suggest_floor=1.0)
    answer = knowledge.knowledge_answer(workspace, "how do I reset my password", record=False)
    assert answer.kind == "answer" and answer.overridden == ()


# --- the API -------------------------------------------------------------------------------


def test_the_api_reads_and_changes_the_policy(api, other_api, workspace):
    read = api.get("/chat/policy")
    assert read.status_code == 200, read.content
    body = read.json()
    assert body["retention_days"] == 365 and body["anonymous_retention_days"] == 30
    assert body["kb_answer_floor"] is None
    assert body["calibrated"][MODEL_ID] == {"answer": 0.48, "margin": 0.04, "suggest": 0.3}
    changed = api.put("/chat/policy", {"retention_days": 100, "kb_margin": 0.1})
    assert changed.status_code == 200, changed.content
    assert changed.json()["retention_days"] == 100 and changed.json()["kb_margin"] == 0.1
    again = api.put("/chat/policy", {"retention_days": 100, "kb_margin": 0.1})
    assert again.json() == changed.json()  # a retry: the same
    reset = api.put("/chat/policy", {"kb_margin": None})
    assert reset.json()["kb_margin"] is None and reset.json()["retention_days"] == 100
    # The workspace is the key's: another workspace's policy is its own.
    assert other_api.get("/chat/policy").json()["retention_days"] == 365


def test_the_api_names_each_bad_field(api):
    refused = api.put(
        "/chat/policy",
        {"retention_days": 0, "agent_capacity": 99, "kb_margin": 0.9, "kb_answer_floor": 2},
    )
    assert refused.status_code == 422
    fields = {error["field"] for error in refused.json()["errors"]}
    assert fields == {"retention_days", "agent_capacity", "kb_margin", "kb_answer_floor"}
    band = api.put("/chat/policy", {"kb_answer_floor": 0.4, "kb_suggest_floor": 0.45})
    assert band.status_code == 422 and band.json()["errors"][0]["field"] == "kb_suggest_floor"
    unknown = api.put("/chat/policy", {"colour": "#fff"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "colour"
    nulled = api.put("/chat/policy", {"retention_days": None})
    assert nulled.status_code == 422 and nulled.json()["errors"][0]["field"] == "retention_days"


def test_trying_a_question_through_the_api_shows_the_thresholds(api, workspace, lexical):
    api.put("/chat/policy", {"kb_answer_floor": 0.9})
    tried = api.post("/chat/knowledge/try", {"question": "how do I reset my password"})
    assert tried.status_code == 200, tried.content
    thresholds = tried.json()["thresholds"]
    assert thresholds["answer"] == 0.9 and thresholds["overridden"] == ["answer"]
    assert thresholds["margin"] == knowledge.THRESHOLDS["bm25"].margin


# --- the app -------------------------------------------------------------------------------


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_page_shows_the_policy_and_the_calibrated_values(browser, workspace):
    page = browser.get(f"/w/{workspace.slug}/settings/chat-policy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="retention_days"' in html and 'value="365"' in html
    assert "Sentence model (MiniLM)" in html and "0.48" in html and "0.25" in html
    saved = browser.post(
        f"/w/{workspace.slug}/settings/chat-policy/",
        {
            "retention_days": "180",
            "anonymous_retention_days": "14",
            "agent_capacity": "3",
            "kb_answer_floor": "0.55",
            "kb_margin": "",
            "kb_suggest_floor": "0.35",
        },
    )
    assert saved.status_code == 302
    found = selectors.chat_settings_get(workspace)
    assert (found.retention_days, found.anonymous_retention_days, found.agent_capacity) == (
        180,
        14,
        3,
    )
    assert (found.kb_answer_floor, found.kb_margin, found.kb_suggest_floor) == (0.55, None, 0.35)


def test_the_page_refuses_bad_input_beside_each_field(browser, workspace):
    refused = browser.post(
        f"/w/{workspace.slug}/settings/chat-policy/",
        {
            "retention_days": "0",
            "anonymous_retention_days": "30",
            "agent_capacity": "5",
            "kb_answer_floor": "0.3",
            "kb_margin": "0.7",
            "kb_suggest_floor": "0.4",
        },
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'id="id_kb_margin_error"' in html and "A number from 0 to 0.5" in html
    assert "A whole number from 1 to 3650" in html
    assert 'value="0.7"' in html  # what was typed stays
    assert not ChatSettings.objects.exists()


def test_the_try_box_shows_the_thresholds_in_force(browser, workspace, owner_actor, lexical):
    _set(workspace, owner_actor, kb_margin=0.2)
    page = browser.get(f"/w/{workspace.slug}/chat/knowledge/")
    html = page.content.decode()
    assert 'id="try-thresholds"' in html and "leading the next entry by 0.20" in html
    assert "Set by this workspace's chat policy: margin" in html
    tried = browser.post(f"/w/{workspace.slug}/chat/knowledge/", {"question": "reset password"})
    assert "Thresholds in force (bm25)" in tried.content.decode()
