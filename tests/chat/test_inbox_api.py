"""The live inbox through the REST API (the key acts as the member who made it), the app's
actions and canned replies, and the emails through a real SMTP server (aiosmtpd): the
person a chat is handed to hears of it, and a transcript asked for by the visitor arrives
without the agents' notes."""

import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from leadflow.chat import services
from leadflow.chat.models import CannedReply, Conversation, ConversationStatus, Message
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.core.services import apikey_create
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401
from tests.chat.test_conversations import publish
from tests.chat.test_handover import GRAPH, SITE, actor_of, online, say, to_handover
from tests.conftest import ApiClient


@pytest.fixture
def flow(workspace, owner_actor):
    return publish(workspace, owner_actor, graph=GRAPH)


def key_of(workspace, user) -> ApiClient:
    _, secret = apikey_create(
        workspace=workspace, name=f"{user.email} key", scopes=None, actor=actor_of(workspace, user)
    )
    return ApiClient(secret)


def test_an_agent_works_a_chat_through_the_api(workspace, flow, sam, owner, api):
    sams_api = key_of(workspace, sam)
    token, reply = to_handover(workspace)  # nobody online: the queue
    conversation_id = reply.conversation.pk
    waiting = sams_api.get("/chat/inbox?view=unassigned").json()["items"]
    assert [item["id"] for item in waiting] == [conversation_id]
    assert sams_api.get("/chat/inbox?view=mine").json()["items"] == []

    claimed = sams_api.post(f"/chat/conversations/{conversation_id}/claim")
    assert claimed.status_code == 200 and claimed.json()["assignee_id"] == sam.pk
    taken = api.post(f"/chat/conversations/{conversation_id}/claim")  # the owner, too late
    assert taken.status_code == 409 and taken.json()["code"] == "conversation_taken"

    bad = sams_api.post(
        f"/chat/conversations/{conversation_id}/messages", {"text": " ", "client_id": "x"}
    )
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["client_id", "text"]
    body = {"text": "Hi, Sam here", "client_id": "reply-000001"}
    sent = sams_api.post(f"/chat/conversations/{conversation_id}/messages", body)
    again = sams_api.post(f"/chat/conversations/{conversation_id}/messages", body)
    assert sent.status_code == 201 and again.status_code == 200
    assert again.json()["seq"] == sent.json()["seq"]
    note = sams_api.post(
        f"/chat/conversations/{conversation_id}/messages",
        {"text": "VIP, be nice", "client_id": "note-000001", "internal": True},
    )
    assert note.json()["internal"] is True
    assert Message.objects.filter(conversation_id=conversation_id, author="agent").count() == 2

    thread = sams_api.get(f"/chat/conversations/{conversation_id}/messages?after=0").json()
    assert [m["text"] for m in thread[-2:]] == ["Hi, Sam here", "VIP, be nice"]
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    assert "VIP, be nice" not in [m.text for m in polled]

    closed = sams_api.post(f"/chat/conversations/{conversation_id}/close")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert sams_api.post("/chat/presence", {"away": True}).json()["away"] is True


def test_a_key_whose_maker_left_cannot_act(workspace, flow, sam):
    sams_api = key_of(workspace, sam)
    Membership.objects.filter(workspace=workspace, user=sam).delete()
    answer = sams_api.get("/chat/inbox")
    assert answer.status_code == 403 and answer.json()["code"] == "no_agent"


def test_canned_replies_through_the_api(api):
    made = api.post(
        "/chat/canned-replies", {"title": "Prices", "text": "From $10", "shortcut": "p"}
    )
    assert made.status_code == 201 and made.json()["shortcut"] == "/p"
    clash = api.post("/chat/canned-replies", {"title": "Other", "text": "x", "shortcut": "/p"})
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "shortcut"
    empty = api.post("/chat/canned-replies", {"title": "", "text": ""})
    assert sorted(e["field"] for e in empty.json()["errors"]) == ["text", "title"]
    changed = api.patch(f"/chat/canned-replies/{made.json()['id']}", {"text": "From $12"})
    assert changed.json()["text"] == "From $12" and changed.json()["title"] == "Prices"
    assert [r["title"] for r in api.get("/chat/canned-replies").json()] == ["Prices"]
    assert api.delete(f"/chat/canned-replies/{made.json()['id']}").status_code == 204
    assert not CannedReply.objects.exists()


def test_the_inbox_page_claims_replies_notes_and_closes(workspace, flow, sam):
    token, reply = to_handover(workspace)
    conversation_id = reply.conversation.pk
    CannedReply.objects.create(workspace=workspace, title="Hello", text="Hello <b>there</b>")
    client = Client()
    client.force_login(sam)
    base = f"/w/{workspace.slug}/chat/inbox"
    listed = client.get(f"{base}/?view=unassigned")
    assert listed.status_code == 200 and f"{base}/{conversation_id}/".encode() in listed.content
    page = client.get(f"{base}/{conversation_id}/")
    assert b"Hello &lt;b&gt;there&lt;/b&gt;" in page.content  # escaped
    assert b"ann@initech.com" in page.content  # the captured answers beside the thread
    assert client.post(f"{base}/{conversation_id}/claim/").status_code == 302
    client.post(f"{base}/{conversation_id}/reply/", {"text": "<i>Hi</i>", "client_id": "web-00001"})
    client.post(
        f"{base}/{conversation_id}/reply/", {"text": "note!", "client_id": "web-00002", "note": "1"}
    )
    fragment = client.get(f"{base}/{conversation_id}/thread/?after=0")
    assert b"&lt;i&gt;Hi&lt;/i&gt;" in fragment.content and b"note!" in fragment.content
    assert b'data-seq="' in fragment.content
    last = Conversation.objects.get(pk=conversation_id).last_seq
    nothing = client.get(f"{base}/{conversation_id}/thread/?after={last}")
    assert nothing.status_code == 200 and b"inbox-msg" not in nothing.content
    refused = client.post(f"{base}/{conversation_id}/reply/", {"text": "", "client_id": "w"})
    assert refused.status_code == 302  # back to the page with the message naming the field
    assert client.post(f"{base}/{conversation_id}/close/").status_code == 302
    assert Conversation.objects.get(pk=conversation_id).status == ConversationStatus.CLOSED
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    assert [m.text for m in polled if m.author == "agent"] == ["<i>Hi</i>"]
    assert (
        client.post(f"/w/{workspace.slug}/chat/inbox/presence/", {"away": "1"}).status_code == 302
    )
    viewer = Client()
    viewer_user = Membership.objects.create(
        workspace=workspace,
        user=type(sam).objects.create_user("viewer@acme-widgets.com", "pw-12345678"),
        role="viewer",
    ).user
    viewer.force_login(viewer_user)
    assert viewer.get(f"{base}/{conversation_id}/").status_code == 200
    assert viewer.post(f"{base}/{conversation_id}/claim/").status_code == 403


@pytest.mark.django_db(transaction=True)  # the worker sends what was committed
def test_the_agent_hears_of_the_chat_and_the_visitor_gets_the_transcript_by_email(
    smtp,  # noqa: F811
    workspace,
    owner_actor,
    sam,
):
    cache.clear()  # other tests' transcript requests (the rate limit's counts)
    flow = publish(workspace, owner_actor, graph=GRAPH)
    assert flow.pk
    workspace.allowed_origins = [SITE]
    workspace.save()
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "ann@initech.com", "owner_id": sam.pk},
    )
    online(workspace, sam)
    token, reply = to_handover(workspace)
    assert reply.conversation.assignee_id == sam.pk
    run_worker()
    [told] = [m for m in smtp.messages if m["X-Envelope-To"] == "sam@acme-widgets.com"]
    assert "Chat for you" in told["Subject"]
    agent = actor_of(workspace, sam)
    for text, internal in (("Hello Ann", False), ("internal: budget 5k", True)):
        services.agent_reply(
            workspace=workspace,
            conversation_id=reply.conversation.pk,
            actor=agent,
            text=text,
            client_id=uuid.uuid4().hex,
            internal=internal,
        )
    say(workspace, token, "Thanks!")
    asked = Client().post(
        "/e/chat/transcript",
        {"key": workspace.public_key, "token": token},  # no email: the contact's
        content_type="application/json",
        headers={"Origin": SITE},
    )
    assert asked.status_code == 202
    run_worker()
    [transcript] = [m for m in smtp.messages if m["X-Envelope-To"] == "ann@initech.com"]
    body = text_of(transcript)
    assert "Hello Ann" in body and "Thanks!" in body and "Sam" in body
    assert "budget" not in body and "budget" not in transcript.as_string()
