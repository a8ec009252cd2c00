"""Chat's part of the demo workspace (``leadflow.demo`` calls ``chat_demo_build``).

Everything goes through chat's own services, as the marketer and the visitors would: a
knowledge base of Northwind's questions and answers (embedded by the worker, as every
entry is), the "Website assistant" flow, published and active on every page, and visitors
who talked to it over the last two weeks. Each conversation is what the service stored for
the answers given: a visitor who gave an email became a lead through the lead-arrival
service (``chat.answered``); one who stopped before is a conversation without a contact;
the idle pass (what the worker runs every minute) then marks those left mid-flow, as it
would have. The knowledge base's answers are what the worker's tasks give (the entries'
embeddings, then each question's answer), run here at the moment the visitor asked.

Visitors' addresses are at ``example.com`` (RFC 2606).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from faker import Faker

from leadflow.chat.knowledge import entry_create, knowledge_embed
from leadflow.chat.models import Conversation, Flow, FlowStatus
from leadflow.chat.services import (
    conversation_knowledge_reply,
    conversation_message_post,
    conversation_start,
    flow_create,
    flow_publish,
)
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace

SITE = "https://www.northwind.example"
DEMO_MAIL_DOMAIN = "example.com"
CHAT_AGE = dt.timedelta(days=14)

KNOWLEDGE = (
    (
        "How much does Northwind cost?",
        ["What are your prices?", "How much is a licence?", "pricing plans"],
        "Northwind starts at $49 a month for one warehouse and up to 2,000 products; "
        "Growth is $199 a month for five warehouses. Every plan has a 14-day free trial.",
        f"{SITE}/pricing",
    ),
    (
        "Does Northwind integrate with Shopify?",
        ["Can I connect my Shopify store?", "Shopify integration"],
        "Yes. The Shopify app syncs products, stock levels and orders every five minutes; "
        "install it from Settings → Integrations.",
        f"{SITE}/integrations/shopify",
    ),
    (
        "How long does it take to set up?",
        ["How fast can we go live?", "onboarding time"],
        "Most teams import their products and suppliers in an afternoon. The setup guide "
        "takes about ten minutes, and our onboarding team helps on a call if you like.",
        f"{SITE}/guides/getting-started",
    ),
    (
        "Can Northwind forecast demand?",
        ["Do you do demand forecasting?", "predict sales"],
        "Yes. Forecasts use your last 24 months of sales, seasonality and open purchase "
        "orders, per product and warehouse, and suggest reorder points.",
        f"{SITE}/features/forecasting",
    ),
    (
        "Is my data safe with Northwind?",
        ["Where is my data stored?", "security", "GDPR"],
        "Your data is stored in the EU, encrypted at rest and in transit, backed up daily; "
        "we sign a data processing agreement with every customer.",
        f"{SITE}/security",
    ),
    (
        "Can I cancel at any time?",
        ["Is there a contract?", "cancel subscription"],
        "Yes. Plans are monthly or yearly; a monthly plan can be cancelled at any time and "
        "you can export all your data first.",
        "",
    ),
)

FLOW = {
    "start": "hello",
    "steps": [
        {
            "id": "hello",
            "kind": "message",
            "text": "Hi! I'm Northwind's assistant. I can answer questions or get you to our team.",
            "next": "topic",
        },
        {
            "id": "topic",
            "kind": "question",
            "text": "What brings you here today?",
            "input": "choice",
            "choices": [
                {"value": "question", "label": "I have a question", "next": "ask"},
                {"value": "demo", "label": "I'd like a demo"},
                {"value": "browsing", "label": "Just looking", "next": "bye"},
            ],
            "next": "email",
        },
        {
            "id": "email",
            "kind": "question",
            "text": "Great! What's your work email?",
            "input": "email",
            "field": "email",
            "next": "name",
        },
        {
            "id": "name",
            "kind": "question",
            "text": "And your first name?",
            "input": "text",
            "field": "first_name",
            "next": "size",
        },
        {
            "id": "size",
            "kind": "question",
            "text": "How many warehouses do you run?",
            "input": "choice",
            "choices": [
                {"value": "1", "label": "One"},
                {"value": "2-5", "label": "2 to 5"},
                {"value": "6+", "label": "6 or more"},
            ],
            "next": "tag",
        },
        {"id": "tag", "kind": "tag", "tag": "chat-demo-request", "next": "points"},
        {"id": "points", "kind": "score", "points": 15, "next": "person"},
        {
            "id": "person",
            "kind": "handover",
            "text": "Thanks! I'm passing you to our sales team.",
        },
        {
            "id": "ask",
            "kind": "knowledge",
            "text": "Ask me anything about Northwind.",
            "next": "more",
        },
        {
            "id": "more",
            "kind": "question",
            "text": "Can I help with anything else?",
            "input": "choice",
            "choices": [
                {"value": "yes", "label": "Another question", "next": "ask"},
                {"value": "demo", "label": "Book a demo", "next": "email"},
                {"value": "no", "label": "No, thanks"},
            ],
            "next": "bye",
        },
        {"id": "bye", "kind": "end", "text": "Thanks for stopping by!"},
    ],
}

# What the demo's visitors said, one list per visitor (each string a message).
VISITS = (
    ("/pricing", ["I'd like a demo", "{email}", "{first}", "2 to 5"]),
    ("/", ["I'd like a demo", "{email}", "{first}", "6 or more"]),
    ("/features/forecasting", ["I'd like a demo", "{email}"]),  # left after the email
    ("/integrations", ["I'd like a demo", "{email}", "{first}"]),  # left before the size
    ("/pricing", ["I'd like a demo"]),  # left before giving an email: no lead
    ("/", ["Just looking"]),
    ("/blog/safety-stock", ["I have a question"]),  # asked nothing
    ("/pricing", ["I have a question", "What does it cost for three warehouses?"]),
    ("/integrations", ["I have a question", "Can I hook up my Shopify shop?"]),
)


def chat_demo_build(
    *,
    workspace: Workspace,
    actor: Actor,
    rnd: random.Random,
    faker: Faker,
    at: Callable[[dt.datetime], AbstractContextManager[None]],
    now: dt.datetime,
    **_: Any,
) -> Flow:
    """The knowledge base, the published flow and its visitors' conversations (each run in
    ``at(moment)``, so the caller dates them over the last two weeks)."""
    with at(now - CHAT_AGE - dt.timedelta(days=1)):
        entries = []
        for title, phrasings, body, link in KNOWLEDGE:
            entries += entry_create(
                workspace=workspace,
                actor=actor,
                data={"kind": "question", "title": title, "phrasings": phrasings, "body": body,
                      "link": link},
            ),  # fmt: skip
        # What the worker's embedding task does for each new entry.
        for entry in entries:
            knowledge_embed(entry_id=entry.pk)
        flow = flow_create(
            workspace=workspace,
            actor=actor,
            data={"name": "Website assistant", "graph": FLOW, "status": FlowStatus.ACTIVE},
        )
        flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    for number, (path, said) in enumerate(VISITS):
        moment = now - CHAT_AGE + dt.timedelta(hours=rnd.randint(0, 13 * 24))
        first = faker.first_name()
        email = f"{first.lower()}.{faker.last_name().lower()}{number}@{DEMO_MAIL_DOMAIN}"
        with at(moment):
            reply = conversation_start(
                workspace=workspace,
                page_url=f"{SITE}{path}",
                visitor_id=f"demo-chat-visitor-{number:03d}",
            )
            for index, text in enumerate(said):
                posted = conversation_message_post(
                    workspace=workspace,
                    token=reply.token,
                    text=text.format(email=email, first=first),
                    client_id=f"demo-chat-{number:03d}-{index:02d}",
                )
                if posted.conversation.current_step == "ask" and index > 0:
                    # The worker's half of a knowledge step, as its task runs it.
                    conversation_knowledge_reply(
                        conversation_id=posted.conversation.pk, step="ask", question=text
                    )
    return flow


def chat_demo_delete(workspace: Workspace) -> None:
    """Chat's rows that protect others from a workspace's cascade (a conversation its flow
    and version), deleted first."""
    Conversation.objects.filter(workspace=workspace).delete()
