"""The whole live chat in Chromium, the parts together: the widget on a customer's site (a
second origin) asks for a person, a salesperson in the inbox (another browser context)
claims and replies, and each side sees the other's messages and typing.

The stream tier runs as a real granian process with room for ONE stream: the visitor's
widget takes it (EventSource), so the salesperson's thread is refused (503) and falls back
to polling its fragment; both sides still see everything, in order, once."""

import pytest
from playwright.sync_api import expect

from leadflow.chat.models import Conversation, Message
from tests.chat.stream_helpers import StreamTier, request
from tests.chat.test_widget_e2e import Site, bot_says, visit, wait_for  # noqa: F401
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GRAPH = {
    "start": "hello",
    "steps": [
        {"id": "hello", "kind": "message", "text": "Hi! How can we help?", "next": "email"},
        {"id": "email", "kind": "question", "text": "Your email?", "input": "email",
         "field": "email", "next": "ask"},
        {"id": "ask", "kind": "question", "text": "What would you like to know?",
         "input": "text", "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks!"},
    ],
}  # fmt: skip


@pytest.fixture
def site(tmp_path, live_server, workspace):
    site = Site(tmp_path, live_server, workspace)
    workspace.allowed_origins = [site.url]
    workspace.save()
    yield site
    site.close()


def test_the_widget_hands_over_and_a_salesperson_answers_live_with_one_stream_to_spare(
    site,
    visit,  # noqa: F811
    live_server,
    workspace,
    owner_actor,
    make_member,
    settings,
):
    from tests.chat.test_conversations import publish

    seller = make_member("sales", "sam@acme-widgets.com").user
    seller.full_name = "Sam Rivera"
    seller.save()
    publish(workspace, owner_actor, graph=GRAPH)
    settings.REDIS_URL = ""
    tier = StreamTier(capacity=1).start()
    settings.LEADFLOW_CHAT_STREAM_URL = tier.base
    try:
        page = visit()
        page.goto(site.write("pricing.html"))
        page.get_by_role("button", name="Chat with us").click()
        dialog = page.get_by_role("dialog", name="Chat with us")
        bot_says(page, "Your email?")
        box = dialog.locator("#lf-in")
        box.fill("ann@initech.com")
        box.press("Enter")
        bot_says(page, "What would you like to know?")
        wait_for(lambda: any("/e/chat/stream" in url for url in page.requested))
        dialog.get_by_role("button", name="Talk to a person").first.click()
        expect(dialog.get_by_role("status")).to_have_text("Waiting for a person")
        conversation = Conversation.objects.get(workspace=workspace)
        wait_for(lambda: Conversation.objects.get(pk=conversation.pk).status == "waiting")

        agent = visit(viewport={"width": 1440, "height": 900}, base_url=live_server.url)
        log_in(agent, "sam@acme-widgets.com")
        agent.goto(f"{live_server.url}/w/{workspace.slug}/chat/inbox/{conversation.pk}/")
        agent.get_by_role("button", name="Claim").click()
        agent.get_by_label("Message").fill("Hi Ann, Sam here.")
        agent.get_by_role("button", name="Send", exact=True).click()
        # The visitor's stream brings it (and the claim's status: Sam's name).
        expect(dialog.get_by_text("Hi Ann, Sam here.")).to_be_visible(timeout=15_000)
        expect(dialog.get_by_text("Sam", exact=False).first).to_be_visible()

        # The tier is full (the visitor's widget holds its one stream, which is how the
        # reply above arrived): the salesperson's thread is refused and polls instead.
        stream_url = agent.locator("[data-chat-live]").get_attribute("data-stream-url")
        assert stream_url and stream_url.startswith(tier.base)
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in agent.context.cookies())
        answer = request("GET", stream_url, headers={"Cookie": cookies}, timeout=5)
        refused = answer[0]
        assert refused == 503
        box.fill("Great, when can we talk?")
        box.press("Enter")
        expect(agent.locator("#thread").get_by_text("Great, when can we talk?")).to_be_visible(
            timeout=15_000
        )
        # Typing shows on the other side.
        agent.get_by_label("Message").press_sequentially("Tomorrow", delay=30)
        expect(dialog.get_by_text("is typing", exact=False)).to_be_visible(timeout=15_000)

        seqs = [
            int(seq)
            for seq in dialog.locator(".m[data-seq]").evaluate_all(
                "(nodes) => nodes.map((node) => node.dataset.seq)"
            )
        ]
        assert seqs == sorted(set(seqs)), "each message once, in order"
        notes = set(
            Message.objects.filter(conversation=conversation, internal=True).values_list(
                "seq", flat=True
            )
        )
        assert not notes & set(seqs)
        assert page.javascript_errors == [] and agent.javascript_errors == []
    finally:
        tier.stop()
