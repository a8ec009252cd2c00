"""The widget's endpoints in Chromium, from a customer's site on a second origin: fetch() starts
a conversation, answers the bot up to the email question and leaves; the lead exists with its
answers; a reload resumes by token and replays from the database; a site not on the
allowlist is told so. (The chat widget's own UI comes with a later change.)"""

import pytest

from leadflow.chat import services
from leadflow.chat.models import Message
from leadflow.contacts.models import Activity, Contact
from tests.capture.test_embeds_e2e import CustomerSite
from tests.chat.test_conversations import GRAPH
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What a widget does: start (or resume with the token it kept), send, poll.
SCRIPT = """
async ([base, key, answers]) => {
  const post = async (path, body) => {
    const response = await fetch(base + path, {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({key, ...body})});
    return [response.status, await response.json()];
  };
  const [status, start] = await post('/e/chat/start', {page_url: location.href,
    visitor_id: 'visitor-e2e-01', token: localStorage.getItem('chat') || undefined});
  localStorage.setItem('chat', start.token);
  const seen = start.messages.map(m => m.text);
  for (const text of answers) {
    const [, reply] = await post('/e/chat/message',
      {token: start.token, text, client_id: crypto.randomUUID()});
    seen.push(...reply.messages.map(m => m.text));
  }
  const token = encodeURIComponent(start.token);
  const polled = await fetch(`${base}/e/chat/messages?key=${key}&token=${token}&after=0`);
  const all = await polled.json();
  return {status, seen, seqs: all.messages.map(m => m.seq), resumed: start.resumed};
}
"""


@pytest.fixture
def site(tmp_path):
    site = CustomerSite(tmp_path)
    yield site
    site.close()


def test_a_visitor_on_another_site_answers_leaves_and_is_a_lead(
    browser,  # noqa: F811
    site,
    live_server,
    workspace,
    owner_actor,
):
    workspace.allowed_origins = [site.url]
    workspace.save()
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Site bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    url = site.page("pricing.html", "<p>Plans and prices.</p>")
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    base, key = live_server.url, workspace.public_key
    first = page.evaluate(SCRIPT, [base, key, ["Ann", "ann@initech.com"]])
    assert first["status"] == 201
    assert first["seen"] == [
        "Hi! A few questions.",
        "Your first name?",
        "Ann",
        "Your email?",
        "ann@initech.com",
        "Your role?",
    ]
    assert first["seqs"] == [1, 2, 3, 4, 5, 6]
    # The visitor closes the tab here: the lead exists with the answers so far.
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    assert contact.first_name == "Ann"
    assert Activity.objects.filter(contact=contact, kind="chat.answered").exists()
    # A reload resumes the same conversation from the token the page kept.
    page.reload()
    again = page.evaluate(SCRIPT, [base, key, ["founder", "12"]])
    assert again["status"] == 200 and again["resumed"]
    assert again["seen"][-4:] == ["founder", "Team size?", "12", "Thanks, talk soon!"]
    assert again["seqs"] == list(range(1, 11))
    assert Message.objects.filter(workspace=workspace).count() == 10
    # Another site is told it may not use the chat (and learns nothing else).
    workspace.allowed_origins = ["https://www.acme-widgets.com"]
    workspace.save()
    refused = page.evaluate(
        """async ([base, key]) => {
          const response = await fetch(base + '/e/chat/start', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({key})});
          return [response.status, (await response.json()).code];
        }""",
        [base, key],
    )
    assert refused == [403, "origin_not_allowed"]
    assert errors == []
    context.close()
