"""Flows and conversations through the API: a bad graph refused naming the step, publish
creating versions, transcripts, scopes, and another workspace's ids answering 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.chat import services
from leadflow.core.models import ApiScope

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
            "next": "bye",
        },
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ],
}


def test_a_flow_is_created_published_and_listed(api):
    created = api.post(
        "/chat/flows",
        {"name": "Pricing bot", "graph": GRAPH, "page_rules": {"include": ["/pricing*"]}},
    )
    assert created.status_code == 201, created.content
    flow = created.json()
    assert flow["status"] == "draft" and flow["current_version"] is None
    published = api.post(f"/chat/flows/{flow['id']}/publish")
    assert published.status_code == 201 and published.json()["number"] == 1
    again = api.post(f"/chat/flows/{flow['id']}/publish")
    assert again.json()["number"] == 2
    got = api.get(f"/chat/flows/{flow['id']}").json()
    assert got["status"] == "active" and got["current_version"] == 2
    assert got["graph"]["start"] == "hi"
    listed = api.get("/chat/flows").json()
    assert [item["id"] for item in listed["items"]] == [flow["id"]]


def test_a_bad_graph_is_refused_naming_the_step(api):
    broken = {
        "start": "hi",
        "steps": [
            {"id": "hi", "kind": "message", "text": "Hello", "next": "nowhere"},
            {"id": "lost", "kind": "end"},
        ],
    }
    response = api.post("/chat/flows", {"name": "Broken", "graph": broken})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {"graph.steps[0]": "Step hi leads to 'nowhere', which is not a step."}
    bad_condition = {
        "start": "c",
        "steps": [
            {
                "id": "c",
                "kind": "condition",
                "branches": [{"when": {"field": "shoe_size", "operator": "eq"}, "next": "e"}],
                "otherwise": "e",
            },
            {"id": "e", "kind": "end"},
        ],
    }
    response = api.post("/chat/flows", {"name": "Broken", "graph": bad_condition})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "graph.steps[0].branches[0].when.field"
    ]
    response = api.post("/chat/flows", {"name": "", "colour": "red"})
    assert response.status_code == 422
    assert "colour" in response.content.decode()


def test_conversations_are_listed_with_their_transcript(workspace, api, owner_actor):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    for number in range(3):
        started = services.conversation_start(
            workspace=workspace, visitor_id=f"visitor-{number:04}"
        )
    services.conversation_message_post(
        workspace=workspace, token=started.token, text="ann@initech.com", client_id="client-0001"
    )
    api.get("/chat/conversations")  # the key's first use of the minute writes its last use
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/chat/conversations")
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 3
    few = len(queries)
    services.conversation_start(workspace=workspace, visitor_id="visitor-0100")
    with CaptureQueriesContext(connection) as queries:
        api.get("/chat/conversations")
    assert len(queries) == few  # no query per row
    detail = api.get(f"/chat/conversations/{started.conversation.pk}").json()
    assert [m["author"] for m in detail["messages"]] == ["bot", "bot", "visitor", "bot"]
    assert detail["answers"] == {"email": "ann@initech.com"}
    assert detail["status"] == "closed" and detail["contact_id"]
    waiting = api.get("/chat/conversations", status="closed")
    assert waiting.status_code == 200


def test_another_workspaces_flows_and_conversations_answer_404(
    workspace, other_api, owner_actor, api_key_for
):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    started = services.conversation_start(workspace=workspace)
    assert other_api.get(f"/chat/flows/{flow.pk}").status_code == 404
    assert other_api.patch(f"/chat/flows/{flow.pk}", {"name": "Mine"}).status_code == 404
    assert other_api.post(f"/chat/flows/{flow.pk}/publish").status_code == 404
    assert other_api.delete(f"/chat/flows/{flow.pk}").status_code == 404
    assert other_api.get(f"/chat/conversations/{started.conversation.pk}").status_code == 404
    assert other_api.get("/chat/conversations").json()["items"] == []
    reader = api_key_for(workspace, scopes=[ApiScope.FORMS_READ])
    assert reader.get(f"/chat/flows/{flow.pk}").status_code == 200
    assert reader.post("/chat/flows", {"name": "x"}).status_code == 403
    assert reader.get("/chat/conversations").status_code == 403


@pytest.mark.parametrize("with_conversation", [False, True])
def test_a_flow_that_ran_is_kept_for_its_transcripts(
    workspace, api, owner_actor, with_conversation
):
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    if with_conversation:
        services.conversation_start(workspace=workspace)
    response = api.delete(f"/chat/flows/{flow.pk}")
    assert response.status_code == (409 if with_conversation else 204)
