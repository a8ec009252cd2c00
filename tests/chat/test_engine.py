"""The bot engine, a pure interpreter: examples of each step kind, and properties over random
flows (hypothesis): it never crashes, every input ends at a stop within the graph's size, and
it only ever moves to steps the graph has. No database here."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.chat.engine import (
    DONE,
    WAIT_BOOKING,
    WAIT_FACTS,
    WAIT_INPUT,
    WAIT_KNOWLEDGE,
    WAIT_OFFER,
    WAIT_ORDER,
    WAIT_PAYMENT,
    Booked,
    Facts,
    Input,
    KnowledgeResult,
    Offer,
    OrderResult,
    Paid,
    State,
    engine_advance,
    engine_start,
)
from leadflow.chat.graph import graph_clean, step_targets, steps_by_id
from leadflow.core.errors import ValidationFailed

LEAD_FLOW = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi!", "next": "ask_email"},
        {
            "id": "ask_email",
            "kind": "question",
            "text": "Your email?",
            "input": "email",
            "field": "email",
            "next": "ask_size",
        },
        {
            "id": "ask_size",
            "kind": "question",
            "text": "How many people?",
            "input": "number",
            "next": "big",
        },
        {
            "id": "big",
            "kind": "condition",
            "branches": [
                {
                    "when": {"field": "answer.ask_size", "operator": "gt", "value": 50},
                    "next": "person",
                }
            ],
            "otherwise": "tagged",
        },
        {"id": "tagged", "kind": "tag", "tag": "small-team", "next": "bye"},
        {"id": "person", "kind": "handover", "text": "A person will be with you."},
        {"id": "bye", "kind": "end", "text": "Thanks!"},
    ],
}


def test_a_flow_runs_to_its_first_question_and_waits():
    outcome = engine_start(LEAD_FLOW)
    assert [m.text for m in outcome.messages] == ["Hi!", "Your email?"]
    assert outcome.messages[1].payload == {"input": "email"}
    assert outcome.state.step == "ask_email" and outcome.state.waiting == WAIT_INPUT


def test_a_bad_answer_is_asked_again_and_a_good_one_moves_on():
    state = engine_start(LEAD_FLOW).state
    bad = engine_advance(LEAD_FLOW, state, Input("not an email"))
    assert bad.state.step == "ask_email" and bad.state.attempts == 1
    assert "email" in bad.messages[0].text and not bad.effects
    good = engine_advance(LEAD_FLOW, bad.state, Input(" Ann@Example.COM "))
    assert good.state.answers == {"ask_email": "ann@example.com"}
    assert good.effects[0].kind == "answer"
    assert good.effects[0].data["field"] == "email"
    assert good.state.step == "ask_size" and good.state.attempts == 0
    assert state.answers == {}  # the caller's state is never changed


def test_conditions_on_answers_branch_without_the_database():
    state = engine_start(LEAD_FLOW).state
    state = engine_advance(LEAD_FLOW, state, Input("a@b.co")).state
    small = engine_advance(LEAD_FLOW, state, Input("12"))
    assert [e.kind for e in small.effects] == ["answer", "tag", "end"]
    assert small.state.outcome == "end" and small.state.waiting == DONE
    big = engine_advance(LEAD_FLOW, state, Input("120"))
    assert [e.kind for e in big.effects] == ["answer", "handover"]
    assert big.messages[-1].text == "A person will be with you."
    # Done: more input changes nothing.
    after = engine_advance(LEAD_FLOW, big.state, Input("hello?"))
    assert not after.accepted and not after.messages and not after.effects


def test_a_contact_condition_asks_for_facts_and_branches_on_them():
    graph = {
        "start": "known",
        "steps": [
            {
                "id": "known",
                "kind": "condition",
                "branches": [
                    {
                        "when": {
                            "match": "any",
                            "children": [
                                {"field": "tags", "operator": "has", "value": "vip"},
                                {"field": "city", "operator": "eq", "value": "Oslo"},
                            ],
                        },
                        "next": "vip",
                    }
                ],
                "otherwise": "other",
            },
            {"id": "vip", "kind": "end", "text": "Welcome back"},
            {"id": "other", "kind": "end", "text": "Hello"},
        ],
    }
    outcome = engine_start(graph)
    assert outcome.state.waiting == WAIT_FACTS
    keys = [key for key, _ in outcome.needs]
    assert keys == ["known/0/0", "known/0/1"]
    yes = engine_advance(graph, outcome.state, Facts({"known/0/1": True}))
    assert yes.messages[0].text == "Welcome back"
    no = engine_advance(graph, outcome.state, Facts({}))
    assert no.messages[0].text == "Hello"


def test_a_knowledge_step_asks_the_base_and_hands_over_when_it_has_no_answer():
    graph = {
        "start": "ask",
        "steps": [
            {"id": "ask", "kind": "knowledge", "text": "Ask me anything", "next": "bye"},
            {"id": "bye", "kind": "end", "text": "Glad to help"},
        ],
    }
    state = engine_start(graph).state
    asked = engine_advance(graph, state, Input("Do you ship to Norway?"))
    assert asked.state.waiting == WAIT_KNOWLEDGE
    assert asked.effects[0].kind == "knowledge"
    assert asked.effects[0].data == {"question": "Do you ship to Norway?"}
    answered = engine_advance(graph, asked.state, KnowledgeResult(answered=True))
    assert answered.messages[0].text == "Glad to help"
    unanswered = engine_advance(graph, asked.state, KnowledgeResult(answered=False))
    assert unanswered.effects[0].kind == "handover"
    assert unanswered.effects[0].data == {"reason": "knowledge"}


@pytest.mark.parametrize(
    ("kind", "given_text", "stored"),
    [
        ("text", "  hello ", "hello"),
        ("number", "3,5", 3.5),
        ("number", "42", 42),
        ("date", "31.03.2026", "2026-03-31"),
        ("date", "2026-03-31", "2026-03-31"),
        ("phone", "020 7946 0018", "+442079460018"),
        ("choice", "2", "b"),
        ("choice", "BEE", "b"),
    ],
)
def test_typed_inputs_store_their_normal_form(kind, given_text, stored):
    step = {"id": "q", "kind": "question", "text": "?", "input": kind, "next": "e"}
    if kind == "choice":
        step["choices"] = [{"value": "a", "label": "Ay"}, {"value": "b", "label": "Bee"}]
    graph = {"start": "q", "steps": [step, {"id": "e", "kind": "end"}]}
    outcome = engine_advance(
        graph, engine_start(graph, country="GB").state, Input(given_text), country="GB"
    )
    assert outcome.state.answers == {"q": stored}


@pytest.mark.parametrize(
    ("kind", "bad"), [("number", "many"), ("date", "31.02.2026"), ("phone", "12"), ("choice", "c")]
)
def test_typed_inputs_refuse_what_does_not_fit(kind, bad):
    step = {"id": "q", "kind": "question", "text": "?", "input": kind, "next": "e"}
    if kind == "choice":
        step["choices"] = [{"value": "a"}, {"value": "b"}]
    graph = {"start": "q", "steps": [step, {"id": "e", "kind": "end"}]}
    outcome = engine_advance(graph, engine_start(graph).state, Input(bad))
    assert outcome.state.answers == {} and outcome.state.waiting == WAIT_INPUT


def _refusal(graph) -> set[str]:
    with pytest.raises(ValidationFailed) as failure:
        graph_clean(graph)
    return {f"{error.field}: {error.message}" for error in failure.value.errors}


def test_a_graph_is_refused_naming_the_step_at_fault():
    unknown = _refusal(
        {"start": "a", "steps": [{"id": "a", "kind": "message", "text": "x", "next": "zz"}]}
    )
    assert unknown == {"graph.steps[0]: Step a leads to 'zz', which is not a step."}
    unreachable = _refusal(
        {
            "start": "a",
            "steps": [
                {"id": "a", "kind": "end"},
                {"id": "lost", "kind": "end"},
            ],
        }
    )
    assert unreachable == {"graph.steps[1]: Step lost cannot be reached from the start."}
    cycle = _refusal(
        {
            "start": "a",
            "steps": [
                {"id": "a", "kind": "message", "text": "x", "next": "b"},
                {"id": "b", "kind": "tag", "tag": "t", "next": "a"},
            ],
        }
    )
    assert len(cycle) == 1 and "a → b → a" in cycle.pop()
    bad_fields = _refusal(
        {
            "start": "q",
            "steps": [
                {"id": "q", "kind": "question", "text": "", "input": "colour", "next": "q"},
                {"id": "c", "kind": "condition", "branches": [], "otherwise": "q"},
            ],
        }
    )
    assert {entry.split(":")[0] for entry in bad_fields} == {
        "graph.steps[0].text",
        "graph.steps[0].input",
        "graph.steps[1].branches",
    }


def test_a_cycle_through_a_question_is_a_conversation_not_a_loop():
    graph = graph_clean(
        {
            "start": "q",
            "steps": [
                {"id": "q", "kind": "question", "text": "More?", "input": "text", "next": "m"},
                {"id": "m", "kind": "message", "text": "Noted", "next": "q"},
            ],
        }
    )
    state = engine_start(graph).state
    for word in ("one", "two", "three"):
        outcome = engine_advance(graph, state, Input(word))
        assert [m.text for m in outcome.messages] == ["Noted", "More?"]
        state = outcome.state
    assert state.answers == {"q": "three"}


# --- properties over random flows ------------------------------------------------------------

KINDS = (
    "message",
    "question",
    "condition",
    "tag",
    "score",
    "set_field",
    "knowledge",
    "handover",
    "end",
    "product",
    "meeting",
)
INPUTS = ("text", "email", "phone", "number", "choice", "date")
WAITS = (WAIT_INPUT, WAIT_FACTS, WAIT_KNOWLEDGE, WAIT_OFFER, WAIT_ORDER, WAIT_PAYMENT, WAIT_BOOKING)


@st.composite
def random_graphs(draw):
    """Any graph of up to 12 steps with links anywhere, valid or not (the engine must cope
    with both: a valid one by the checks, an invalid one by its step bound)."""
    count = draw(st.integers(1, 12))
    ids = [f"s{i}" for i in range(count)]
    target = st.sampled_from([*ids, "missing"])
    steps = []
    for step_id in ids:
        kind = draw(st.sampled_from(KINDS))
        step = {"id": step_id, "kind": kind}
        if kind in ("message", "question", "knowledge", "handover", "end"):
            step["text"] = draw(st.sampled_from(["Hi", "Your email?", ""]))
        if kind == "question":
            step["input"] = draw(st.sampled_from(INPUTS))
            if step["input"] == "choice":
                step["choices"] = [
                    {"value": "a", "next": draw(target)},
                    {"value": "b"},
                ]
        if kind == "condition":
            leaf = draw(
                st.sampled_from(
                    [
                        {
                            "field": f"answer.{draw(st.sampled_from(ids))}",
                            "operator": "eq",
                            "value": "a",
                        },
                        {"field": "city", "operator": "eq", "value": "Oslo"},
                        {
                            "field": f"answer.{draw(st.sampled_from(ids))}",
                            "operator": "gt",
                            "value": 3,
                        },
                    ]
                )
            )
            step["branches"] = [{"when": leaf, "next": draw(target)}]
            step["otherwise"] = draw(target)
        elif kind == "tag":
            step["tag"] = "t"
        elif kind == "score":
            step["points"] = 5
        elif kind == "set_field":
            step["field"], step["value"] = "city", "Oslo"
        elif kind == "product":
            step["product"] = 7
            if draw(st.booleans()):
                step["paid"] = draw(target)
        elif kind == "meeting":
            step["duration"], step["days"] = 30, 5
        if kind == "question" and draw(st.booleans()):
            step["input"], step["field"] = "email", "email"
        if kind not in ("condition", "handover", "end"):
            step["next"] = draw(target)
        steps.append(step)
    return {"start": draw(st.sampled_from(ids)), "steps": steps}


ANSWERS = ["a", "b", "2", "ann@example.com", "+44 20 7946 0018", "2026-01-02", "", "x" * 3000]
EVENTS = st.lists(
    st.one_of(
        st.builds(
            Input,
            st.sampled_from(
                ["a", "b", "2", "ann@example.com", "+44 20 7946 0018", "2026-01-02", "", "x" * 3000]
            ),
        ),
        st.builds(Facts, st.dictionaries(st.text(max_size=12), st.booleans(), max_size=3)),
        st.builds(KnowledgeResult, st.booleans()),
        st.sampled_from(
            [Offer(()), Offer((("buy", "Buy"), ("no", "No thanks"))), Offer((("t1", "10:00"),))]
        ),
        st.builds(OrderResult, st.booleans()),
        st.just(Paid()),
        st.builds(Booked, st.booleans()),
        st.sampled_from([Input("buy"), Input("no"), Input("t1"), Input("1")]),
    ),
    max_size=12,
)


def _check(graph, outcome, valid: bool) -> None:
    by_id = steps_by_id(graph)
    state = outcome.state
    assert state.waiting in ("", *WAITS, DONE)
    assert state.waiting != ""  # every call ends at a stop
    if valid:
        assert state.step in by_id  # only moves to steps the graph has
        assert not any(e.data.get("reason") in ("cycle", "unknown step") for e in outcome.effects)
    for message in outcome.messages:
        assert message.step in by_id
    # A message or effect comes only from steps the graph has, and never more of them
    # than one per step plus the re-ask.
    assert len(outcome.messages) <= len(by_id) + 2
    if state.waiting in WAITS:
        kinds = ("question", "knowledge", "condition", "product", "meeting")
        assert by_id[state.step]["kind"] in kinds
    if state.waiting in (WAIT_ORDER, WAIT_PAYMENT):
        assert by_id[state.step]["kind"] == "product"
    if state.waiting == WAIT_BOOKING:
        assert by_id[state.step]["kind"] == "meeting"
    if state.waiting == WAIT_OFFER:  # the service is asked to show it
        assert any(e.kind in ("product", "meeting") for e in outcome.effects) or not outcome.effects


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), EVENTS)
def test_random_flows_never_crash_always_stop_and_stay_in_the_graph(graph, events):
    try:
        graph = graph_clean(graph)
        valid = True
    except ValidationFailed:
        valid = False
    outcome = engine_start(graph)
    _check(graph, outcome, valid)
    state = outcome.state
    for event in events:
        before = State.from_json(state.as_json())
        outcome = engine_advance(graph, state, event)
        assert state == before  # pure: the given state is left alone
        if outcome.state.step != state.step and valid:
            # it moved only along the graph's links (directly, or through steps that don't wait)
            assert outcome.state.step in steps_by_id(graph)
        _check(graph, outcome, valid)
        state = outcome.state


@settings(max_examples=200, deadline=None)
@given(random_graphs())
def test_every_link_a_valid_graph_has_points_at_one_of_its_steps(graph):
    try:
        graph = graph_clean(graph)
    except ValidationFailed:
        return
    by_id = steps_by_id(graph)
    for step in graph["steps"]:
        assert all(target in by_id for target in step_targets(step))
