"""Conversations through the services and the public endpoints: answers stored as given and
applied through the lead-arrival service, the lead that exists when the visitor leaves
midway, retries stored once, gap-free sequence numbers under concurrent posters, resume by
token, public errors naming the field, tenant isolation."""

import datetime as dt
import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from leadflow.chat import services
from leadflow.chat.knowledge_seam import KnowledgeAnswer, knowledge_answerer_register
from leadflow.chat.models import Conversation, ConversationStatus, Message
from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound
from leadflow.tracking.models import Visitor

SITE = "https://www.acme-widgets.com"
VISITOR = "visitor-0001"

GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi! A few questions.", "next": "name"},
        {
            "id": "name",
            "kind": "question",
            "text": "Your first name?",
            "input": "text",
            "field": "first_name",
            "next": "email",
        },
        {
            "id": "email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "role",
        },
        {
            "id": "role",
            "kind": "question",
            "text": "Your role?",
            "input": "choice",
            "field": "job_title",
            "choices": [{"value": "Founder"}, {"value": "Marketer"}],
            "next": "size",
        },
        {"id": "size", "kind": "question", "text": "Team size?", "input": "number", "next": "sz"},
        {
            "id": "sz",
            "kind": "condition",
            "branches": [
                {
                    "when": {"field": "answer.size", "operator": "gt", "value": 50},
                    "next": "person",
                }
            ],
            "otherwise": "tag",
        },
        {"id": "tag", "kind": "tag", "tag": "chat-small", "next": "points"},
        {"id": "points", "kind": "score", "points": 5, "next": "bye"},
        {"id": "person", "kind": "handover", "text": "Connecting you to a person."},
        {"id": "bye", "kind": "end", "text": "Thanks, talk soon!"},
    ],
}


def publish(workspace, actor, graph=GRAPH, **data):
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Site bot", "graph": graph, **data}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    flow.refresh_from_db()
    return flow


def say(workspace, token, text, client_id=None):
    return services.conversation_message_post(
        workspace=workspace, token=token, text=text, client_id=client_id or uuid.uuid4().hex
    )


@pytest.fixture
def flow(workspace, owner_actor):
    return publish(workspace, owner_actor)


@pytest.fixture
def started(workspace, flow):
    return services.conversation_start(
        workspace=workspace, page_url=f"{SITE}/pricing", visitor_id=VISITOR
    )


def test_a_conversation_opens_with_the_bot_up_to_its_first_question(started):
    assert [m.text for m in started.messages] == ["Hi! A few questions.", "Your first name?"]
    assert [m.seq for m in started.messages] == [1, 2]
    assert started.conversation.status == ConversationStatus.BOT
    assert started.conversation.current_step == "name"


def test_each_answer_is_stored_as_given_and_the_lead_arrives_with_the_email(workspace, started):
    token = started.token
    say(workspace, token, "Ann")
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.state["engine"]["answers"] == {"name": "Ann"}
    assert conversation.contact_id is None  # no email or phone yet: nobody to store it on
    reply = say(workspace, token, "ANN@Initech.com")
    assert [m.author for m in reply.messages] == ["visitor", "bot"]
    assert reply.messages[0].text == "ANN@Initech.com"  # the transcript keeps what was typed
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    assert contact.first_name == "Ann"
    assert contact.lifecycle_stage == "lead"
    answered = Activity.objects.get(contact=contact, kind="chat.answered")
    assert answered.data["step"] == "email"
    assert answered.data["values"] == {"name": "Ann", "email": "ann@initech.com"}
    assert Activity.objects.filter(contact=contact, kind="chat.started").count() == 1
    # The browser joins the lead's history.
    assert Visitor.objects.get(workspace=workspace, visitor_key=VISITOR).contact_id == contact.pk
    say(workspace, token, "marketer")
    contact.refresh_from_db()
    assert contact.job_title == "Marketer"
    assert Activity.objects.filter(contact=contact, kind="chat.answered").count() == 2


def test_a_visitor_who_leaves_after_the_email_is_a_lead_marked_left_once(
    workspace, started, settings
):
    settings.LEADFLOW_CHAT_IDLE_MINUTES = 30
    say(workspace, started.token, "Ann")
    say(workspace, started.token, "ann@initech.com")
    anonymous = services.conversation_start(
        workspace=workspace, page_url=f"{SITE}/", visitor_id="visitor-0002"
    )
    later = timezone.now() + dt.timedelta(minutes=31)
    assert services.conversations_mark_left(now=later) == 2
    assert services.conversations_mark_left(now=later) == 0
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    left = Activity.objects.get(contact=contact, kind="chat.left")
    assert left.data["step"] == "role" and left.data["question"] == "Your role?"
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.left_at_step == "role"
    assert Conversation.objects.get(pk=anonymous.conversation.pk).left_at_step == "name"
    assert Activity.objects.filter(kind="chat.left").count() == 1  # the anonymous one has none


def test_a_retry_with_the_same_client_id_is_stored_once_and_answered_the_same(workspace, started):
    first = say(workspace, started.token, "Ann", client_id="client-0001")
    again = say(workspace, started.token, "Ann", client_id="client-0001")
    assert again.replayed and not first.replayed
    assert [m.pk for m in again.messages] == [m.pk for m in first.messages]
    messages = list(Message.objects.filter(conversation=started.conversation).order_by("seq"))
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
    assert sum(m.text == "Ann" for m in messages) == 1


def test_the_flow_ends_with_effects_on_the_contact(workspace, started):
    for text in ("Ann", "ann@initech.com", "Founder", "12"):
        reply = say(workspace, started.token, text)
    assert reply.messages[-1].text == "Thanks, talk soon!"
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.status == ConversationStatus.CLOSED
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    assert "chat-small" in set(contact.tags.values_list("name", flat=True))
    kinds = set(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert {"chat.started", "chat.answered", "chat.scored", "chat.ended"} <= kinds
    for activity in Activity.objects.filter(contact=contact, kind__startswith="chat."):
        # each payload has the one shape its kind registers
        assert set(activity.data) <= set(ACTIVITY_KINDS[activity.kind].payload_fields)
    with pytest.raises(services.ConversationClosed):
        say(workspace, started.token, "hello?")


def test_a_big_team_is_handed_to_a_person(workspace, started):
    for text in ("Ann", "ann@initech.com", "Founder", "120"):
        reply = say(workspace, started.token, text)
    conversation = Conversation.objects.get(pk=started.conversation.pk)
    assert conversation.status == ConversationStatus.WAITING
    assert reply.messages[-1].payload == {
        "handover": "waiting",  # nobody online: the queue (tests/chat/test_handover.py)
        "reason": "flow",
        "assignee": None,
        "reply_by": None,
        "ask_email": False,
    }
    assert Activity.objects.filter(kind="chat.handover_requested").count() == 1
    # The bot is done: the visitor's next message waits for the person.
    after = say(workspace, started.token, "Are you there?")
    assert [m.author for m in after.messages] == ["visitor"]


def test_a_running_conversation_stays_on_its_version(workspace, owner_actor, flow, started):
    changed = {**GRAPH, "steps": [dict(s) for s in GRAPH["steps"]]}
    changed["steps"][1]["text"] = "What should we call you?"
    services.flow_update(
        workspace=workspace, flow_id=flow.pk, data={"graph": changed}, actor=owner_actor
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    reply = say(workspace, started.token, "not-an-email")  # a name: anything goes
    assert reply.messages[-1].text == "Your email?"
    fresh = services.conversation_start(workspace=workspace, page_url=f"{SITE}/")
    assert fresh.messages[-1].text == "What should we call you?"
    assert fresh.conversation.flow_version.number == 2
    assert started.conversation.flow_version.number == 1


def test_a_known_visitor_is_recognised_and_contact_conditions_see_the_contact(
    workspace, owner_actor
):
    known = contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "vip@initech.com", "tags": ["vip"]},
    ).contact
    Visitor.objects.create(workspace=workspace, visitor_key="visitor-known", contact=known)
    graph = {
        "start": "c",
        "steps": [
            {
                "id": "c",
                "kind": "condition",
                "branches": [
                    {
                        "when": {"field": "tags", "operator": "has_any", "value": ["vip"]},
                        "next": "v",
                    }
                ],
                "otherwise": "o",
            },
            {"id": "v", "kind": "end", "text": "Welcome back!"},
            {"id": "o", "kind": "end", "text": "Hello, stranger."},
        ],
    }
    publish(workspace, owner_actor, graph)
    known_reply = services.conversation_start(workspace=workspace, visitor_id="visitor-known")
    assert known_reply.messages[-1].text == "Welcome back!"
    assert Activity.objects.filter(contact=known, kind="chat.started").count() == 1
    stranger = services.conversation_start(workspace=workspace, visitor_id="visitor-new1")
    assert stranger.messages[-1].text == "Hello, stranger."


def _answer_knowledge_questions() -> int:
    """Run the knowledge answers the commits queued, as the worker runs them."""
    from leadflow.chat.tasks import conversation_knowledge_reply_task
    from tests.chat.knowledge_helpers import run_queued

    return run_queued(conversation_knowledge_reply_task)


def test_a_knowledge_step_answers_with_its_citation_or_hands_over(workspace, owner_actor):
    """The question goes to the worker (the model loads there, never in a web process):
    the visitor's post stores the question, the worker's answer comes with the next poll;
    a task run twice answers once."""
    from leadflow.chat import knowledge_seam

    graph = {
        "start": "ask",
        "steps": [
            {"id": "ask", "kind": "knowledge", "text": "Ask away", "next": "ask"},
        ],
    }
    publish(workspace, owner_actor, graph)

    def answerer(*, workspace, question):
        if "ship" in question:
            return KnowledgeAnswer("We ship worldwide.", citation={"entry": 7, "title": "Shipping"})
        return None

    registered = list(knowledge_seam._ANSWERERS)
    knowledge_answerer_register(answerer)
    try:
        started = services.conversation_start(workspace=workspace, visitor_id="visitor-kb01")
        reply = say(workspace, started.token, "Do you ship to Oslo?")
        assert [m.text for m in reply.messages] == ["Do you ship to Oslo?"]
        seen = reply.messages[-1].seq
        assert _answer_knowledge_questions() == 1
        services.conversation_knowledge_reply(
            conversation_id=started.conversation.pk, step="ask", question="Do you ship?"
        )  # a retried task: the bot no longer waits there
        _, later = services.conversation_messages(
            workspace=workspace, token=started.token, after=seen
        )
        assert [m.text for m in later] == ["We ship worldwide.", "Ask away"]
        assert later[0].payload == {"citation": {"entry": 7, "title": "Shipping"}}
        say(workspace, started.token, "What is the meaning of life?")
        assert _answer_knowledge_questions() == 1
        _, last = services.conversation_messages(workspace=workspace, token=started.token)
        assert last[-1].payload["handover"] == "waiting"
        assert last[-1].payload["reason"] == "knowledge"
        assert Conversation.objects.get(pk=started.conversation.pk).status == "waiting"
    finally:
        knowledge_seam._ANSWERERS[:] = registered


def test_the_knowledge_base_answers_a_knowledge_step_in_the_worker(workspace, owner_actor):
    """The real knowledge base behind the seam: an entry's answer with its citation, and a
    question it cannot answer handed over."""
    from leadflow.chat import knowledge
    from tests.chat.knowledge_helpers import run_embedding_tasks

    entry = knowledge.entry_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "kind": "question",
            "title": "Do you ship to Norway?",
            "body": "Yes, we ship to Norway within five working days.",
            "phrasings": ["Can you deliver to Oslo?"],
        },
    )
    run_embedding_tasks()
    graph = {
        "start": "ask",
        "steps": [{"id": "ask", "kind": "knowledge", "text": "Ask away", "next": "ask"}],
    }
    publish(workspace, owner_actor, graph)
    started = services.conversation_start(workspace=workspace, visitor_id="visitor-kb02")
    say(workspace, started.token, "Do you deliver to Norway?")
    assert _answer_knowledge_questions() == 1
    _, messages = services.conversation_messages(workspace=workspace, token=started.token)
    answer = next(m for m in messages if m.payload.get("citation"))
    assert answer.text == "Yes, we ship to Norway within five working days."
    assert answer.payload["citation"]["entry"] == entry.pk


# --- the public endpoints ----------------------------------------------------------------------


def post(path, body, origin=SITE):
    return Client().post(path, body, content_type="application/json", headers={"Origin": origin})


def test_the_widget_starts_talks_and_polls_from_an_allowed_site(workspace, flow):
    workspace.allowed_origins = [SITE]
    workspace.save()
    start = post(
        "/e/chat/start",
        {"key": workspace.public_key, "page_url": f"{SITE}/", "visitor_id": VISITOR},
    )
    assert start.status_code == 201, start.content
    assert start["Access-Control-Allow-Origin"] == SITE
    body = start.json()
    assert body["waiting_for"] == "input" and body["last_seq"] == 2
    token = body["token"]
    sent = post(
        "/e/chat/message",
        {"key": workspace.public_key, "token": token, "text": "Ann", "client_id": "c-000001"},
    )
    assert sent.status_code == 201
    again = post(
        "/e/chat/message",
        {"key": workspace.public_key, "token": token, "text": "Ann", "client_id": "c-000001"},
    )
    assert again.status_code == 200 and again.json()["messages"] == sent.json()["messages"]
    polled = Client().get(
        "/e/chat/messages",
        {"key": workspace.public_key, "token": token, "after": 2},
        headers={"Origin": SITE},
    )
    assert [m["seq"] for m in polled.json()["messages"]] == [3, 4]
    resumed = post("/e/chat/start", {"key": workspace.public_key, "token": token})
    assert resumed.status_code == 200 and resumed.json()["resumed"]
    assert [m["seq"] for m in resumed.json()["messages"]] == [1, 2, 3, 4]
    preflight = Client().options("/e/chat/message", headers={"Origin": SITE})
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == SITE


def test_public_errors_name_the_field(workspace, flow):
    key = workspace.public_key
    start = post("/e/chat/start", {"key": key, "flow": "one", "visitor_id": "x", "extra": 1})
    assert start.status_code == 422
    assert {e["field"] for e in start.json()["errors"]} == {"extra"}
    start = post("/e/chat/start", {"key": key, "flow": "one", "visitor_id": "x"})
    assert {e["field"] for e in start.json()["errors"]} == {"flow", "visitor_id"}
    token = post("/e/chat/start", {"key": key}).json()["token"]
    sent = post("/e/chat/message", {"key": key, "token": token, "text": "", "client_id": 5})
    assert sent.status_code == 422
    assert {e["field"] for e in sent.json()["errors"]} == {"text", "client_id"}
    assert sent["Access-Control-Allow-Origin"] == SITE
    polled = Client().get("/e/chat/messages", {"key": key, "token": token, "after": "-1"})
    assert polled.status_code == 422 and polled.json()["errors"][0]["field"] == "after"
    assert post("/e/chat/start", {"key": "pk_nope"}).status_code == 404
    bad_token = post(
        "/e/chat/message",
        {"key": key, "token": token + "x", "text": "hi", "client_id": "c-1234567"},
    )
    assert bad_token.status_code == 404
    assert post("/e/chat/start", {"key": key, "flow": 999999}).json()["code"] == "no_flow"
    assert post("/e/chat/start", "[1]").status_code == 422
    assert Client().post("/e/chat/start", "{", content_type="application/json").status_code == 422


def test_a_site_not_on_the_allowlist_is_refused(workspace, flow):
    workspace.allowed_origins = [SITE]
    workspace.save()
    refused = post("/e/chat/start", {"key": workspace.public_key}, origin="https://evil.example")
    assert refused.status_code == 403 and refused.json()["code"] == "origin_not_allowed"
    assert not Conversation.objects.exists()


def test_too_many_messages_from_one_address_answer_429(workspace, flow, settings):
    settings.LEADFLOW_CHAT_RATE_PER_IP = 2
    cache.clear()  # another test's requests from the same address
    key = workspace.public_key
    answers = [post("/e/chat/start", {"key": key}).status_code for _ in range(3)]
    assert answers == [201, 201, 429]
    settings.LEADFLOW_CHAT_POLL_RATE_PER_IP = 1
    token = services.conversation_start(workspace=workspace).token
    polls = [
        Client().get("/e/chat/messages", {"key": key, "token": token}).status_code for _ in range(2)
    ]
    assert polls == [200, 429]


def test_another_workspaces_token_finds_nothing(workspace, other_workspace, owner_actor, flow):
    started = services.conversation_start(workspace=workspace, visitor_id=VISITOR)
    other_key = other_workspace.public_key
    polled = Client().get("/e/chat/messages", {"key": other_key, "token": started.token})
    assert polled.status_code == 404
    sent = post(
        "/e/chat/message",
        {"key": other_key, "token": started.token, "text": "hi", "client_id": "c-1234567"},
    )
    assert sent.status_code == 404
    assert Message.objects.filter(conversation=started.conversation).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posters_get_gap_free_strictly_increasing_seq(workspace, owner_actor):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    graph = {
        "start": "q",
        "steps": [
            {"id": "q", "kind": "question", "text": "More?", "input": "text", "next": "m"},
            {"id": "m", "kind": "message", "text": "Noted", "next": "q"},
        ],
    }
    publish(workspace, owner_actor, graph)
    started = services.conversation_start(workspace=workspace, visitor_id=VISITOR)
    barrier = threading.Barrier(2)
    errors = []

    def poster(name):
        try:
            barrier.wait(timeout=10)
            for index in range(10):
                say(workspace, started.token, f"{name}{index}", client_id=f"{name}-{index:06}")
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=poster, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    seqs = list(
        Message.objects.filter(conversation=started.conversation)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 1 + 20 * 3 + 1))  # "More?", then each post: it, Noted, More?
    assert Conversation.objects.get(pk=started.conversation.pk).last_seq == seqs[-1]


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_be_reached_answers_503_readable_by_the_site(workspace, owner_actor):
    from tests.core.test_database_failure import database_down

    publish(workspace, owner_actor)
    token = services.conversation_start(workspace=workspace, visitor_id=VISITOR).token
    body = {"key": workspace.public_key, "token": token, "text": "Ann", "client_id": "c-000001"}
    with database_down():
        response = post("/e/chat/message", body)
    assert response.status_code == 503 and response["Retry-After"]
    assert response["Access-Control-Allow-Origin"] == SITE
    assert Message.objects.count() == 2  # the opening only: nothing half-written


def test_a_flow_per_site_section_by_page_rules_and_priority(workspace, owner_actor):
    def bot(name, text, **data):
        graph = {"start": "e", "steps": [{"id": "e", "kind": "end", "text": text}]}
        return publish(workspace, owner_actor, graph, name=name, **data)

    bot("Everywhere", "General", page_rules={"include": [], "exclude": ["/blog/private*"]})
    bot("Pricing", "Pricing", page_rules={"include": ["/pricing*"]}, priority=5)
    bot("Paused", "Paused", page_rules={"include": ["/pricing*"]}, priority=9, status="paused")

    def opening(page_url):
        return services.conversation_start(workspace=workspace, page_url=page_url).messages[0]

    assert opening(f"{SITE}/pricing/teams").text == "Pricing"
    assert opening(f"{SITE}/about").text == "General"
    with pytest.raises(NotFound):
        opening(f"{SITE}/blog/private/notes")
