"""The chat widget in Chromium, on a customer's site on a second origin (the app on the live
server, the site a static server on 127.0.0.1 that allows it).

lf.js loads the launcher only while the chat may show; the launcher draws its button and
loads the chat UI on the first click; a visitor answers the bot through the widget's inputs
and leaves midway (the lead exists with the answers), reloads (the conversation resumes,
the panel open again) and finishes; the knowledge base answers with its citation and its
middle band's buttons (the worker's queued task run as the worker runs it); the consent
gate; a proactive start after a delay; a phone's width with the keyboard only, and axe.
"""

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadflow.chat import knowledge, services
from leadflow.chat.models import Conversation, Message
from leadflow.chat.tasks import conversation_knowledge_reply_task
from leadflow.contacts.models import Activity, Contact
from tests.capture import test_popups_e2e
from tests.capture.test_embeds_e2e import CustomerSite
from tests.chat.knowledge_helpers import run_embedding_tasks, run_queued
from tests.chat.test_conversations import publish
from tests.e2e.conftest import _orm_beside_playwright, browser  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[1] / "e2e" / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
KNOWLEDGE_GRAPH = {
    "start": "ask",
    "steps": [{"id": "ask", "kind": "knowledge", "text": "Ask me anything.", "next": "ask"}],
}


visit = test_popups_e2e.visit  # pages in fresh browser profiles, errors and requests kept


class Site(CustomerSite):
    """The customer's static site: pages with the tracker, or with the launcher alone."""

    def __init__(self, root: Path, live_server, workspace):
        super().__init__(root)
        self.app = live_server.url
        self.key = workspace.public_key

    def write(self, name: str, body: str = "<p>Plans and prices.</p>", *, tracker=True) -> str:
        if tracker:
            script = f'<script src="{self.app}/static/leadflow/lf.js" data-key="{self.key}" async>'
        else:  # the direct embed, without the tracker
            script = (
                f'<script src="{self.app}/static/leadflow/chat-launcher.js?k={self.key}" async>'
            )
        (self.root / name).write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"{script}</script></head><body style='margin:0;font:16px sans-serif'>"
            f"<main><h1>Acme Widgets</h1>{body}</main></body></html>"
        )
        return f"{self.url}/{name}"


@pytest.fixture
def site(tmp_path, live_server, workspace):
    workspace.allowed_origins = []  # set per test once the site's port is known
    site = Site(tmp_path, live_server, workspace)
    workspace.allowed_origins = [site.url]
    workspace.save()
    yield site
    site.close()


def bot_says(page, text):
    expect(page.locator(".m.bot", has_text=text).last).to_be_visible()


def requested(page, name) -> bool:
    return any(name in address for address in page.requested)


def wait_for(check, timeout=15):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_the_tracker_loads_the_launcher_and_a_visitor_answers_leaves_resumes_and_finishes(
    site, visit, workspace, owner_actor
):
    url = site.write("pricing.html")
    # No flow yet: the tracker loads nothing for the chat.
    page = visit()
    page.goto(url)
    page.wait_for_function("() => window.leadflow && window.leadflow.visitorId")
    page.wait_for_timeout(300)
    assert not requested(page, "chat-launcher.js")

    publish(workspace, owner_actor)
    page = visit()
    page.goto(url)
    launcher = page.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.wait_for_timeout(200)
    assert not requested(page, "chat-widget.js")  # nothing more before the visitor asks
    launcher.click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    bot_says(page, "Hi! A few questions.")
    bot_says(page, "Your first name?")
    answer = dialog.get_by_label("Your answer")
    expect(answer).to_be_focused()
    answer.fill("Ann")
    answer.press("Enter")
    bot_says(page, "Your email?")
    email = dialog.get_by_label("Your email address")
    expect(email).to_have_attribute("type", "email")
    email.fill("ann@initech.com")
    dialog.get_by_role("button", name="Send", exact=True).click()
    bot_says(page, "Your role?")
    dialog.get_by_role("button", name="Founder").click()
    bot_says(page, "Team size?")
    expect(dialog.get_by_role("button", name="Founder")).to_be_disabled()
    # The visitor leaves here: the lead exists with the answers so far.
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    assert (contact.first_name, contact.job_title) == ("Ann", "Founder")
    assert Activity.objects.filter(contact=contact, kind="chat.answered").exists()
    conversation = Conversation.objects.get(workspace=workspace)
    assert conversation.visitor_id == page.evaluate("window.leadflow.visitorId")

    # A reload resumes the conversation, the panel open again as it was.
    page.reload()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog).to_be_visible()
    bot_says(page, "Team size?")
    expect(dialog.locator(".m")).to_have_count(8)
    # The network drops as the visitor answers: the message waits, is sent again with the
    # same id once the network is back, and is stored once.
    page.context.set_offline(True)
    dialog.get_by_label("A number").fill("12")
    dialog.get_by_label("A number").press("Enter")
    expect(dialog.get_by_text("Not sent yet; trying again…")).to_be_visible()
    page.context.set_offline(False)
    bot_says(page, "Thanks, talk soon!")
    expect(dialog.get_by_text("Not sent yet; trying again…")).to_have_count(0)
    assert Message.objects.filter(author="visitor", text="12").count() == 1
    expect(dialog.get_by_role("status").filter(has_text="Chat ended")).to_be_visible()
    expect(dialog.get_by_role("group", name="How was this chat?")).to_be_visible()
    assert Conversation.objects.get(pk=conversation.pk).status == "closed"
    assert Message.objects.filter(conversation=conversation).count() == 10
    assert [m.seq for m in Message.objects.filter(conversation=conversation)] == list(range(1, 11))
    # An answer read before the chat ended and delivered after it (a slow poll; a stream's
    # status event read before the last post committed) does not open the chat again.
    late = {"conversation": conversation.pk, "status": "bot", "last_seq": 9, "assignee": None}

    def polled(url):
        return "/e/chat/messages" in url

    cors = {"Access-Control-Allow-Origin": site.url}
    page.route(polled, lambda route: route.fulfill(json={**late, "messages": []}, headers=cors))
    with page.expect_response(lambda response: polled(response.url)):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # a catch-up
    page.wait_for_timeout(200)
    expect(dialog.get_by_role("status").filter(has_text="Chat ended")).to_be_visible()
    expect(dialog.get_by_role("button", name="Talk to a person")).to_be_hidden()
    page.unroute(polled)
    # Escape closes the panel and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    assert page.javascript_errors == []


def test_the_knowledge_base_answers_with_its_citation_and_offers_its_middle_band(
    site, visit, workspace, owner_actor
):
    add = lambda title, body, **data: knowledge.entry_create(  # noqa: E731
        workspace=workspace, actor=owner_actor, data={"title": title, "body": body, **data}
    )
    add(
        "Is there a free trial?",
        "Every plan starts with a 14-day free trial; no card is needed.",
        phrasings=["Can I try it for free?"],
        link="https://help.example.com/trial",
    )
    add("How do I reset my password?", "Use “Forgot password” on the sign-in page.")
    add("How do I change my password?", "Profile → Security → Change password.")
    add("Can I change my email address?", "Profile → Account → Email.")
    run_embedding_tasks()
    publish(workspace, owner_actor, KNOWLEDGE_GRAPH)
    page = visit()
    page.goto(site.write("help.html", tracker=False))  # the direct embed
    page.get_by_role("button", name="Chat with us").click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    bot_says(page, "Ask me anything.")
    dialog.get_by_label("Your answer").fill("do you have a free trial period")
    dialog.get_by_label("Your answer").press("Enter")
    expect(dialog.get_by_text("Thinking…")).to_be_visible()
    # A worker slow to answer: after 20 s the visitor is offered a person.
    offer = dialog.get_by_role("status").filter(has_text="This is taking a while.")
    expect(offer.get_by_role("button", name="Talk to a person")).to_be_visible(timeout=30_000)
    assert run_queued(conversation_knowledge_reply_task) == 1  # the worker answers
    bot_says(page, "Every plan starts with a 14-day free trial")
    source = dialog.get_by_role("link", name="Is there a free trial?")
    expect(source).to_have_attribute("href", "https://help.example.com/trial")
    expect(dialog.get_by_text("Thinking…")).to_be_hidden()
    expect(offer).to_be_hidden()

    dialog.get_by_label("Your answer").fill("password")
    dialog.get_by_label("Your answer").press("Enter")
    expect(dialog.get_by_text("Thinking…")).to_be_visible()
    assert run_queued(conversation_knowledge_reply_task) == 1
    bot_says(page, "Is it one of these?")
    band = dialog.get_by_role("group", name="Replies").last
    expect(band.get_by_role("button")).to_have_count(3)
    band.get_by_role("button", name="How do I reset my password?").click()
    expect(dialog.locator(".m.visitor", has_text="How do I reset my password?")).to_be_visible()
    wait_for(lambda: run_queued(conversation_knowledge_reply_task) == 1)
    bot_says(page, "Use “Forgot password” on the sign-in page.")
    assert page.javascript_errors == []


def test_consent_comes_before_the_first_message_and_is_kept_on_the_conversation(
    site, visit, workspace, owner_actor
):
    services.chat_settings_update(
        workspace=workspace,
        actor=owner_actor,
        changes={
            "consent_required": True,
            "consent_text": "We keep this chat to answer you.",
            "privacy_url": "https://acme.example/privacy",
            "greeting": "Questions? We answer in minutes.",
        },
    )
    publish(workspace, owner_actor)
    page = visit()
    page.goto(site.write("consent.html"))
    page.get_by_role("button", name="Chat with us").click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog.get_by_text("Questions? We answer in minutes.")).to_be_visible()
    expect(dialog.get_by_text("We keep this chat to answer you.")).to_be_visible()
    expect(dialog.get_by_role("link", name="Privacy policy")).to_have_attribute(
        "href", "https://acme.example/privacy"
    )
    accept = dialog.get_by_role("button", name="Accept and start the chat")
    expect(accept).to_be_focused()
    expect(dialog.get_by_label("Your message")).to_be_hidden()
    assert not Conversation.objects.filter(workspace=workspace).exists()  # nothing yet
    accept.click()
    bot_says(page, "Your first name?")
    conversation = Conversation.objects.get(workspace=workspace)
    assert conversation.state["consent"]["text"] == "We keep this chat to answer you."
    assert page.javascript_errors == []


def test_a_proactive_start_shows_its_message_after_the_delay_once_per_visitor(
    site, visit, workspace, owner_actor
):
    publish(
        workspace,
        owner_actor,
        proactive={"enabled": True, "message": "Need a hand with pricing?", "delay_seconds": 1},
    )
    url = site.write("proactive.html")
    page = visit()
    started = time.monotonic()
    page.goto(url)
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    bubble = page.get_by_role("button", name="Need a hand with pricing?")
    expect(bubble).to_be_visible()
    assert time.monotonic() - started >= 1
    assert requested(page, "chat-widget.js")  # the proactive start loads the chat UI
    bubble.click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog.locator(".m.bot").first).to_have_text("Bot: Need a hand with pricing?")
    bot_says(page, "Your first name?")
    # The same visitor on another page: not again today.
    page.keyboard.press("Escape")
    other = visit(page.context)
    other.goto(site.write("other.html"))
    expect(other.get_by_role("button", name="Chat with us")).to_be_visible()
    other.wait_for_timeout(1500)
    expect(other.get_by_role("button", name="Need a hand with pricing?")).to_have_count(0)
    assert page.javascript_errors == [] and other.javascript_errors == []


def test_on_a_phone_the_panel_fills_the_screen_works_by_keyboard_and_passes_axe(
    site, visit, workspace, owner_actor
):
    publish(workspace, owner_actor)
    page = visit(**PHONE)
    page.goto(site.write("phone.html", "<p>" + "Long words " * 200 + "</p>"))
    page.get_by_role("button", name="Chat with us").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Chat with us")
    expect(dialog).to_be_visible()
    bot_says(page, "Your first name?")
    box = dialog.bounding_box()
    assert box["x"] == 0 and box["width"] == 390
    page.keyboard.type("Ann")
    page.keyboard.press("Enter")
    bot_says(page, "Your email?")
    page.keyboard.type("ann-" + "x" * 80 + "@initech.com")
    page.keyboard.press("Enter")
    bot_says(page, "Your role?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert dialog.evaluate("(panel) => panel.scrollWidth <= panel.clientWidth")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ['violations']});
          return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
            .map((v) => ({id: v.id, nodes: v.nodes.slice(0, 3).map((n) => n.target)}));
        }"""
    )
    assert violations == []
    if path := __import__("os").environ.get("LEADFLOW_SCREENSHOTS"):
        page.screenshot(path=f"{path}/chat-widget-390.png")
    assert page.javascript_errors == []


def _said(conversation_id, author, text="", **payload):
    """A message written as another part of the chat writes it (an agent's reply, the
    steps' product, order and slots, the hand-over's notice): the next seq under the
    conversation's row lock. Those parts build their own services; the widget only draws."""
    from django.db import transaction

    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        conversation.last_seq += 1
        conversation.save(update_fields=["last_seq"])
        Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            seq=conversation.last_seq,
            author=author,
            text=text,
            payload=payload,
        )


def test_what_the_other_parts_of_the_chat_say_arrives_by_the_poll_and_is_drawn(
    site, visit, workspace, owner_actor
):
    publish(workspace, owner_actor)
    page = visit()
    page.goto(site.write("cards.html"))
    page.get_by_role("button", name="Chat with us").click()
    dialog = page.get_by_role("dialog", name="Chat with us")
    bot_says(page, "Your first name?")
    conversation = Conversation.objects.get(workspace=workspace)
    _said(conversation.pk, "agent", "Hi, Sam here. <b>not bold</b>", agent="Sam")
    _said(
        conversation.pk,
        "bot",
        "Our best seller:",
        product={
            "name": "Kite board",
            "price": "249.00",
            "currency": "EUR",
            "description": "Light.",
        },
    )
    _said(conversation.pk, "bot", "Your order:", order={"checkout_url": "https://pay.example/c/1"})
    _said(
        conversation.pk,
        "bot",
        "Pick a time:",
        slots=[
            {"label": "Mon 10:00", "value": "2030-01-07T10:00"},
            {"label": "Tue 11:00", "value": "2030-01-08T11:00"},
        ],
    )
    _said(conversation.pk, "system", handover="offline", ask_email=True)
    # The poll (no stream here) brings them, in order, each drawn by its kind.
    expect(dialog.get_by_text("Hi, Sam here. <b>not bold</b>")).to_be_visible()  # text, not markup
    expect(dialog.locator(".m.agent .who")).to_have_text("Sam")
    expect(dialog.get_by_text("Kite board")).to_be_visible()
    expect(dialog.get_by_text("€249.00")).to_be_visible()
    expect(dialog.get_by_role("link", name="Pay")).to_have_attribute(
        "href", "https://pay.example/c/1"
    )
    expect(dialog.get_by_text("We're away right now.", exact=False)).to_be_visible()
    expect(dialog.get_by_label("Your email, and we'll reply there")).to_be_visible()
    dialog.get_by_role("button", name="Mon 10:00").click()
    expect(dialog.locator(".m.visitor", has_text="2030-01-07T10:00")).to_be_visible()
    wait_for(lambda: Message.objects.filter(conversation=conversation, author="visitor").exists())
    assert Message.objects.get(conversation=conversation, author="visitor").text == (
        "2030-01-07T10:00"
    )
    expect(dialog.get_by_role("button", name="Buy Kite board")).to_be_disabled()  # history now
    expect(dialog.locator(".m[data-seq]")).to_have_count(9)  # the bot's answer to the slot
    assert [
        int(s)
        for s in dialog.locator(".m[data-seq]").evaluate_all(
            "(nodes) => nodes.map((node) => node.dataset.seq)"
        )
    ] == list(range(1, 10))  # the bot asked again after the slot
    assert page.javascript_errors == []


def test_a_proactive_start_by_scroll_depth_or_by_exit_intent(site, visit, workspace, owner_actor):
    publish(
        workspace,
        owner_actor,
        page_rules={"include": ["/long.html"]},
        proactive={"enabled": True, "message": "Read this far?", "scroll_percent": 60},
    )
    flow = publish(
        workspace,
        owner_actor,
        page_rules={"include": ["/leaving.html"]},
        proactive={
            "enabled": True,
            "message": "Before you go?",
            "exit_intent": True,
            "once_per_days": 0,
        },
    )
    page = visit()
    page.goto(site.write("long.html", "<p style='height:4000px'>A long page.</p>"))
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    page.mouse.wheel(0, 500)
    page.wait_for_timeout(300)
    assert not requested(page, "chat-widget.js")  # not that far yet: nothing loaded
    page.mouse.wheel(0, 2500)
    expect(page.get_by_role("button", name="Read this far?")).to_be_visible()

    page.goto(site.write("leaving.html"))
    expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    page.mouse.move(600, 400)
    page.mouse.move(600, 20, steps=4)
    page.wait_for_timeout(200)
    expect(page.get_by_role("button", name="Before you go?")).to_have_count(0)
    page.mouse.move(600, -20, steps=2)  # out through the top
    bubble = page.get_by_role("button", name="Before you go?")
    expect(bubble).to_be_visible()
    page.get_by_role("button", name="Dismiss the message").click()
    expect(bubble).to_be_hidden()
    expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    assert page.evaluate(f"localStorage.getItem('lf_chat_p:{flow.pk}')")
    assert page.javascript_errors == []
