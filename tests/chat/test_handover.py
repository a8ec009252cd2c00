"""Hand-over and the live inbox through the services and the public endpoints: routing (the
contact's owner online, the sales rules among online members with room, the queue, outside
working hours with the email asked for), "Talk to a person" idempotent by client id,
agents' replies seen by the visitor with the assignee, notes never seen by the visitor,
claim conflicts, return to the bot, close and rating, bad input naming fields."""

import datetime as dt
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from leadflow.chat import services
from leadflow.chat.models import AgentPresence, Conversation, ConversationStatus, Message
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Membership, Notification
from leadflow.sales.hours import WEEKDAYS
from leadflow.sales.models import FirstTouch, Strategy
from leadflow.sales.services import assignment_rule_create, team_create, team_member_add
from tests.chat.test_conversations import publish

SITE = "https://www.acme-widgets.com"

GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi!", "next": "email"},
        {
            "id": "email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "need",
        },
        {
            "id": "need",
            "kind": "question",
            "text": "What do you need?",
            "input": "text",
            "next": "person",
        },
        {"id": "person", "kind": "handover", "text": "Connecting you to a person."},
    ],
}


def say(workspace, token, text):
    return services.conversation_message_post(
        workspace=workspace, token=token, text=text, client_id=uuid.uuid4().hex
    )


def actor_of(workspace, user):
    return Actor.for_user(user, Membership.objects.get(workspace=workspace, user=user))


def online(workspace, *users, away=False):
    for user in users:
        AgentPresence.objects.update_or_create(
            workspace=workspace, user=user, defaults={"last_seen_at": timezone.now(), "away": away}
        )


def hours_not_today() -> dict:
    """Working hours only on the day after tomorrow (UTC): outside them now."""
    day = WEEKDAYS[(timezone.now().weekday() + 2) % 7]
    return {day: [["09:00", "17:00"]]}


@pytest.fixture
def flow(workspace, owner_actor):
    return publish(workspace, owner_actor, graph=GRAPH)


@pytest.fixture
def team(workspace, owner_actor, sam, kim):
    def make(hours=None, rule=True):
        team = team_create(workspace=workspace, name="Chat", actor=owner_actor)
        for user in (sam, kim):
            team_member_add(
                workspace=workspace,
                team_id=team.pk,
                user_id=user.pk,
                actor=owner_actor,
                settings={"working_hours": hours or {}},
            )
        if rule:
            assignment_rule_create(
                workspace=workspace,
                actor=owner_actor,
                data={"name": "Everyone", "strategy": Strategy.ROUND_ROBIN, "team_id": team.pk},
            )
        return team

    return make


def to_handover(workspace, email="ann@initech.com"):
    started = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    say(workspace, started.token, email)
    reply = say(workspace, started.token, "A quote please")
    return started.token, reply


def handover_message(reply):
    [message] = [m for m in reply.messages if "handover" in m.payload]
    return message


def test_the_contacts_owner_online_gets_the_chat(workspace, flow, sam, owner_actor):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "owner_id": sam.pk},
    )
    online(workspace, sam)
    _token, reply = to_handover(workspace)
    conversation = Conversation.objects.get(pk=reply.conversation.pk)
    assert conversation.status == ConversationStatus.ASSIGNED
    assert conversation.assignee_id == sam.pk and conversation.handover_at is not None
    payload = handover_message(reply).payload
    assert payload["handover"] == "assigned" and payload["assignee"] == "Sam"
    assert reply.as_json()["assignee"] == {"name": "Sam R."}
    kinds = list(
        Activity.objects.filter(contact=conversation.contact).values_list("kind", flat=True)
    )
    assert "chat.handover_requested" in kinds and "chat.routed" in kinds
    assert Notification.objects.filter(user=sam, title__startswith="Chat for you").count() == 1
    assert Notification.objects.get(user=sam, title__startswith="Chat for you").kind == "chat"


def test_an_owner_away_or_at_capacity_passes_to_the_rules_online_members(
    workspace, flow, sam, kim, owner_actor, team
):
    team()
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "ann@initech.com", "owner_id": sam.pk},
    )
    online(workspace, sam, away=True)
    online(workspace, kim)
    _, reply = to_handover(workspace)
    assert Conversation.objects.get(pk=reply.conversation.pk).assignee_id == kim.pk


def test_an_unowned_lead_routed_by_a_rule_is_the_agents_and_its_first_touch_clock_runs(
    workspace, flow, kim, team
):
    team()
    online(workspace, kim)
    _token, reply = to_handover(workspace)
    conversation = Conversation.objects.get(pk=reply.conversation.pk)
    assert conversation.assignee_id == kim.pk
    contact = Contact.objects.get(pk=conversation.contact_id)
    assert contact.owner_id == kim.pk
    clock = FirstTouch.objects.get(contact=contact)
    assert clock.touched_at is None

    services.agent_reply(
        workspace=workspace,
        conversation_id=conversation.pk,
        actor=actor_of(workspace, kim),
        text="Hi Ann, Kim here.",
        client_id="reply-0001",
    )
    conversation.refresh_from_db()
    assert conversation.first_agent_reply_at is not None
    replied = Activity.objects.get(contact=contact, kind="chat.replied")
    assert replied.actor_user_id == kim.pk  # the touch that stops the clock (sales.subscribers)


def test_capacity_passes_a_full_agent_over(workspace, flow, sam, kim, team):
    from leadflow.chat.models import ChatSettings

    ChatSettings.objects.create(workspace=workspace, agent_capacity=1)
    team()
    online(workspace, sam, kim)
    _, first = to_handover(workspace, "one@initech.com")
    _, second = to_handover(workspace, "two@initech.com")
    _, third = to_handover(workspace, "three@initech.com")
    assignees = [
        Conversation.objects.get(pk=reply.conversation.pk).assignee_id
        for reply in (first, second, third)
    ]
    assert sorted(assignees[:2]) == sorted([sam.pk, kim.pk])
    assert assignees[2] is None  # both hold one: the queue
    assert handover_message(third).payload["handover"] == "waiting"


def test_nobody_online_within_hours_leaves_the_chat_in_the_queue(workspace, flow, team):
    team()
    _, reply = to_handover(workspace)
    conversation = Conversation.objects.get(pk=reply.conversation.pk)
    assert conversation.status == ConversationStatus.WAITING and conversation.assignee is None
    payload = handover_message(reply).payload
    assert payload == {
        "handover": "waiting",
        "reason": "flow",
        "assignee": None,
        "reply_by": None,
        "ask_email": False,
    }


def test_outside_working_hours_the_visitor_is_told_when_and_asked_for_an_email(
    workspace, flow, team
):
    team(hours=hours_not_today())
    workspace.allowed_origins = [SITE]
    workspace.save()
    started = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    client = Client()
    answer = client.post(
        "/e/chat/handover",
        {"key": workspace.public_key, "token": started.token, "client_id": "talk-0001"},
        content_type="application/json",
        headers={"Origin": SITE},
    )
    assert answer.status_code == 201, answer.content
    [message] = answer.json()["messages"]
    payload = message["payload"]
    assert payload["handover"] == "offline" and payload["ask_email"] is True
    reply_by = dt.datetime.fromisoformat(payload["reply_by"])
    assert reply_by > timezone.now() and reply_by.time() == dt.time(9, 0)
    assert answer.json()["status"] == "waiting"

    refused = client.post(
        "/e/chat/email",
        {"key": workspace.public_key, "token": started.token, "email": "not an email"},
        content_type="application/json",
        headers={"Origin": SITE},
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["email"]
    saved = client.post(
        "/e/chat/email",
        {"key": workspace.public_key, "token": started.token, "email": "Ann@Initech.com"},
        content_type="application/json",
        headers={"Origin": SITE},
    )
    assert saved.status_code == 200
    assert saved.json()["messages"][0]["payload"] == {"email_saved": True}
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.contact.email == "ann@initech.com"
    assert Activity.objects.filter(contact=conversation.contact, kind="chat.answered").exists()


def test_talk_to_a_person_is_idempotent_and_never_reads_the_text(workspace, flow, sam):
    online(workspace, sam)
    started = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    reply = say(workspace, started.token, "I want to talk to a human please")
    assert reply.conversation.status == ConversationStatus.BOT  # the words hand nothing over
    first = services.conversation_handover_request(
        workspace=workspace, token=started.token, client_id="talk-0001"
    )
    again = services.conversation_handover_request(
        workspace=workspace, token=started.token, client_id="talk-0001"
    )
    other = services.conversation_handover_request(
        workspace=workspace, token=started.token, client_id="talk-0002"
    )
    assert not first.replayed and again.replayed and other.replayed
    assert [m.pk for m in again.messages] == [m.pk for m in first.messages]
    assert Message.objects.filter(conversation=started.conversation, author="system").count() == 1
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.status == ConversationStatus.WAITING  # anonymous: nobody owns it
    # The bot is stopped: the visitor's next message gets no bot answer.
    after = say(workspace, started.token, "hello?")
    assert [m.author for m in after.messages] == ["visitor"]


def test_notes_never_reach_the_visitor(workspace, flow, sam):
    online(workspace, sam)
    token, reply = to_handover(workspace)
    conversation_id = reply.conversation.pk
    agent = actor_of(workspace, sam)
    services.conversation_claim(workspace=workspace, conversation_id=conversation_id, actor=agent)
    services.agent_reply(
        workspace=workspace,
        conversation_id=conversation_id,
        actor=agent,
        text="Secret: offer 20% max",
        client_id="note-0001",
        internal=True,
    )
    services.agent_reply(
        workspace=workspace,
        conversation_id=conversation_id,
        actor=agent,
        text="Hello Ann!",
        client_id="reply-0001",
    )
    visitor_sees = []
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    visitor_sees += [m.text for m in polled]
    resumed = services.conversation_start(workspace=workspace, token=token)
    visitor_sees += [m["text"] for m in resumed.as_json()["messages"]]
    visitor_sees += [
        m["text"]
        for m in services.conversation_message_post(
            workspace=workspace, token=token, text="ok", client_id="visitor-01"
        ).as_json()["messages"]
    ]
    services.agent_reply(
        workspace=workspace,
        conversation_id=conversation_id,
        actor=agent,
        text="Another secret",
        client_id="note-0002",
        internal=True,
    )
    replay = services.conversation_message_post(
        workspace=workspace, token=token, text="ok", client_id="visitor-01"
    )
    assert replay.replayed
    visitor_sees += [m["text"] for m in replay.as_json()["messages"]]
    assert "Hello Ann!" in visitor_sees
    assert not any("ecret" in text for text in visitor_sees)
    [agent_message] = [m for m in polled if m.author == "agent"]
    assert agent_message.payload == {"agent": "Sam"}


def test_a_second_agent_cannot_claim_a_held_chat(workspace, flow, sam, kim, owner, team):
    team()
    token, reply = to_handover(workspace)  # nobody online: waiting
    conversation_id = reply.conversation.pk
    services.conversation_claim(
        workspace=workspace, conversation_id=conversation_id, actor=actor_of(workspace, kim)
    )
    with pytest.raises(services.ConversationTaken) as taken:
        services.conversation_claim(
            workspace=workspace, conversation_id=conversation_id, actor=actor_of(workspace, owner)
        )
    assert taken.value.status == 409 and "Kim Lee" in taken.value.detail
    with pytest.raises(NotFound):  # a salesperson no longer sees Kim's chat at all
        services.conversation_claim(
            workspace=workspace, conversation_id=conversation_id, actor=actor_of(workspace, sam)
        )
    # Claiming one's own again changes nothing; the visitor sees the assignee.
    services.conversation_claim(
        workspace=workspace, conversation_id=conversation_id, actor=actor_of(workspace, kim)
    )
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    joined = [m for m in polled if m.payload.get("handover") == "assigned"]
    assert len(joined) == 1 and joined[0].payload["assignee"] == "Kim"


def test_return_to_the_bot_continues_the_flow_at_a_step(workspace, flow, sam):
    online(workspace, sam)
    token, reply = to_handover(workspace)
    conversation_id = reply.conversation.pk
    agent = actor_of(workspace, sam)
    with pytest.raises(ValidationFailed) as bad:
        services.conversation_return_to_bot(
            workspace=workspace, conversation_id=conversation_id, actor=agent, step="nope"
        )
    assert bad.value.errors[0].field == "step"
    services.conversation_return_to_bot(
        workspace=workspace, conversation_id=conversation_id, actor=agent, step="need"
    )
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.status == ConversationStatus.BOT and conversation.assignee is None
    assert conversation.current_step == "need"
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    assert [m.text for m in polled[-2:]] == ["", "What do you need?"]  # the bot asks again
    answer = say(workspace, token, "Pricing")
    # The bot took the answer and handed over again at its hand-over step (nobody holds
    # the contact, no rule: the queue).
    assert answer.messages[-1].payload["handover"] == "waiting"


def test_close_asks_a_rating_and_puts_the_transcript_on_the_timeline(workspace, flow, sam):
    online(workspace, sam)
    token, reply = to_handover(workspace)
    conversation_id = reply.conversation.pk
    with pytest.raises(services.ConversationNotClosed):
        services.conversation_rate(workspace=workspace, token=token, rating=5)
    services.conversation_close(
        workspace=workspace, conversation_id=conversation_id, actor=actor_of(workspace, sam)
    )
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.status == ConversationStatus.CLOSED and conversation.closed_at
    closed = Activity.objects.get(contact=conversation.contact, kind="chat.closed")
    assert closed.data["transcript"].endswith(f"/chat/inbox/{conversation_id}/")
    _, polled = services.conversation_messages(workspace=workspace, token=token)
    assert polled[-1].payload == {"closed": True, "ask_rating": True}
    services.conversation_rate(workspace=workspace, token=token, rating=2, comment="slow")
    services.conversation_rate(workspace=workspace, token=token, rating=5, comment="great")
    conversation.refresh_from_db()
    assert (conversation.rating, conversation.rating_comment) == (5, "great")
    with pytest.raises(services.ConversationClosed):
        services.conversation_handover_request(
            workspace=workspace, token=token, client_id="talk-0009"
        )


def test_public_endpoints_refuse_bad_input_naming_each_field(workspace, flow):
    cache.clear()
    workspace.allowed_origins = [SITE]
    workspace.save()
    started = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    key, token = workspace.public_key, started.token

    def post(path, body):
        return Client().post(path, body, content_type="application/json", headers={"Origin": SITE})

    cases = [
        ("/e/chat/handover", {"key": key, "token": token, "client_id": "x"}, ["client_id"]),
        ("/e/chat/handover", {"key": key, "token": token, "client_id": "c" * 8, "z": 1}, ["z"]),
        ("/e/chat/email", {"key": key, "token": token, "email": 5}, ["email"]),
        (
            "/e/chat/rate",
            {"key": key, "token": token, "rating": 6, "comment": 3},
            ["rating", "comment"],
        ),
        ("/e/chat/rate", {"key": key, "token": token, "rating": True}, ["rating"]),
        ("/e/chat/transcript", {"key": key, "token": token, "email": "nope"}, ["email"]),
    ]
    for path, body, fields in cases:
        answer = post(path, body)
        assert answer.status_code == 422, (path, answer.content)
        assert [error["field"] for error in answer.json()["errors"]] == fields, path
    assert post("/e/chat/rate", {"key": key, "token": token, "rating": 4}).status_code == 409
    unknown = post("/e/chat/handover", {"key": key, "token": "bad", "client_id": "c" * 8})
    assert unknown.status_code == 404
    no_address = post("/e/chat/transcript", {"key": key, "token": token})
    assert no_address.status_code == 422  # anonymous and no email given


def test_transcript_requests_are_rate_limited(workspace, flow):
    cache.clear()
    workspace.allowed_origins = [SITE]
    workspace.save()
    started = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    body = {"key": workspace.public_key, "token": started.token, "email": "ann@initech.com"}
    codes = [
        Client()
        .post("/e/chat/transcript", body, content_type="application/json", headers={"Origin": SITE})
        .status_code
        for _ in range(4)
    ]
    assert codes == [202, 202, 202, 429]


def test_a_salesperson_sees_own_and_unassigned_chats_only(workspace, flow, sam, kim, owner):
    online(workspace, sam)
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "sams@initech.com", "owner_id": sam.pk},
    )
    _, sams = to_handover(workspace, "sams@initech.com")  # Sam's lead, Sam online: his
    AgentPresence.objects.all().delete()
    _, queued = to_handover(workspace, "queued@initech.com")  # nobody online: the queue
    kim_actor = actor_of(workspace, kim)
    with pytest.raises(NotFound):
        services.agent_reply(
            workspace=workspace,
            conversation_id=sams.conversation.pk,
            actor=kim_actor,
            text="hi",
            client_id="kim-00001",
        )
    from leadflow.chat import selectors

    seen = {c.pk for c in selectors.inbox_list(workspace, actor=kim_actor)}
    assert seen == {queued.conversation.pk}
    services.conversation_claim(
        workspace=workspace, conversation_id=queued.conversation.pk, actor=kim_actor
    )
    mine = {c.pk for c in selectors.inbox_list(workspace, actor=kim_actor, view="mine")}
    assert mine == {queued.conversation.pk}
    owner_sees = {c.pk for c in selectors.inbox_list(workspace, actor=actor_of(workspace, owner))}
    assert owner_sees == {sams.conversation.pk, queued.conversation.pk}
    # In the app: Kim gets 404 on Sam's chat, and sees her own.
    client = Client()
    client.force_login(kim)
    base = f"/w/{workspace.slug}/chat/inbox"
    assert client.get(f"{base}/{sams.conversation.pk}/").status_code == 404
    assert client.get(f"{base}/{sams.conversation.pk}/thread/?after=0").status_code == 404
    assert client.post(f"{base}/{sams.conversation.pk}/claim/").status_code == 404
    page = client.get(f"{base}/{queued.conversation.pk}/")
    assert page.status_code == 200
    assert b'data-conversation="' in page.content and b"data-last-seq" in page.content
