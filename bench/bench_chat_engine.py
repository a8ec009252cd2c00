"""Messages per second through the chat bot: the pure engine in process, and the whole
service (``conversation_message_post``: the row lock, the message stored, the engine, the
answer through the lead-arrival service, the state saved), each against a baseline of the
same run.

The flow is a realistic lead-capture one (tests/chat/test_conversations.py's): a greeting,
the visitor's name, email (a contact is made through lead arrival), role (a choice), team
size (a number), a condition on that answer, a tag, points and the end; one visitor in six
first gives a bad email and is asked again. Every message takes the state from its JSON and
back, as the service stores it.

- engine: BENCH_CHAT_ENGINE_CONVERSATIONS (default 2,000) conversations through
  ``engine_start`` and ``engine_advance``; baseline: the bare ``json.dumps``/``json.loads``
  round trip of the same states, one per message.
- service: BENCH_CHAT_SERVICE_CONVERSATIONS (default 60) conversations through
  ``conversation_start`` and ``conversation_message_post`` on the configured database
  (SQLite unless DATABASE_URL is set); baseline: one ``Message`` row INSERTed in its own
  transaction per message.
The ratio says how many baseline operations one message costs.
"""

import json
import os
import statistics
import time
import uuid

GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi! A few questions.", "next": "name"},
        {"id": "name", "kind": "question", "text": "Your first name?", "input": "text",
         "field": "first_name", "next": "email"},
        {"id": "email", "kind": "question", "text": "Your email?", "input": "email",
         "field": "email", "next": "role"},
        {"id": "role", "kind": "question", "text": "Your role?", "input": "choice",
         "field": "job_title", "choices": [{"value": "Founder"}, {"value": "Marketer"}],
         "next": "size"},
        {"id": "size", "kind": "question", "text": "Team size?", "input": "number", "next": "sz"},
        {"id": "sz", "kind": "condition", "branches": [
            {"when": {"field": "answer.size", "operator": "gt", "value": 50}, "next": "big"}],
         "otherwise": "tag"},
        {"id": "big", "kind": "tag", "tag": "chat-large", "next": "points"},
        {"id": "tag", "kind": "tag", "tag": "chat-small", "next": "points"},
        {"id": "points", "kind": "score", "points": 5, "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks, talk soon!"},
    ],
}  # fmt: skip


def _answers(number: int) -> list[str]:
    """What visitor ``number`` types, in order (one in six first mistypes the email)."""
    said = [f"Visitor{number}"]
    if number % 6 == 0:
        said.append("not an email")
    said += [f"visitor{number}@bench-{number % 97}.example", "marketer", str(number % 120)]
    return said


def _engine(conversations: int) -> dict:
    from leadflow.chat import engine

    messages = 0
    states: list[dict] = []
    started = time.perf_counter()
    for number in range(conversations):
        outcome = engine.engine_start(GRAPH, country="GB")
        stored = outcome.state.as_json()
        for text in _answers(number):
            state = engine.State.from_json(stored)
            outcome = engine.engine_advance(GRAPH, state, engine.Input(text), country="GB")
            stored = outcome.state.as_json()
            messages += 1
            if number < 50:
                states.append(stored)
        assert outcome.state.outcome == "end", outcome.state
    seconds = time.perf_counter() - started
    # Baseline: the state's JSON round trip, once per message (what storing it costs).
    rounds = 0
    baseline_started = time.perf_counter()
    while rounds < messages:
        for stored in states:
            json.loads(json.dumps(stored))
            rounds += 1
            if rounds == messages:
                break
    baseline = time.perf_counter() - baseline_started
    return {
        "engine_messages": messages,
        "engine_messages_per_s": round(messages / seconds),
        "engine_us_per_message": round(seconds / messages * 1e6, 1),
        "engine_baseline_json_round_trips_per_s": round(rounds / baseline),
        "engine_ratio_vs_json_round_trip": round(seconds / baseline, 1),
    }


def _service(conversations: int) -> dict:
    from django.db import connection, transaction

    from leadflow.chat import services
    from leadflow.chat.models import Message
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create

    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench chat {stamp}", owner_email=f"c{stamp}@example.com", slug=f"chat-{stamp}"
    )
    actor = Actor.system("bench")
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Bench bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    timings: list[float] = []
    first = None
    started = time.perf_counter()
    for number in range(conversations):
        opened = services.conversation_start(workspace=workspace, visitor_id=uuid.uuid4().hex)
        first = first or opened.conversation
        for text in _answers(number):
            posted = time.perf_counter()
            services.conversation_message_post(
                workspace=workspace, token=opened.token, text=text, client_id=uuid.uuid4().hex
            )
            timings.append(time.perf_counter() - posted)
    seconds = time.perf_counter() - started
    messages = len(timings)
    # Baseline: one bare INSERT of a message row, in its own transaction, per message.
    baseline_started = time.perf_counter()
    for number in range(messages):
        with transaction.atomic():
            Message.objects.create(
                workspace=workspace,
                conversation=first,
                seq=10_000 + number,
                author="visitor",
                text="bench",
            )
    baseline = time.perf_counter() - baseline_started
    posting = sum(timings)
    ordered = sorted(timings)
    return {
        "service_database": connection.vendor,
        "service_messages": messages,
        "service_messages_per_s": round(messages / posting),
        "service_p50_ms": round(statistics.median(timings) * 1000, 2),
        "service_p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "service_with_starts_s": round(seconds, 2),
        "service_baseline_inserts_per_s": round(messages / baseline),
        "service_ratio_vs_single_insert": round(posting / baseline, 1),
    }


def run() -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    engine_count = int(os.environ.get("BENCH_CHAT_ENGINE_CONVERSATIONS", "2000"))
    service_count = int(os.environ.get("BENCH_CHAT_SERVICE_CONVERSATIONS", "60"))
    return {**_engine(engine_count), **_service(service_count)}
