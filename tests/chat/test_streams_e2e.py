"""A visitor's stream in Chromium from a customer's site on a second origin: EventSource
receives the new message live, the stream tier is stopped and started again (every stream
cut), and after the reconnect from the last seq nothing is lost or shown twice."""

import uuid

import pytest

from leadflow.chat import services
from tests.chat.stream_helpers import StreamTier, handover_conversation, visitor_stream_url
from tests.chat.test_conversations_e2e import site  # noqa: F401 - the customer's site
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What the widget does with stream_url: resume from the last seq seen after any error.
SCRIPT = """
(url) => {
  window.seen = []; window.opened = 0; window.errors = 0;
  const connect = () => {
    const after = window.seen.length ? window.seen[window.seen.length - 1] : 0;
    const source = new EventSource(url.replace('after=0', 'after=' + after));
    source.onopen = () => { window.opened += 1; };
    source.addEventListener('message', (event) => {
      window.seen.push(JSON.parse(event.data).seq);
    });
    source.onerror = () => {
      window.errors += 1; source.close(); setTimeout(connect, 300);
    };
  };
  connect();
}
"""


def test_a_visitor_on_another_site_gets_messages_live_and_loses_none_when_the_stream_is_cut(
    browser,  # noqa: F811
    site,  # noqa: F811
    workspace,
    owner_actor,
    settings,
):
    settings.REDIS_URL = ""
    workspace.allowed_origins = [site.url]
    workspace.save()
    started = handover_conversation(workspace, owner_actor)
    token, first = started.token, started.conversation.last_seq
    tier = StreamTier(capacity=4).start()
    try:
        page = browser.new_context().new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(site.page("chat.html", "<p>Questions? Ask us.</p>"))
        page.evaluate(SCRIPT, visitor_stream_url(tier.base, workspace, token))
        page.wait_for_function(f"window.seen.length === {first}")

        def say(text: str) -> None:
            services.conversation_message_post(
                workspace=workspace, token=token, text=text, client_id=uuid.uuid4().hex
            )

        say("Is anyone there?")
        page.wait_for_function(f"window.seen.length === {first + 1}", timeout=10_000)
        tier.stop()  # every stream cut mid-conversation
        page.wait_for_function("window.errors >= 1", timeout=10_000)
        say("Hello?")
        say("I will wait.")
        tier.start()
        page.wait_for_function(f"window.seen.length >= {first + 3}", timeout=20_000)
        say("Thanks!")
        page.wait_for_function(f"window.seen.length >= {first + 4}", timeout=10_000)
        page.wait_for_timeout(500)  # a duplicate would arrive now
        assert page.evaluate("window.seen") == list(range(1, first + 5))
        assert page.evaluate("window.opened") >= 2
        assert errors == []
    finally:
        tier.stop()
