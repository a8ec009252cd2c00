"""Every main app page in Chromium at a phone's width (390 px) and a desktop's (1440 px): the
page never scrolls sideways, and axe-core finds no serious or critical accessibility
violation. axe-core is vendored under tests/e2e/vendor/axe-core/ (see its README).

One browser and one page visit each page at both widths, so the whole check costs about a
minute. Set LEADFLOW_SCREENSHOTS=<dir> to keep a full-page screenshot of each.
"""

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from django.db.models import Count
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.capture import services as capture_services
from leadflow.contacts.models import Company, Contact
from leadflow.core.actors import Actor
from leadflow.core.models import Membership, Role
from leadflow.demo import DEMO_OWNER_EMAIL, demo_build
from leadflow.duplicates.models import DuplicatePair
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create
from leadflow.inbound import services as inbound_services
from leadflow.tracking.models import Visitor
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (360, 390, 1440)  # 360: the narrowest common phone, and a margin for font differences

# The widest element that sticks out past the viewport, and no ancestor scrolls it: what to fix.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const overflow = document.documentElement.scrollWidth - width;
  const scrolls = (element) => {
    for (let node = element.parentElement; node && node !== document.body;
         node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== 'visible') return true;
    }
    return false;
  };
  const culprits = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !scrolls(element)) {
      const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
        (element.classList.length ? '.' + [...element.classList].join('.') : '');
      culprits.push([`${name} (right edge ${Math.round(box.right)} px)`, box.right]);
    }
  }
  culprits.sort((a, b) => b[1] - a[1]);
  return {overflow, culprits: culprits.slice(0, 4).map((c) => c[0])};
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((violation) => ['serious', 'critical'].includes(violation.impact))
    .map((violation) => ({
      id: violation.id, impact: violation.impact, help: violation.help,
      nodes: violation.nodes.slice(0, 3).map((node) => node.target.join(' ')),
    }));
}"""


@pytest.fixture
def app_pages(tmp_path):
    """The demo workspace plus one of everything the demo lacks (a form with a submission,
    a lead source with a delivery, a finished import): the path of each page to visit."""
    workspace = demo_build(contacts=150, owner_password=PASSWORD)
    owner = Membership.objects.select_related("user").get(workspace=workspace, role=Role.OWNER)
    actor = Actor.for_user(owner.user, owner)
    form = capture_services.form_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Book a demo with a rather long name to see how it wraps",
            "fields": [
                {
                    "name": "email",
                    "type": "email",
                    "label": "Work email",
                    "required": True,
                    "maps_to": "email",
                },
                {
                    "name": "first_name",
                    "type": "text",
                    "label": "First name",
                    "maps_to": "first_name",
                },
                {"name": "message", "type": "textarea", "label": "Message"},
                {
                    "name": "interest",
                    "type": "select",
                    "label": "What would you like to talk about?",
                    "options": ["A demo for the whole purchasing team", "Pricing", "Support"],
                },
                {"name": "utm_source", "type": "hidden", "default": "website"},
                {
                    "name": "consent",
                    "type": "consent",
                    "consent_text": "I agree that Northwind may email me about its products.",
                },
            ],
            "min_fill_seconds": 0,
        },
    )
    submitted = Client(REMOTE_ADDR="203.0.113.7").post(
        f"/f/{form.key}",
        json.dumps(
            {
                "fields": {
                    "email": "pat.lee@initech.example",
                    "first_name": "Pat",
                    "message": "Could you call me back next week about pricing?",
                },
                "submission_id": "0b8a3c4e-0000-4000-8000-000000000001",
            }
        ),
        content_type="application/json",
    )
    assert submitted.status_code in (200, 201), submitted.content
    source = inbound_services.lead_source_create(
        workspace=workspace,
        data={"format": "generic", "name": "Partner webinar leads"},
        actor=actor,
    )
    csv = tmp_path / "trade-show.csv"
    csv.write_text("email,first_name,company\nrobin.fox@umbrella.example,Robin,Umbrella\n")
    job = import_job_create(
        workspace=workspace, actor=actor, path=csv, filename="trade-show.csv", schedule=False
    )
    import_job_run(job_id=job.pk)

    contact = (
        Contact.objects.filter(workspace=workspace, company__isnull=False, visitors__isnull=False)
        .annotate(activity_count=Count("activities", distinct=True))
        .order_by("-activity_count")
        .first()
    )
    # A long address and a date of birth, so the Profile's address lines are measured too.
    Contact.objects.filter(pk=contact.pk).update(
        street_address="Flat 1204, Riverside Exchange Tower, 18 Wellington Embankment Road",
        city="Kingston upon Thames",
        region="Greater London",
        postal_code="KT1 1AA",
        date_of_birth=dt.date(1984, 7, 21),
    )
    # Texts received: a reply and a STOP from the contact, one from a number nobody has
    # (Settings → Text messages lists them; the contact's timeline tells them).
    from leadflow.nurture.services.sms_inbound import sms_inbound_record

    Contact.objects.filter(pk=contact.pk).update(phone="+14155550134")
    for sid, sender, body in (
        ("SMlayout1", "+14155550134", "Yes please, call me on Friday after 3pm about the quote"),
        ("SMlayout2", "+14155550134", "STOP"),
        ("SMlayout3", "+447911123456", "Who is this? I never signed up for anything like this"),
    ):
        sms_inbound_record(workspace=workspace, message_sid=sid, from_number=sender, body=body)
    company = Company.objects.filter(workspace=workspace).first()
    visitor = Visitor.objects.filter(workspace=workspace, contact=contact).first()
    # The demo's own scan found its planted twins; the likeliest is compared.
    pair = DuplicatePair.objects.filter(workspace=workspace).order_by("-probability").first()
    submission = form.submissions.get()
    from leadflow.deals.services import lead_convert_to_deal

    deal = lead_convert_to_deal(
        workspace=workspace, actor=actor, contact_id=contact.pk, amount="18500",
        expected_close_date=dt.date.today() + dt.timedelta(days=40),
    )  # fmt: skip
    from leadflow.deals.services import product_archive, product_create

    kite = product_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Inflatable kite, 12 m², with a long description that has to wrap",
            "description": "For winds of 12-20 knots. " * 8,
            "price": "1249.00",
            "sku": "KITE-12",
            "image_url": "https://example.com/kite.png",
        },
    )
    old = product_create(workspace=workspace, actor=actor, values={"name": "Bar", "price": "9"})
    product_archive(workspace=workspace, actor=actor, product_id=old.pk)
    from leadflow.capture.magnets import magnet_create, magnet_grant

    webinar_seats = magnet_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Live webinar: choosing a lead scoring model for a long B2B sales cycle",
            "kind": "seat",
            "capacity": 1,
        },
    )
    for attendee in Contact.objects.filter(workspace=workspace).order_by("pk")[:3]:
        magnet_grant(magnet=webinar_seats, contact_id=attendee.pk, submission_id=None)
    from leadflow.capture.popups.services import popup_create

    popup = popup_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Checklist offer on the blog, with a rather long name to see how it wraps",
            "title": "Get the checklist",
            "content": "form",
            "form_id": form.pk,
            "status": "active",
            "triggers": {"scroll_percent": 50, "exit_intent": True},
            "targeting": {
                "include": ["/blog/*"],
                "conditions": {"field": "lifecycle_stage", "operator": "ne", "value": "customer"},
            },
        },
    )
    from leadflow.nurture.services.offers import offer_codes_add, offer_create, offer_issue

    offer = offer_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Twenty percent off the first year of the Professional plan",
            "kind": "pool",
            "interests": ["pricing", "enterprise", "webinar"],
            "valid_days": 30,
        },
    )
    offer_codes_add(
        workspace=workspace,
        offer_id=offer.pk,
        actor=actor,
        codes=["SPRING-2026-AX1", "SPRING-2026-AX2"],
    )
    offer_issue(offer=offer, contact=contact, now=timezone.now(), actor=actor)
    from leadflow.nurture.services.segments import segment_create, segment_members_add

    engaged = segment_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Engaged in the last month",
            "conditions": {
                "field": "activity.form.submitted",
                "operator": "at_least",
                "value": {"times": 1, "within_days": 30},
            },
        },
    )
    webinar = segment_create(
        workspace=workspace, actor=actor, values={"name": "Webinar guests", "kind": "static"}
    )
    segment_members_add(workspace=workspace, segment=webinar, contact_ids=[contact.pk], actor=actor)
    from leadflow.nurture.services import settings as email_settings
    from leadflow.nurture.services.sending import message_create
    from leadflow.nurture.services.sequences import (
        sequence_create,
        sequence_enroll,
        sequence_status_set,
    )

    identity = email_settings.identity_create(
        workspace=workspace, data={"from_name": "Acme", "from_address": "news@acme.example"}
    )
    template = email_settings.template_create(
        workspace=workspace, data={"name": "Welcome", "subject": "Hi", "html_body": "<p>Hi</p>"}
    )
    welcome = message_create(
        workspace=workspace, name="Welcome", template_id=template.pk, identity_id=identity.pk
    )
    drip = sequence_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Onboarding drip",
            "trigger": {"kind": "segment.entered", "segment_id": engaged.pk},
            "steps": [
                {"id": 1, "type": "email", "message_id": welcome.pk, "next": 2},
                {"id": 2, "type": "wait", "seconds": 172800, "next": 3},
                {
                    "id": 3,
                    "type": "branch",
                    "conditions": {"field": "country", "operator": "eq", "value": "US"},
                    "yes": 4,
                    "no": None,
                },
                {"id": 4, "type": "tag", "tag": "american", "next": None},
            ],
        },
    )
    sequence_status_set(workspace=workspace, actor=actor, sequence_id=drip.pk, status="active")
    sequence_enroll(workspace=workspace, actor=actor, sequence_id=drip.pk, contact_ids=[contact.pk])
    from leadflow.nurture.services.broadcasts import broadcast_create, broadcast_step

    news = broadcast_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "December newsletter",
            "segment_id": webinar.pk,
            "variants": [
                {"template_id": template.pk, "identity_id": identity.pk},
                {"template_id": template.pk, "identity_id": identity.pk, "subject": "Last call"},
            ],
        },
    )
    from leadflow.nurture.services.broadcasts import broadcast_schedule

    broadcast_schedule(workspace=workspace, actor=actor, broadcast_id=news.pk)
    broadcast_step(news.pk)
    from leadflow.nurture.services.settings import template_create

    marketing_template = template_create(
        workspace=workspace,
        data={
            "name": "Spring newsletter with a rather long name to see how it wraps",
            "subject": 'Spring news for {{ contact.first_name|default:"you" }}',
            "blocks": [
                {"type": "header", "text": "Spring at Northwind"},
                {"type": "text", "text": "Hi {{ contact.first_name }},\n\nNew this month."},
                {
                    "type": "columns",
                    "columns": [
                        [{"type": "text", "text": "Left"}],
                        [{"type": "button", "label": "Right", "href": "https://example.com/"}],
                    ],
                },
                {"type": "footer", "text": "Northwind Traders"},
            ],
        },
    )
    from leadflow.nurture.services.bounces import bounce_record, dedupe_key

    bounce_record(
        workspace=workspace, kind="hard", source="mailbox", key=dedupe_key("layout"),
        address="left-the-company@northwind-traders.example", status="5.1.1",
        diagnostic="550 5.1.1 <left-the-company@northwind-traders.example>: Recipient address "
        "rejected: User unknown in virtual mailbox table",
    )  # fmt: skip
    from leadflow.contacts.services import consent_purpose_create

    consent_purpose_create(
        workspace=workspace, key="events", label="Event invitations and webinars", actor=actor
    )
    from leadflow.pages import services as page_services

    landing = page_services.page_create(
        workspace=workspace,
        actor=actor,
        data={"name": "Spring guide", "slug": "spring-guide", "form_id": form.pk},
    )
    page_services.variant_create(workspace=workspace, page_id=landing.pk, actor=actor)
    from leadflow.chat import services as chat_services

    chat_flow = chat_services.flow_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Pricing page bot that asks for the team size and books the keen ones",
            "page_rules": {"include": ["/pricing*", "https://www.northwind-traders.example/*"]},
            "graph": {
                "start": "hi",
                "steps": [
                    {"id": "hi", "kind": "message", "text": "Hi! Two quick questions.",
                     "next": "email"},
                    {"id": "email", "kind": "question", "text": "What is your work email?",
                     "input": "email", "field": "email", "next": "size"},
                    {"id": "size", "kind": "question", "text": "How large is your team?",
                     "input": "choice", "next": "route",
                     "choices": [{"value": "small", "label": "1-10"}, {"value": "big"}]},
                    {"id": "route", "kind": "condition", "otherwise": "bye", "branches": [
                        {"when": {"field": "answer.size", "operator": "eq", "value": "big"},
                         "next": "person"}]},
                    {"id": "person", "kind": "handover", "text": "Connecting you to sales."},
                    {"id": "bye", "kind": "end", "text": "Thanks, we will be in touch."},
                ],
            },
        },
    )  # fmt: skip
    chat_services.flow_publish(workspace=workspace, flow_id=chat_flow.pk, actor=actor)
    chat = chat_services.conversation_start(
        workspace=workspace, page_url="https://www.northwind-traders.example/pricing/enterprise"
    )
    for number, text in enumerate(("long-address-for-a-lead@northwind-traders.example", "big")):
        chat_services.conversation_message_post(
            workspace=workspace, token=chat.token, text=text, client_id=f"layout-{number:04}"
        )
    from leadflow.chat import knowledge

    trial = knowledge.entry_create(
        workspace=workspace,
        actor=actor,
        data={
            "title": "Is there a free trial, and what happens to my data when it ends?",
            "body": "Every plan starts with a 14-day free trial; your data stays for 30 days.",
            "phrasings": ["Can I try it for free?"],
            "link": "https://help.example.com/a-rather-long-address/for-the-free-trial-article",
        },
    )
    knowledge.knowledge_answer(workspace, "Do you integrate with our very-long-named ERP system?")
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from leadflow.pages.images import image_upload

    picture = io.BytesIO()
    Image.new("RGB", (1200, 630), (30, 90, 200)).save(picture, format="PNG")
    image_upload(
        workspace=workspace,
        upload=SimpleUploadedFile(
            "a-rather-long-file-name-for-the-spring-guide.png", picture.getvalue()
        ),
        actor=actor,
        alt="The spring guide",
    )
    base = f"/w/{workspace.slug}"
    pages = {
        "landing-pages": f"{base}/pages/",
        "landing-page-editor": f"{base}/pages/{landing.pk}/",
        "landing-page-images": f"{base}/pages/images/",
        "bounces": f"{base}/settings/bounces/",
        "consent-purposes": f"{base}/settings/consent/",
        "sms-settings": f"{base}/settings/sms/",
        "marketing-templates": f"{base}/marketing-templates/",
        "marketing-template": f"{base}/marketing-templates/{marketing_template.pk}/",
        "broadcasts": f"{base}/broadcasts/",
        "broadcast": f"{base}/broadcasts/{news.pk}/",
        "broadcast-new": f"{base}/broadcasts/new/",
        "sequences": f"{base}/sequences/",
        "sequence": f"{base}/sequences/{drip.pk}/",
        "sequence-new": f"{base}/sequences/new/",
        "sequence-settings": f"{base}/sequences/{drip.pk}/settings/",
        "sequence-step-type": f"{base}/sequences/{drip.pk}/steps/new/?after=2&link=next",
        "sequence-step-branch": f"{base}/sequences/{drip.pk}/steps/3/",
        "sequence-step-wait": f"{base}/sequences/{drip.pk}/steps/2/",
        "sequence-step-email": f"{base}/sequences/{drip.pk}/steps/1/",
        "sequence-enrolments": f"{base}/sequences/{drip.pk}/enrolments/",
        "offers": f"{base}/offers/",
        "offer": f"{base}/offers/{offer.pk}/",
        "offer-new": f"{base}/offers/new/",
        "magnets": f"{base}/magnets/",
        "magnet": f"{base}/magnets/{webinar_seats.pk}/",
        "magnet-new": f"{base}/magnets/new/?kind=code",
        "pacing": f"{base}/settings/pacing/",
        "chat-widget-settings": f"{base}/settings/chat-widget/",
        "knowledge": f"{base}/chat/knowledge/",
        "knowledge-entry": f"{base}/chat/knowledge/{trial.pk}/",
        "knowledge-new": f"{base}/chat/knowledge/new/",
        "knowledge-unanswered": f"{base}/chat/knowledge/unanswered/",
        "home": f"{base}/",
        "contacts": f"{base}/contacts/",
        "contact": f"{base}/contacts/{contact.pk}/",
        "contact-edit": f"{base}/contacts/{contact.pk}/edit/",
        "contact-new": f"{base}/contacts/new/",
        "contact-merge": f"{base}/contacts/{pair.contact_id}/merge/?other={pair.other_id}",
        "companies": f"{base}/companies/",
        "company": f"{base}/companies/{company.pk}/",
        "duplicates": f"{base}/duplicates/",
        "duplicate-compare": f"{base}/duplicates/{pair.pk}/",
        "duplicates-merge-above": f"{base}/duplicates/merge-above/?threshold=50",
        "duplicates-settings": f"{base}/duplicates/settings/",
        "forms": f"{base}/forms/",
        "popups": f"{base}/popups/",
        "popup-new": f"{base}/popups/new/",
        "popup": f"{base}/popups/{popup.pk}/",
        "chat-flows": f"{base}/chat/",
        "chat-flow-new": f"{base}/chat/new/",
        "chat-flow": f"{base}/chat/{chat_flow.pk}/",
        "chat-conversations": f"{base}/chat/conversations/",
        "chat-conversation": f"{base}/chat/conversations/{chat.conversation.pk}/",
        "form-new": f"{base}/forms/new/",
        "form-builder": f"{base}/forms/{form.pk}/",
        "submissions": f"{base}/forms/{form.pk}/submissions/",
        "visitors": f"{base}/visitors/",
        "visitor": f"{base}/visitors/{visitor.pk}/",
        "sources": f"{base}/reports/sources/",
        "imports": f"{base}/contacts/imports/",
        "import": f"{base}/contacts/imports/{job.pk}/",
        "lead-sources": f"{base}/settings/lead-sources/",
        "lead-source": f"{base}/settings/lead-sources/{source.pk}/",
        "settings": f"{base}/settings/",
        "members": f"{base}/settings/members/",
        "api-keys": f"{base}/settings/api-keys/",
        "fields": f"{base}/settings/fields/",
        "tracking-settings": f"{base}/settings/tracking/",
        "audit-log": f"{base}/settings/audit/",
        "submission": f"{base}/forms/{form.pk}/submissions/{submission.pk}/",
        "deals-board": f"{base}/deals/board/",
        "deals": f"{base}/deals/",
        "deal": f"{base}/deals/{deal.pk}/",
        "deal-new": f"{base}/deals/new/",
        "deals-forecast": f"{base}/deals/forecast/",
        "products": f"{base}/settings/products/",
        "product": f"{base}/settings/products/{kite.pk}/",
        "segments": f"{base}/segments/",
        "segment-new": f"{base}/segments/new/",
        "segment-edit": f"{base}/segments/{engaged.pk}/edit/",
        "segment-list-members": f"{base}/segments/{webinar.pk}/",
    }
    return pages


# HTML and CSS only (every page's queries run on both databases in tests/web/test_access.py).
@pytest.mark.database_independent
def test_every_main_page_fits_a_phone_and_a_desktop_and_passes_axe(browser, live_server, app_pages):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login/")
    page.get_by_label("Email").fill(DEMO_OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/[^/]+/$"))  # the home
    screenshots = os.environ.get("LEADFLOW_SCREENSHOTS")

    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in app_pages.items():
            response = page.goto(path)
            assert response.status == 200, f"{name} ({path}) answered {response.status}"
            page.wait_for_load_state("load")
            if screenshots:
                page.screenshot(path=f"{screenshots}/{name}-{width}.png", full_page=True)
            layout = page.evaluate(OVERFLOW)
            if layout["overflow"] > 0:
                problems.append(
                    f"{name} at {width} px scrolls sideways by {layout['overflow']} px: "
                    + "; ".join(layout["culprits"])
                )
            for violation in page.evaluate(AXE_RUN):
                problems.append(
                    f"{name} at {width} px: axe {violation['impact']} {violation['id']} "
                    f"({violation['help']}): {', '.join(violation['nodes'])}"
                )
    context.close()
    assert problems == [], "\n".join(problems)
