"""The launcher follows the visitor, in Chromium, on a customer's site on a second origin.

- On a single-page app the launcher asks again on each new route (the tracker's
  ``leadflow:page`` event): the button shows on the routes a flow runs on and goes away on
  the others.
- A chat a person has (or is waiting for) follows the visitor to pages where no flow runs;
  what the person writes while the panel is closed shows as a count on the launcher, also
  after the visitor opened another page, and opening the panel reads it.
"""

import uuid

import pytest
from playwright.sync_api import expect

from leadflow.chat import services
from leadflow.chat.models import Conversation
from leadflow.core.actors import Actor
from tests.chat.test_conversations import publish
from tests.chat.test_live_chat_e2e import site  # noqa: F401  (the site on a second origin)
from tests.chat.test_widget_e2e import bot_says, visit  # noqa: F401
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GRAPH = {
    "start": "email",
    "steps": [
        {"id": "email", "kind": "question", "text": "Your email?", "input": "email",
         "field": "email", "next": "ask"},
        {"id": "ask", "kind": "question", "text": "What would you like to know?",
         "input": "choice", "choices": [{"value": "Pricing"}, {"value": "A demo"}],
         "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks!"},
    ],
}  # fmt: skip
PRICING_ONLY = {"include": ["/pricing*"], "exclude": []}


def configured(response) -> bool:
    return "/e/chat/config" in response.url


def launcher(page):
    return page.get_by_role("button", name="Chat with us")


def test_on_a_single_page_app_the_button_shows_on_the_routes_a_flow_runs_on(
    site,  # noqa: F811
    visit,  # noqa: F811
    workspace,
    owner_actor,
):
    publish(workspace, owner_actor, graph=GRAPH, page_rules=PRICING_ONLY)
    page = visit()
    with page.expect_response(configured) as asked:  # the launcher asked, and was answered
        page.goto(site.write("app.html"))
    assert asked.value.json() == {"flow": None}
    page.wait_for_timeout(200)  # what the launcher does with the answer
    expect(launcher(page)).to_have_count(0)

    page.evaluate("history.pushState({}, '', '/pricing')")
    expect(launcher(page)).to_be_visible()
    page.evaluate("history.pushState({}, '', '/blog/hello')")
    expect(launcher(page)).to_be_hidden()
    page.go_back()  # popstate: /pricing again
    expect(launcher(page)).to_be_visible()
    launcher(page).click()
    bot_says(page, "Your email?")
    # Once the visitor talks, the chat stays on every route.
    page.evaluate("history.pushState({}, '', '/blog/hello')")
    page.wait_for_timeout(500)
    expect(page.get_by_role("dialog", name="Chat with us")).to_be_visible()
    assert page.javascript_errors == []


def test_a_chat_with_a_person_follows_the_visitor_and_counts_what_came_while_closed(
    site,  # noqa: F811
    visit,  # noqa: F811
    workspace,
    owner_actor,
    make_member,
):
    seller = make_member("sales", "sam@acme-widgets.com")
    sam = Actor(user=seller.user, api_key=None, membership=seller, label="sam")
    publish(workspace, owner_actor, graph=GRAPH, page_rules=PRICING_ONLY)
    page = visit()
    # What was read of an earlier conversation (its seq far ahead) must not hide this one's.
    page.add_init_script(
        "if (!sessionStorage.seeded) { sessionStorage.seeded = 1; "
        f"localStorage.setItem('lf_chat_r:{workspace.public_key}', '50'); }}"
    )
    page.goto(site.write("pricing.html"))
    launcher(page).click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    bot_says(page, "Your email?")
    dialog.locator("#lf-in").fill("ann@initech.com")
    dialog.locator("#lf-in").press("Enter")
    bot_says(page, "What would you like to know?")
    dialog.get_by_role("button", name="Talk to a person").first.click()
    expect(dialog.get_by_role("status")).to_have_text("Waiting for a person")
    expect(dialog.locator("#lf-in")).to_be_focused()  # not lost with the button that went
    expect(dialog.get_by_role("button", name="Pricing")).to_be_disabled()  # the bot's, gone
    conversation = Conversation.objects.get(workspace=workspace)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Sam answers while the panel is closed: the launcher counts it (the poll brings it).
    services.agent_reply(
        workspace=workspace, conversation_id=conversation.pk, actor=sam,
        text="Hi Ann, Sam here.", client_id=uuid.uuid4().hex,
    )  # fmt: skip
    counted = page.get_by_role("button", name="Chat with us, 1 new message")
    expect(counted).to_be_visible(timeout=15_000)

    # Another page of the site where no flow runs: the chat is there, the count too.
    page.goto(site.write("about.html", "<p>About us.</p>"))
    expect(counted).to_be_visible()
    expect(page.get_by_role("dialog", name="Chat with us")).to_be_hidden()
    services.agent_reply(
        workspace=workspace, conversation_id=conversation.pk, actor=sam,
        text="Are you there?", client_id=uuid.uuid4().hex,
    )  # fmt: skip
    expect(page.get_by_role("button", name="Chat with us, 2 new messages")).to_be_visible(
        timeout=15_000
    )
    page.get_by_role("button", name="Chat with us, 2 new messages").click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog.get_by_text("Hi Ann, Sam here.")).to_be_visible()
    expect(dialog.get_by_text("Are you there?")).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="Chat with us", exact=True)).to_have_count(1)
    # Read: closed again and on another page, no count.
    page.keyboard.press("Escape")
    page.goto(site.write("team.html", "<p>Team.</p>"))
    expect(page.get_by_role("button", name="Chat with us", exact=True)).to_be_visible()

    # Sam closes the chat: the next page without a flow has no chat any more.
    services.conversation_close(workspace=workspace, conversation_id=conversation.pk, actor=sam)
    page.wait_for_function(  # the poll brings the end to the open page
        "() => !Object.keys(localStorage).some((name) => name.startsWith('lf_chat_l:'))",
        timeout=15_000,
    )
    with page.expect_response(configured) as asked:
        page.goto(site.write("jobs.html", "<p>Jobs.</p>"))
    assert asked.value.json() == {"flow": None}  # not asked as live any more
    page.wait_for_timeout(200)
    expect(launcher(page)).to_have_count(0)
    assert page.javascript_errors == []


def test_the_button_moves_above_a_pop_up_bar_at_the_bottom_while_it_shows(
    site,  # noqa: F811
    visit,  # noqa: F811
    workspace,
    owner_actor,
):
    from tests.capture.test_popups_e2e import popup

    publish(workspace, owner_actor, graph=GRAPH)
    popup(
        workspace, owner_actor, "Meet us at the expo", body="Stand B12.", style="bottom_bar",
        content="notice", triggers={"time_seconds": 0.3},
    )  # fmt: skip
    page = visit(viewport={"width": 1440, "height": 900})
    page.goto(site.write("expo.html"))
    bar = page.get_by_role("dialog", name="Meet us at the expo")
    expect(bar).to_be_visible()
    expect(launcher(page)).to_be_visible()
    page.wait_for_timeout(200)

    def overlap(a, b):
        return not (a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])

    button, banner = launcher(page).bounding_box(), bar.bounding_box()
    assert not overlap(button, banner), (button, banner)
    assert button["y"] + button["height"] <= banner["y"]
    launcher(page).click()  # the panel opens above the button, clear of the bar too
    panel = page.get_by_role("dialog", name="Chat with us")
    expect(panel).to_be_visible()
    assert not overlap(panel.bounding_box(), banner)
    bar.get_by_role("button", name="Close").click()
    expect(bar).to_be_hidden()
    page.wait_for_timeout(100)
    assert launcher(page).bounding_box()["y"] > button["y"]  # back down to the corner
    assert page.javascript_errors == []
