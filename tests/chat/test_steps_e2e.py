"""An order paid in the chat, in Chromium from a customer's site on a second origin: a plain
page (fetch() to the public /e/chat endpoints, drawing the messages, their choice buttons,
the product card and the payment link) walks a flow to the product; the visitor clicks Buy;
the worker opens the checkout (a local stand-in for Stripe, never the network) and the
page shows the payment link; the test posts Stripe's signed webhook fixture; the worker
delivers ``order.paid`` and the visitor's poll shows "Payment received"; the deal is won."""

import json
import urllib.request

import pytest

from leadflow.chat import services
from leadflow.deals.models import Deal, Order
from leadflow.deals.services.payments import stripe_webhook_token
from tests.capture.test_embeds_e2e import CustomerSite
from tests.capture.test_notifications import run_worker
from tests.chat.test_steps_services import shop_graph
from tests.deals.conftest import make_product  # noqa: F401
from tests.deals.test_payments import event, fake_stripe, sign, stripe_settings  # noqa: F401
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A customer's page talking to the chat's public endpoints as a widget does: start, send
# (a typed answer or a clicked choice's value), poll every half second from the last seq.
WIDGET = """
<ol id="log" aria-live="polite"></ol>
<div id="choices"></div>
<form id="say"><label for="text">Your answer</label> <input id="text" autocomplete="off">
<button>Send</button></form>
<script>
const chat = {base: '', key: '', token: '', seq: 0};
const log = document.getElementById('log'), choices = document.getElementById('choices');
function draw(messages) {
  for (const m of messages) {
    if (m.seq <= chat.seq) continue;
    chat.seq = m.seq;
    const item = document.createElement('li');
    item.dataset.author = m.author;
    item.textContent = m.text;
    const p = m.payload || {};
    if (p.product) {
      const card = document.createElement('p');
      card.className = 'product';
      card.textContent = `${p.product.name}: ${p.product.price} ${p.product.currency}`;
      item.append(card);
    }
    if (p.order) {
      const link = document.createElement('a');
      link.href = p.order.checkout_url;
      link.textContent = `Pay ${p.order.amount} ${p.order.currency}`;
      item.append(' ', link);
    }
    log.append(item);
    choices.replaceChildren();
    for (const c of p.choices || []) {
      const button = document.createElement('button');
      button.textContent = c.label;
      button.onclick = () => send(c.value);
      choices.append(button);
    }
  }
}
async function post(path, body) {
  const response = await fetch(chat.base + path, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({key: chat.key, ...body})});
  return response.json();
}
async function send(text) {
  draw((await post('/e/chat/message', {token: chat.token, text,
    client_id: crypto.randomUUID()})).messages);
}
async function poll() {
  const token = encodeURIComponent(chat.token);
  const response = await fetch(
    `${chat.base}/e/chat/messages?key=${chat.key}&token=${token}&after=${chat.seq}`);
  draw((await response.json()).messages);
}
window.chatStart = async (base, key) => {
  Object.assign(chat, {base, key});
  const start = await post('/e/chat/start', {page_url: location.href});
  chat.token = start.token;
  draw(start.messages);
  setInterval(poll, 500);
};
document.getElementById('say').onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  send(input.value);
  input.value = '';
};
</script>
"""


@pytest.fixture
def site(tmp_path):
    site = CustomerSite(tmp_path)
    yield site
    site.close()


def test_a_visitor_buys_in_the_chat_and_sees_the_payment_arrive(
    browser,  # noqa: F811
    site,
    live_server,
    workspace,
    owner_actor,
    owner,
    make_product,  # noqa: F811
    fake_stripe,  # noqa: F811
):
    workspace.allowed_origins = [site.url]
    workspace.save()
    kite = make_product(name="Kite", price="120.50")
    graph = shop_graph(kite.pk, owner.pk)
    graph["steps"][1]["paid"] = "bye"  # straight to the thanks once paid
    graph["steps"] = [step for step in graph["steps"] if step["kind"] != "meeting"]
    flow = services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Shop bot", "graph": graph}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)

    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site.page("shop.html", WIDGET))
    page.evaluate("([base, key]) => chatStart(base, key)", [live_server.url, workspace.public_key])
    page.get_by_text("Your email?").wait_for()
    page.get_by_label("Your answer").fill("ann@initech.com")
    page.get_by_role("button", name="Send").click()
    page.locator(".product").get_by_text("Kite: 120.50 EUR").wait_for()
    page.get_by_role("button", name="Buy").click()
    page.locator("li[data-author=visitor]", has_text="buy").wait_for()

    order = Order.objects.get(workspace=workspace)
    assert order.status == "pending" and order.contact.email == "ann@initech.com"
    run_worker()  # the checkout is asked of Stripe in the worker, never in the request
    link = page.get_by_role("link", name="Pay 120.50 EUR")
    link.wait_for()
    assert link.get_attribute("href") == "https://checkout.stripe.com/c/pay/cs_test_42"

    body = event("checkout.session.completed", order)
    request = urllib.request.Request(
        f"{live_server.url}/hooks/stripe/{stripe_webhook_token(workspace.pk)}/",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["outcome"] == "paid"
    run_worker()  # delivers order.paid to the chat's subscriber
    page.get_by_text("Payment received").wait_for()
    page.get_by_text("Thanks!").wait_for()
    texts = page.locator("#log li").all_inner_texts()
    assert texts.count("Payment received") == 1
    assert Deal.objects.get(pk=order.deal_id).status == "won"
    assert errors == []
