"""The stream endpoints' gates through Django's test client (the server-level claims are in
test_streams.py): stream_url in the start answer, the web tier refusing streams, the
capacity counter, CORS, bad input, roles and tenants, typing, and the notice that leaves
only after the commit."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.test import Client

from leadflow.chat import services
from leadflow.chat.live import HUB, Watch, live_notify
from leadflow.chat.stream import SLOTS
from leadflow.core.models import Membership
from tests.chat.stream_helpers import handover_conversation

SITE = "https://www.acme-widgets.com"


@pytest.fixture
def conversation(workspace, owner_actor):
    workspace.allowed_origins = [SITE]
    workspace.save()
    return handover_conversation(workspace, owner_actor)


@pytest.fixture
def stream_tier(settings):
    settings.LEADFLOW_STREAM_TIER = True
    settings.REDIS_URL = ""
    return settings


def close(response) -> None:
    """Close a stream never read, as the server does when the client goes (without the
    connection clean-up that would end this test's transaction, as Django's client does)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def stream_path(workspace, token, after=0):
    return "/e/chat/stream", {"key": workspace.public_key, "token": token, "after": after}


def agent_path(workspace, conversation_id, what="stream"):
    return f"/w/{workspace.slug}/chat/conversations/{conversation_id}/{what}/"


def test_the_start_answer_names_the_stream_url_only_when_streams_are_on(
    workspace, conversation, settings
):
    client = Client()
    body = {"key": workspace.public_key, "token": conversation.token}
    settings.LEADFLOW_CHAT_STREAM_URL = ""
    answer = client.post("/e/chat/start", body, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["stream_url"] is None
    settings.LEADFLOW_CHAT_STREAM_URL = "https://chat.example.com"
    answer = client.post("/e/chat/start", body, content_type="application/json")
    assert answer.json()["stream_url"] == "https://chat.example.com/e/chat/stream"
    settings.LEADFLOW_STREAMS = False
    answer = client.post("/e/chat/start", body, content_type="application/json")
    assert answer.json()["stream_url"] is None


def test_a_web_process_refuses_a_stream_at_once_so_the_widget_polls(
    workspace, conversation, settings
):
    settings.LEADFLOW_STREAM_TIER = False
    path, query = stream_path(workspace, conversation.token)
    answer = Client().get(path, query, headers={"Origin": SITE})
    assert answer.status_code == 503
    assert answer["Retry-After"] == "60"
    assert answer.json()["code"] == "stream_tier_only"
    assert answer["Access-Control-Allow-Origin"] == SITE  # the widget can read why
    settings.LEADFLOW_STREAMS = False
    assert Client().get(path, query).status_code == 404


def test_the_stream_past_capacity_is_refused_and_a_closed_one_gives_its_place_back(
    workspace, conversation, stream_tier
):
    stream_tier.LEADFLOW_STREAM_CAPACITY = 1
    path, query = stream_path(workspace, conversation.token)
    client = Client()
    held = client.get(path, query)
    assert held.status_code == 200 and held["Content-Type"] == "text/event-stream"
    assert SLOTS.held == 1
    refused = client.get(path, query)
    assert refused.status_code == 503 and refused["Retry-After"] == "10"
    assert refused.json()["code"] == "streams_full"
    close(held)  # never read: closing the response still releases the slot
    assert SLOTS.held == 0
    again = client.get(path, query)
    assert again.status_code == 200
    close(again)


def test_the_visitor_stream_checks_key_site_token_and_seq(workspace, conversation, stream_tier):
    client = Client()
    path, query = stream_path(workspace, conversation.token)
    allowed = client.get(path, query, headers={"Origin": SITE})
    assert allowed["Access-Control-Allow-Origin"] == SITE
    close(allowed)
    foreign = client.get(path, query, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "origin_not_allowed"
    assert client.get(path, {**query, "key": "pk_nope"}).status_code == 404
    assert client.get(path, {**query, "token": "forged"}).status_code == 404
    bad = client.get(path, {**query, "after": "-1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after"
    bad_header = client.get(path, query, headers={"Last-Event-ID": "x"})
    assert bad_header.status_code == 422
    preflight = client.options(f"{path}?key={workspace.public_key}", headers={"Origin": SITE})
    assert preflight.status_code == 204
    assert "Last-Event-ID" in preflight["Access-Control-Allow-Headers"]
    assert SLOTS.held == 0


def test_the_replay_starts_after_the_larger_of_after_and_last_event_id(
    workspace, conversation, stream_tier
):
    stream_tier.LEADFLOW_STREAM_SECONDS = 0  # end right after the replay
    path, query = stream_path(workspace, conversation.token, after=1)
    HUB.thread = _StartedThread()  # no waker thread in this process: the replay alone
    try:
        answer = Client().get(path, query, headers={"Last-Event-ID": "2"})
        body = b"".join(answer.streaming_content).decode()
    finally:
        HUB.thread = None
    ids = [line[4:] for line in body.splitlines() if line.startswith("id: ")]
    last = conversation.conversation.last_seq
    assert ids == [str(seq) for seq in range(3, last + 1)]
    assert "event: status" in body and '"status":"waiting"' in body
    assert SLOTS.held == 0


class _StartedThread:
    def is_alive(self) -> bool:
        return True


def test_members_stream_only_conversations_they_may_open(
    workspace, other_workspace, conversation, stream_tier, make_member
):
    owner = Client()
    owner.force_login(Membership.objects.get(workspace=workspace, role="owner").user)
    conversation_id = conversation.conversation.pk
    opened = owner.get(agent_path(workspace, conversation_id))
    assert opened.status_code == 200 and opened["Content-Type"] == "text/event-stream"
    close(opened)
    # Another workspace's owner: 404, whether through their workspace or this one.
    stranger = Client()
    stranger.force_login(Membership.objects.get(workspace=other_workspace).user)
    assert stranger.get(agent_path(other_workspace, conversation_id)).status_code == 404
    assert stranger.get(agent_path(workspace, conversation_id)).status_code == 404
    # A salesperson who sees only own leads: the one waiting in the queue, not another's.
    sales = make_member("sales")
    seller = Client()
    seller.force_login(sales.user)
    unassigned = seller.get(agent_path(workspace, conversation_id))
    assert unassigned.status_code == 200
    close(unassigned)
    # Held by another member: not the seller's (the queue's chats are everyone's).
    chat = conversation.conversation
    chat.assignee = Membership.objects.get(workspace=workspace, role="owner").user
    chat.status = "assigned"
    chat.save(update_fields=["assignee", "status"])
    assert seller.get(agent_path(workspace, conversation_id)).status_code == 404
    assert seller.post(agent_path(workspace, conversation_id, "typing")).status_code == 404
    chat.assignee = sales.user
    chat.save(update_fields=["assignee"])
    mine = seller.get(agent_path(workspace, conversation_id))
    assert mine.status_code == 200
    close(mine)
    assert SLOTS.held == 0


def test_typing_signals_are_checked_and_rate_limited(
    workspace, conversation, settings, make_member
):
    settings.LEADFLOW_CHAT_TYPING_RATE = 2
    client = Client()
    body = {"key": workspace.public_key, "token": conversation.token}
    post = lambda data: client.post("/e/chat/typing", data, content_type="application/json")  # noqa: E731
    assert post(body).status_code == 204
    assert post({**body, "text": "x"}).json()["errors"][0]["field"] == "text"
    assert post({**body, "token": "forged"}).status_code == 404
    assert post({**body, "key": "pk_nope"}).status_code == 404
    assert post(body).status_code == 204
    limited = post(body)
    assert limited.status_code == 429 and limited["Retry-After"]
    # A member's typing: CSRF enforced, viewers may not.
    conversation_id = conversation.conversation.pk
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(Membership.objects.get(workspace=workspace, role="owner").user)
    assert strict.post(agent_path(workspace, conversation_id, "typing")).status_code == 403
    viewer = Client()
    viewer.force_login(make_member("viewer").user)
    assert viewer.post(agent_path(workspace, conversation_id, "typing")).status_code == 403
    assert viewer.get(agent_path(workspace, conversation_id, "typing")).status_code in (403, 405)


def test_a_notice_leaves_after_the_commit_and_a_rolled_back_write_sends_none(
    workspace, conversation, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    conversation_id = conversation.conversation.pk
    watch = Watch(conversation_id)
    HUB.watches.setdefault(conversation_id, set()).add(watch)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_message_post(
                workspace=workspace, token=conversation.token, text="hi", client_id="c-00000001"
            )
        assert watch.queue.get_nowait() == ("message", None)
        assert watch.queue.empty()

        class Undone(Exception):
            pass

        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(Undone),
            transaction.atomic(),
        ):
            live_notify(conversation_id, "status")
            raise Undone
        assert watch.queue.empty()
        with pytest.raises(ValueError, match="unknown live event"):
            live_notify(conversation_id, "shout")
    finally:
        HUB.unwatch(watch)
