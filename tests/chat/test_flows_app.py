"""The chat pages in the app: the form-based step editor (create, add a step, an error shown on
the step at fault, publish), the conversation list and its read-only transcript, roles and
another workspace's ids."""

import pytest
from django.test import Client

from leadflow.chat import services
from leadflow.chat.models import Flow
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from tests.web.conftest import url

GRAPH = {
    "start": "hi",
    "steps": [
        {"id": "hi", "kind": "message", "text": "Hello", "next": "email"},
        {
            "id": "email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "size",
        },
        {
            "id": "size",
            "kind": "question",
            "text": "Team size?",
            "input": "choice",
            "choices": [{"value": "small", "label": "1-10"}, {"value": "big", "next": "bye"}],
            "next": "c",
        },
        {
            "id": "c",
            "kind": "condition",
            "branches": [
                {
                    "when": {"field": "answer.size", "operator": "eq", "value": "small"},
                    "next": "bye",
                }
            ],
            "otherwise": "bye",
        },
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ],
}


@pytest.fixture
def client_for(make_member):
    def make(role):
        membership = make_member(role)
        client = Client()
        client.force_login(membership.user)
        return client, membership

    return make


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


def _post_flow(client, workspace, steps, path="chat/new/", **extra):
    data = {"name": "Site bot", "status": "draft", "priority": "0", "include": "/pricing*"}
    data["step_count"] = str(len(steps))
    for index, step in enumerate(steps):
        for key, value in step.items():
            data[f"steps-{index}-{key}"] = value
    data.update(extra)
    return client.post(url(workspace, path), data)


def test_a_flow_is_built_step_by_step_and_published(workspace, owner_client):
    steps = [
        {"id": "hi", "kind": "message", "text": "Hello", "next": "email"},
        {
            "id": "email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "c",
        },
        {
            "id": "c",
            "kind": "condition",
            "branches": "answer.email contains initech -> bye\ncity eq Oslo -> bye",
            "otherwise": "bye",
        },
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ]
    added = _post_flow(owner_client, workspace, steps, add="1", add_kind="tag")
    assert added.status_code == 200 and not Flow.objects.exists()  # only a new blank card
    assert 'name="steps-4-tag"' in added.content.decode()
    created = _post_flow(owner_client, workspace, steps)
    assert created.status_code == 302, created.content.decode()[:2000]
    flow = Flow.objects.get(workspace=workspace)
    assert [s["id"] for s in flow.draft["steps"]] == ["hi", "email", "c", "bye"]
    assert flow.draft["steps"][2]["branches"][1] == {
        "when": {"field": "city", "operator": "eq", "value": "Oslo"},
        "next": "bye",
    }
    assert flow.page_rules == {"include": ["/pricing*"], "exclude": []}
    page = owner_client.get(url(workspace, f"chat/{flow.pk}/"))
    assert page.status_code == 200
    assert "answer.email contains initech -&gt; bye" in page.content.decode()
    published = owner_client.post(url(workspace, f"chat/{flow.pk}/publish/"))
    assert published.status_code == 302
    flow.refresh_from_db()
    assert flow.current_version.number == 1 and flow.status == "active"
    listed = owner_client.get(url(workspace, "chat/"))
    assert "Site bot" in listed.content.decode()


def test_added_steps_get_ids_keep_their_cards_and_lead_to_the_step_below(workspace, owner_client):
    """As a marketer builds: add a message, a question and an end one after the other
    (each added card gets its own id and stays while the next is added), write what each
    says, leave every "next step" empty, save: each step leads to the one below it. Every
    label on the page names its own input."""
    import re

    steps: list[dict[str, str]] = []
    kinds: list[str] = []
    for kind in ("message", "question", "end"):
        html = _post_flow(owner_client, workspace, steps, add="1", add_kind=kind).content.decode()
        kinds.append(kind)
        inputs = re.findall(r"<input[^>]*>", html)
        ids = [
            re.search(r'value="([^"]*)"', tag).group(1)
            for tag in inputs
            if re.search(r'name="steps-\d+-id"', tag)
        ]
        steps = [{"id": value, "kind": kind} for value, kind in zip(ids, kinds, strict=True)]
    assert [step["id"] for step in steps] == ["message-1", "question-1", "end-1"]
    labels = re.findall(r'<label for="([^"]+)"', html)
    assert len(labels) == len(set(labels)), "two labels name the same input"
    for step, text in zip(steps, ("Hi!", "Your email?", "Thanks")):
        step["text"] = text
    steps[1] |= {"input": "email", "field": "email"}
    created = _post_flow(owner_client, workspace, steps)
    assert created.status_code == 302, created.content.decode()[:2000]
    graph = Flow.objects.get(workspace=workspace).draft
    assert [(step["id"], step.get("next")) for step in graph["steps"]] == [
        ("message-1", "question-1"),
        ("question-1", "end-1"),
        ("end-1", None),
    ]


def test_a_bad_step_is_shown_on_its_card(workspace, owner_client):
    steps = [
        {"id": "hi", "kind": "message", "text": "Hello", "next": "nowhere"},
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ]
    response = _post_flow(owner_client, workspace, steps)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Step hi leads to &#x27;nowhere&#x27;, which is not a step." in body
    assert not Flow.objects.exists()


def test_a_saved_graph_reads_back_into_the_same_form(workspace, owner_actor, owner_client):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    page = owner_client.get(url(workspace, f"chat/{flow.pk}/")).content.decode()
    assert "small | 1-10" in page and "big |  | bye" in page
    # Saving the page as shown changes nothing.
    from leadflow.web.views.chat import _step_form, _step_read

    assert [_step_read(_step_form(step)) for step in GRAPH["steps"]] == GRAPH["steps"]


def test_conversations_are_listed_and_read_as_transcripts(
    workspace, owner_actor, owner_client, client_for
):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    started = services.conversation_start(workspace=workspace, visitor_id="visitor-0001")
    services.conversation_message_post(
        workspace=workspace,
        token=started.token,
        text="<b>ann@initech.com</b>",
        client_id="c-0000001",
    )
    services.conversation_message_post(
        workspace=workspace, token=started.token, text="ann@initech.com", client_id="c-0000002"
    )
    listed = owner_client.get(url(workspace, "chat/conversations/"))
    assert listed.status_code == 200 and "ann@initech.com" in listed.content.decode()
    detail = owner_client.get(url(workspace, f"chat/conversations/{started.conversation.pk}/"))
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "&lt;b&gt;ann@initech.com&lt;/b&gt;" in body  # what a visitor typed is escaped
    assert "1-10" in body  # the choices offered
    # A salesperson sees their own contacts' conversations and the anonymous ones only.
    client, member = client_for("sales")
    other = services.conversation_start(workspace=workspace, visitor_id="visitor-0002")
    own = client.get(url(workspace, f"chat/conversations/{other.conversation.pk}/"))
    assert own.status_code == 200
    hidden = client.get(url(workspace, f"chat/conversations/{started.conversation.pk}/"))
    assert hidden.status_code == 404
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "ann@initech.com", "owner_id": member.user_id},
    )
    shown = client.get(url(workspace, f"chat/conversations/{started.conversation.pk}/"))
    assert shown.status_code == 200


def test_roles_and_another_workspaces_ids(workspace, other_workspace, owner_actor, client_for):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, f"chat/{flow.pk}/")).status_code == 200
    assert viewer.post(url(workspace, f"chat/{flow.pk}/"), {"name": "x"}).status_code == 403
    assert viewer.post(url(workspace, f"chat/{flow.pk}/publish/")).status_code == 403
    other_owner = Client()
    from leadflow.core.models import Membership

    other_owner.force_login(Membership.objects.get(workspace=other_workspace).user)
    assert other_owner.get(url(other_workspace, f"chat/{flow.pk}/")).status_code == 404
    assert other_owner.post(url(other_workspace, f"chat/{flow.pk}/publish/")).status_code == 404
