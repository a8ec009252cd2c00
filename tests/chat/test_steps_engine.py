"""The product and meeting steps in the pure engine and the graph checks: the offer the
service answers, Buy waiting for the order then the payment, "Payment received" and the
paid branch, a taken time offered again; the graph refuses a product or meeting step a path
reaches without the visitor's email, and names the step and field of every bad key."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.chat.engine import (
    DONE,
    WAIT_BOOKING,
    WAIT_INPUT,
    WAIT_OFFER,
    WAIT_ORDER,
    WAIT_PAYMENT,
    Booked,
    Input,
    KnowledgeResult,
    Offer,
    OrderResult,
    Paid,
    engine_advance,
    engine_start,
)
from leadflow.chat.graph import graph_clean, steps_by_id
from leadflow.core.errors import ValidationFailed

EMAIL = {
    "id": "email",
    "kind": "question",
    "text": "Your email?",
    "input": "email",
    "field": "email",
    "next": "kite",
}
SHOP = {
    "start": "email",
    "steps": [
        EMAIL,
        {"id": "kite", "kind": "product", "product": 7, "text": "Our kite", "next": "bye",
         "paid": "meet"},
        {"id": "meet", "kind": "meeting", "duration": 30, "days": 5, "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks!"},
    ],
}  # fmt: skip
BUY_OFFER = Offer((("buy", "Buy"), ("no", "No thanks")))


def at_product():
    graph = graph_clean(SHOP)
    outcome = engine_advance(graph, engine_start(graph).state, Input("ann@example.com"))
    return graph, outcome


def test_a_product_step_asks_the_service_to_show_it_then_waits_for_a_choice():
    graph, outcome = at_product()
    assert outcome.state.waiting == WAIT_OFFER
    (answer, shown) = outcome.effects
    assert answer.kind == "answer"
    assert shown.kind == "product" and shown.data["product"] == 7
    assert [c["value"] for c in shown.data["choices"]] == ["buy", "no"]
    outcome = engine_advance(graph, outcome.state, BUY_OFFER)
    assert outcome.state.waiting == WAIT_INPUT and outcome.state.offer[0]["label"] == "Buy"


def test_buy_waits_for_the_order_then_the_payment_then_runs_the_paid_branch():
    graph, outcome = at_product()
    state = engine_advance(graph, outcome.state, BUY_OFFER).state
    outcome = engine_advance(graph, state, Input("Buy"))
    assert outcome.state.waiting == WAIT_ORDER
    assert [(e.kind, e.data) for e in outcome.effects] == [("order", {"product": 7})]
    again = engine_advance(graph, outcome.state, Input("buy"))
    assert not again.accepted and again.state.waiting == WAIT_ORDER  # a second Buy: nothing
    outcome = engine_advance(graph, outcome.state, OrderResult(placed=True))
    assert outcome.state.waiting == WAIT_PAYMENT
    assert not engine_advance(graph, outcome.state, Input("hello?")).accepted
    outcome = engine_advance(graph, outcome.state, Paid())
    assert outcome.messages[0].text == "Payment received"
    assert outcome.state.step == "meet" and outcome.state.waiting == WAIT_OFFER
    assert not engine_advance(graph, outcome.state, Paid()).accepted  # paid once


def test_no_thanks_or_an_order_that_failed_goes_on_at_next():
    graph, outcome = at_product()
    state = engine_advance(graph, outcome.state, BUY_OFFER).state
    declined = engine_advance(graph, state, Input("2"))
    assert declined.state.waiting == DONE and declined.messages[-1].text == "Thanks!"
    ordered = engine_advance(graph, state, Input("buy")).state
    failed = engine_advance(graph, ordered, OrderResult(placed=False))
    assert failed.state.waiting == DONE and failed.state.step == "bye"


def test_a_product_that_cannot_be_shown_moves_on_and_a_bad_pick_is_asked_again():
    graph, outcome = at_product()
    assert engine_advance(graph, outcome.state, Offer(())).state.step == "bye"
    state = engine_advance(graph, outcome.state, BUY_OFFER).state
    retry = engine_advance(graph, state, Input("maybe"))
    assert not retry.accepted and retry.state.waiting == WAIT_INPUT
    assert retry.messages[0].payload["choices"][0]["value"] == "buy"


def test_paid_without_a_paid_branch_ends_the_flow():
    graph = graph_clean(
        {**SHOP, "steps": [EMAIL, {**SHOP["steps"][1], "paid": ""}, SHOP["steps"][3]]}
    )
    state = engine_advance(graph, engine_start(graph).state, Input("ann@example.com")).state
    state = engine_advance(graph, state, BUY_OFFER).state
    state = engine_advance(graph, state, Input("buy")).state
    state = engine_advance(graph, state, OrderResult(placed=True)).state
    outcome = engine_advance(graph, state, Paid())
    assert outcome.state.waiting == DONE and outcome.state.outcome == "end"
    assert [e.kind for e in outcome.effects] == ["end"]


def test_a_meeting_books_the_picked_time_and_offers_the_rest_when_it_was_taken():
    graph = graph_clean({**SHOP, "start": "email", "steps": [
        {**EMAIL, "next": "meet"}, SHOP["steps"][2], SHOP["steps"][3]]})  # fmt: skip
    outcome = engine_advance(graph, engine_start(graph).state, Input("ann@example.com"))
    assert outcome.effects[-1].kind == "meeting"
    assert outcome.effects[-1].data == {"text": "", "member": None, "duration": 30, "days": 5}
    times = Offer((("2026-12-08T09:00:00Z", "Tue 10:00"), ("2026-12-08T09:30:00Z", "Tue 10:30")))
    state = engine_advance(graph, outcome.state, times).state
    outcome = engine_advance(graph, state, Input("tue 10:30"))
    assert outcome.state.waiting == WAIT_BOOKING
    assert outcome.effects[0].kind == "book"
    assert outcome.effects[0].data["slot"] == "2026-12-08T09:30:00Z"
    taken = engine_advance(graph, outcome.state, Booked(booked=False))
    assert taken.state.waiting == WAIT_OFFER and taken.effects[0].data["again"] is True
    booked = engine_advance(graph, outcome.state, Booked(booked=True))
    assert booked.state.waiting == DONE and booked.messages[-1].text == "Thanks!"
    assert booked.state.answers["meet"] == "2026-12-08T09:30:00Z"


def errors_of(graph) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        graph_clean(graph)
    return {error.field: error.message for error in failure.value.errors}


def test_a_product_or_meeting_step_needs_the_email_on_every_path_before_it():
    graph = {
        "start": "ask",
        "steps": [
            {"id": "ask", "kind": "question", "text": "Shop?", "input": "choice",
             "choices": [{"value": "yes", "next": "kite"}, {"value": "no"}], "next": "email"},
            {**EMAIL, "next": "kite"},
            {"id": "kite", "kind": "product", "product": 7, "next": "bye"},
            {"id": "bye", "kind": "end"},
        ],
    }  # fmt: skip
    errors = errors_of(graph)
    assert "Step kite needs the visitor's email" in errors["graph.steps[2]"]
    graph["steps"][0]["choices"][0]["next"] = "email"  # every path asks now
    assert graph_clean(graph)["steps"][2]["product"] == 7


def test_bad_keys_of_the_new_steps_are_named_by_step_and_field():
    graph = {
        "start": "email",
        "steps": [
            EMAIL,
            {"id": "kite", "kind": "product", "product": "seven", "buy_label": "x" * 61,
             "paid": 3, "next": "meet"},
            {"id": "meet", "kind": "meeting", "duration": 17, "days": 0, "member": -1,
             "next": "bye", "colour": "red"},
            {"id": "bye", "kind": "end"},
        ],
    }  # fmt: skip
    errors = errors_of(graph)
    assert errors["graph.steps[1].product"] == "Step kite: choose a product."
    assert errors["graph.steps[1].buy_label"] == "Step kite: at most 60 characters."
    assert errors["graph.steps[1].paid"].startswith("Step kite:")
    assert errors["graph.steps[2].duration"].startswith("Step meet: a length of 15, 20, 30")
    assert errors["graph.steps[2].days"] == "Step meet: 1 to 60 days ahead."
    assert errors["graph.steps[2].member"] == "Step meet: choose a member."
    assert "colour" in errors["graph.steps[2].colour"]


def test_a_paid_branch_is_a_link_the_checks_follow():
    graph = {**SHOP, "steps": [EMAIL, {**SHOP["steps"][1], "paid": "nowhere"}, *SHOP["steps"][2:]]}
    assert "leads to 'nowhere'" in errors_of(graph)["graph.steps[1]"]


# --- properties over random valid flows with products and meetings -------------------------

CHAIN_KINDS = ("message", "question", "product", "meeting", "tag", "score", "knowledge")
EVENTS = st.lists(
    st.one_of(
        st.sampled_from([Input("buy"), Input("no"), Input("1"), Input("2"), Input("x")]),
        st.sampled_from([Input("ann@example.com"), Input("t1"), Input("10:00")]),
        st.sampled_from([Offer(()), BUY_OFFER, Offer((("t1", "10:00"), ("t2", "10:30")))]),
        st.builds(OrderResult, st.booleans()),
        st.just(Paid()),
        st.builds(Booked, st.booleans()),
        st.builds(KnowledgeResult, st.booleans()),
    ),
    max_size=20,
)


@st.composite
def shop_flows(draw):
    """A valid flow: the email question first, then a chain of steps (products and
    meetings among them), a product's paid branch anywhere after the email, an end."""
    count = draw(st.integers(1, 8))
    ids = ["email", *(f"s{i}" for i in range(count)), "bye"]
    steps = [{**EMAIL, "next": ids[1]}]
    for index in range(1, count + 1):
        kind = draw(st.sampled_from(CHAIN_KINDS))
        step = {"id": ids[index], "kind": kind, "next": ids[index + 1]}
        if kind in ("message", "question", "knowledge"):
            step["text"] = "Hi"
        if kind == "question":
            step["input"] = "text"
        elif kind == "tag":
            step["tag"] = "t"
        elif kind == "score":
            step["points"] = 1
        elif kind == "product":
            step["product"] = 7
            if draw(st.booleans()):
                step["paid"] = draw(st.sampled_from(ids[1:]))
        elif kind == "meeting":
            step["duration"], step["days"] = 30, 3
        steps.append(step)
    steps.append({"id": "bye", "kind": "end", "text": "Thanks!"})
    return {"start": "email", "steps": steps}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shop_flows(), EVENTS)
def test_random_shop_flows_pass_the_checks_and_wait_where_they_should(graph, events):
    graph = graph_clean(graph)  # every generated flow is valid
    by_id = steps_by_id(graph)
    state = engine_start(graph).state
    for event in [Input("ann@example.com"), *events]:
        outcome = engine_advance(graph, state, event)
        new = outcome.state
        assert new.step in by_id and new.waiting
        kind = by_id[new.step]["kind"]
        if new.waiting == WAIT_OFFER:
            assert kind in ("product", "meeting")
        if new.waiting in (WAIT_ORDER, WAIT_PAYMENT):
            assert kind == "product"
        if new.waiting == WAIT_BOOKING:
            assert kind == "meeting"
        if new.waiting == WAIT_INPUT and kind in ("product", "meeting"):
            assert new.offer  # a pick needs something offered
        orders = [e for e in outcome.effects if e.kind == "order"]
        assert len(orders) <= 1 and (not orders or new.waiting == WAIT_ORDER)
        paid = [m for m in outcome.messages if m.text == "Payment received"]
        assert len(paid) <= 1 and (not paid or state.waiting == WAIT_PAYMENT)
        state = new
