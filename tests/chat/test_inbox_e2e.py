"""Hand-over in Chromium, two browser contexts: the visitor, on a customer's site (a second
origin), asks for a person by fetch() and polls; a salesperson in the inbox sees the chat
arrive in the thread by its poll, claims it, writes a note and replies; the visitor's poll
sees the reply with the assignee, and never the note. The inbox at 1440 and 390 px: no
sideways scroll, the reply box labelled and usable by keyboard."""

import pytest
from playwright.sync_api import expect

from leadflow.chat import services
from leadflow.chat.models import CannedReply, Conversation
from tests.capture.test_embeds_e2e import CustomerSite
from tests.chat.test_handover import GRAPH
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VISITOR = """
async ([base, key]) => {
  const post = async (path, body) => {
    const response = await fetch(base + path, {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({key, ...body})});
    return [response.status, await response.json()];
  };
  const [, start] = await post('/e/chat/start', {page_url: location.href});
  window.chat = {token: start.token, last: start.last_seq};
  await post('/e/chat/message', {token: start.token, text: 'ann@initech.com',
    client_id: crypto.randomUUID()});
  const talk = crypto.randomUUID();
  const [status, handed] = await post('/e/chat/handover', {token: start.token, client_id: talk});
  const [again] = await post('/e/chat/handover', {token: start.token, client_id: talk});
  window.chat.last = handed.last_seq;
  return {status, again, payload: handed.messages[0].payload, chatStatus: handed.status};
}
"""

POLL = """
async ([base, key]) => {
  const token = encodeURIComponent(window.chat.token);
  const response = await fetch(`${base}/e/chat/messages?key=${key}&token=${token}&after=0`);
  const body = await response.json();
  return {status: body.status, assignee: body.assignee,
          messages: body.messages.map(m => [m.author, m.text, m.payload])};
}
"""


@pytest.fixture
def site(tmp_path):
    site = CustomerSite(tmp_path)
    yield site
    site.close()


def test_a_salesperson_answers_from_the_inbox_and_the_visitor_sees_it(
    browser,  # noqa: F811
    site,
    live_server,
    workspace,
    owner_actor,
    make_member,
):
    seller = make_member("sales", "sam@acme-widgets.com").user
    seller.full_name = "Sam Rivera"
    seller.save()
    workspace.allowed_origins = [site.url]
    workspace.save()
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Site bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    CannedReply.objects.create(
        workspace=workspace, title="Greeting", text="Thanks for waiting! ", shortcut="/hi"
    )
    base, key = live_server.url, workspace.public_key

    agent_context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    agent = agent_context.new_page()
    agent_errors = []
    agent.on("pageerror", lambda error: agent_errors.append(str(error)))
    log_in(agent, "sam@acme-widgets.com")
    agent.goto(f"/w/{workspace.slug}/chat/inbox/")
    expect(agent.get_by_text("No chats here.")).to_be_visible()

    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(site.page("pricing.html", "<p>Plans and prices.</p>"))
    handed = visitor.evaluate(VISITOR, [base, key])
    assert handed["status"] == 201 and handed["again"] == 200
    assert handed["payload"]["handover"] == "waiting" and handed["chatStatus"] == "waiting"
    conversation = Conversation.objects.get(workspace=workspace)

    agent.goto(f"/w/{workspace.slug}/chat/inbox/?view=unassigned")
    agent.get_by_role("link", name="ann@initech.com").first.click()
    thread = agent.locator("#thread")
    live = agent.locator("[data-chat-live]")
    expect(live).to_have_attribute("data-conversation", str(conversation.pk))
    # The visitor writes while the agent looks: the thread's poll brings it in.
    visitor.evaluate(
        """async ([base, key]) => fetch(base + '/e/chat/message', {method: 'POST',
          headers: {'Content-Type': 'application/json'}, body: JSON.stringify({key,
          token: window.chat.token, text: 'Is anyone there?', client_id: crypto.randomUUID()})})
        """,
        [base, key],
    )
    expect(thread.get_by_text("Is anyone there?")).to_be_visible(timeout=10_000)
    expect(live).to_have_attribute("data-last-seq", str(conversation.last_seq + 1))

    agent.get_by_role("button", name="Claim").click()
    expect(agent.get_by_text("The chat is yours.")).to_be_visible()
    box = agent.get_by_label("Message")
    box.fill("Budget is 5k, be nice")
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator(".inbox-msg.is-note")).to_contain_text("Budget is 5k")
    agent.get_by_label("Canned reply").select_option(label="Greeting (/hi)")
    expect(agent.get_by_label("Message")).to_have_value("Thanks for waiting! ")
    agent.get_by_label("Message").press("End")
    agent.get_by_label("Message").type("Sam here, how can I help?")
    agent.get_by_role("button", name="Send", exact=True).click()
    expect(agent.locator(".inbox-msg.from-agent").last).to_contain_text("how can I help?")

    seen = visitor.evaluate(POLL, [base, key])
    assert seen["status"] == "assigned" and seen["assignee"] == {"name": "Sam R."}
    texts = [text for _, text, _ in seen["messages"]]
    assert "Thanks for waiting! Sam here, how can I help?" in texts
    assert not any("Budget" in text for text in texts)
    [reply] = [m for m in seen["messages"] if m[0] == "agent"]
    assert reply[2] == {"agent": "Sam"}

    for width in (1440, 390):
        agent.set_viewport_size({"width": width, "height": 900})
        agent.reload()
        assert agent.evaluate(NO_SIDEWAYS_SCROLL) <= 0, width
        shoot(agent, "chat-inbox", width, top=True)
    agent.goto(f"/w/{workspace.slug}/chat/inbox/")
    assert agent.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(agent, "chat-inbox-list", 390, top=True)
    agent.goto(f"/w/{workspace.slug}/chat/canned/")
    agent.get_by_label("Title").fill("Pricing")
    agent.get_by_label("Shortcut").fill("price")
    agent.get_by_label("Text").fill("Plans start at $10 a month.")
    agent.get_by_role("button", name="Save").click()
    expect(agent.get_by_role("link", name="Pricing")).to_be_visible()
    assert agent.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    shoot(agent, "chat-canned", 390, top=True)
    assert agent_errors == []
    agent_context.close()
    visitor_context.close()
