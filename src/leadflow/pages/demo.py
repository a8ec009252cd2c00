"""The landing pages' part of the demo workspace (``leadflow.demo`` calls
``pages_demo_build``, after capture's part, whose magnets the pages' forms offer).

Everything goes through the pages' own services and counters, as a marketer and the
visitors would: the brand's colours (``brand_update``); two pages made from the starters
(``page_create``), their copy written (``variant_update``), the playbook's page with a
second variant (``variant_create``) and both published (``page_publish``). Each visitor
gets the variant the public view gives them (``variant_pick``, sticky by visitor), each
view is counted by the view counter (``view_count``, written by ``views_flush``), and the
visitors who filled the form were accepted by ``page_submission_accept`` (capture's one
path and the variant's conversion), with the campaign's UTM of the link they came by. So
the figures and the A/B verdict the app shows are what was recorded: variant B's copy
converts about twice as well, enough views for the test to call it.

The visitors are at ``example.com`` (``leadflow.capture.demo``): their magnet emails reach
nobody.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from faker import Faker

from leadflow.capture.demo import Window, visitor_fields, visitor_input
from leadflow.capture.models import Form
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.core.notifications import link_base
from leadflow.pages.counters import view_count, views_flush
from leadflow.pages.models import Page, Variant, variant_pick
from leadflow.pages.services import (
    brand_update,
    page_create,
    page_publish,
    page_submission_accept,
    variant_create,
    variant_update,
)

PAGES_AGE = dt.timedelta(days=21)
# The playbook page's visitors, and every how many of those who saw a variant submitted.
PLAYBOOK_VISITORS = 700
CONVERTS_EVERY = {"A": 16, "B": 8}
WEBINAR_VISITORS = 170
WEBINAR_EVERY = 12  # 14 registrations for 12 seats: two on the waiting list
# Where the visitors came from: (utm_source, utm_medium, utm_campaign, weight).
CAMPAIGNS = (
    ("linkedin", "paid_social", "playbook-ebook", 5),
    ("google", "cpc", "inventory-software", 4),
    ("newsletter", "email", "monthly-digest", 2),
)

PLAYBOOK_A = [
    {
        "type": "hero",
        "heading": "The Inventory Planning Playbook",
        "text": "Reorder points, safety stock and lead times, in 20 pages.",
        "cta_label": "Send me the playbook",
    },
    {
        "type": "benefits",
        "heading": "What you will learn",
        "items": [
            {"title": "Reorder points", "text": "From your own lead times and demand."},
            {"title": "Safety stock", "text": "Where it pays, and where it only costs."},
            {"title": "Stock-outs", "text": "The three numbers that warn you early."},
        ],
    },
    {"type": "form", "heading": "Where should we send it?", "text": ""},
    {
        "type": "faq",
        "heading": "Questions",
        "items": [
            {"question": "Is it free?", "answer": "Yes: a PDF, yours to keep."},
            {"question": "Will you call me?", "answer": "No. Only if you ask for a demo."},
        ],
    },
    {"type": "footer", "text": "© Northwind Traders", "items": []},
]
PLAYBOOK_B_HERO = {
    "type": "hero",
    "heading": "Stop running out of your best sellers",
    "text": "The 20-page playbook 1,200 operations teams use to set their reorder points.",
    "cta_label": "Get the free playbook",
}
WEBINAR = [
    {
        "type": "hero",
        "heading": "Live webinar: Cutting stock-outs in half",
        "text": "45 minutes with our head of customer success, with Q&A.",
    },
    {"type": "form", "heading": "Save your seat", "text": "Twelve seats; then a waiting list."},
    {
        "type": "testimonials",
        "heading": "What attendees said",
        "items": [
            {
                "quote": "We changed three reorder points the next morning.",
                "name": "R. Alvarez",
                "role": "Operations manager",
            }
        ],
    },
    {"type": "footer", "text": "© Northwind Traders", "items": []},
]


@dataclass
class PagesDemo:
    """What the pages' demo made (the tests read it)."""

    playbook: Page
    webinar: Page


def pages_demo_build(
    *,
    workspace: Workspace,
    actor: Actor,
    forms: dict[str, Form],
    rnd: random.Random,
    faker: Faker,
    at: Window,
    now: dt.datetime,
) -> PagesDemo:
    """Build the pages' demo in ``workspace`` (see the module docstring)."""
    base_url = link_base()  # where the visitors saw the pages
    with at(now - PAGES_AGE):
        brand_update(
            workspace=workspace,
            data={"primary_colour": "#0f766e", "text_colour": "#1f2937"},
            actor=actor,
        )
        playbook = _page(
            workspace,
            actor,
            "lead-magnet",
            {
                "name": "Inventory Planning Playbook",
                "slug": "inventory-playbook",
                "form_id": forms["playbook"].pk,
                "seo_title": "The Inventory Planning Playbook (free PDF) | Northwind",
                "seo_description": "Reorder points, safety stock and lead times, in 20 pages.",
                "min_sample": 100,
            },
            # Variant B: the same page under a headline about the reader's problem.
            [PLAYBOOK_A, [PLAYBOOK_B_HERO, *PLAYBOOK_A[1:]]],
        )
        webinar = _page(
            workspace,
            actor,
            "webinar",
            {
                "name": "Webinar: Cutting stock-outs in half",
                "slug": "webinar-stock-outs",
                "form_id": forms["webinar"].pk,
                "seo_title": "Live webinar: Cutting stock-outs in half | Northwind",
            },
            [WEBINAR],
        )
    _traffic(playbook, PLAYBOOK_VISITORS, forms["playbook"], rnd, faker, at, now, base_url)
    _traffic(webinar, WEBINAR_VISITORS, forms["webinar"], rnd, faker, at, now, base_url)
    views_flush()
    return PagesDemo(playbook=playbook, webinar=webinar)


def _page(workspace, actor, starter, settings, variants) -> Page:
    """A page from a starter with its variants' blocks (A first), published (its script
    from LEADFLOW_BASE_URL when set, else from the address the page is served at)."""
    page = page_create(workspace=workspace, actor=actor, starter=starter, data=settings)
    for number, blocks in enumerate(variants):
        variant = (
            Variant.objects.get(page=page, label="A")
            if number == 0
            else variant_create(workspace=workspace, page_id=page.pk, actor=actor)
        )
        variant_update(
            workspace=workspace,
            page_id=page.pk,
            variant_id=variant.pk,
            data={"blocks": blocks},
            actor=actor,
        )
    page_publish(workspace=workspace, page_id=page.pk, actor=actor, base_url="")
    return page


def _traffic(page, visitors, form, rnd, faker, at, now, base_url) -> None:
    """The page's visitors: each sees its sticky variant (a fifth come back and see it
    again); every n-th visitor of a variant submits the form, from their campaign's link."""
    form = Form.objects.get(pk=form.pk)  # with the magnet capture's demo gave it
    variants = list(Variant.objects.filter(page=page).order_by("label"))
    split = [(variant.pk, variant.weight) for variant in variants]
    labels = {variant.pk: variant.label for variant in variants}
    every = CONVERTS_EVERY if len(variants) > 1 else {"A": WEBINAR_EVERY}
    seen = dict.fromkeys(labels, 0)
    url = f"{base_url}/lp/{page.workspace.slug}/{page.slug}/"
    for number in range(visitors):
        visitor = f"demo-{page.slug}-{rnd.getrandbits(64):016x}"
        variant_id = variant_pick(visitor, page.pk, split)
        view_count(variant_id)
        if rnd.random() < 0.2:
            view_count(variant_id)
        seen[variant_id] += 1
        if seen[variant_id] % every[labels[variant_id]]:
            continue
        source, medium, campaign, _ = rnd.choices(CAMPAIGNS, [c[-1] for c in CAMPAIGNS])[0]
        utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
        query = "&".join(f"{key}={value}" for key, value in utm.items())
        data = visitor_input(
            form, visitor_fields(form, faker, rnd), page_url=f"{url}?{query}", utm=utm, rnd=rnd
        )
        moment = now - PAGES_AGE + dt.timedelta(days=20 * (number + 1) / visitors, hours=1)
        with at(moment):
            page_submission_accept(form=form, page_id=page.pk, variant_id=variant_id, data=data)


__all__ = ["PagesDemo", "pages_demo_build"]
