"""Nurture's part of the demo workspace (``leadflow.demo`` calls ``nurture_demo_build``).

Everything here goes through nurture's own services, as a marketer and the worker would:
a subscription topic, a sending identity, three templates, a dynamic segment of newsletter
readers, a finished A/B-tested newsletter whose sends, opens and clicks were recorded by
the sender and the tracking service (``engagement_record``, what the open pixel and the
click redirect call), an active welcome sequence whose enrolments the runner moved (the
first email sent, everyone waiting at the wait step), and an offer with issued codes.

**No email of the demo can reach a person.** Every address the demo sends to is at
``example.com``, reserved for examples (RFC 2606) and published with a null MX (RFC 7505),
and the newsletter readers' segment admits only such addresses, so neither the sequence's
later steps (run by the worker when their wait ends) nor a broadcast sent again reach
anyone else. With ``make run`` (no ``SMTP_HOST``) the emails are files in
``$LEADFLOW_DATA_DIR/outbox/``. The demo switches quiet hours off, so the build sends
whatever the hour (docs/nurture/pacing.md).

The newsletter ran three days before ``now``: it is sent at build time, then its rows
(deliveries, opens and clicks, the activities they wrote, the broadcast's times) are moved
back by ``NEWSLETTER_AGE`` together, which keeps every interval the services measured.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import F, Max
from django.utils import timezone
from faker import Faker

from leadflow.contacts.models import Activity, ConsentStatus, Contact
from leadflow.contacts.services import contact_upsert, contacts_bulk_action
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.nurture.models import (
    Broadcast,
    Delivery,
    EmailEngagement,
    MarketingSend,
    Message,
)
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services.broadcasts import broadcast_create, broadcast_schedule
from leadflow.nurture.services.broadcasts import broadcast_step as broadcast_move
from leadflow.nurture.services.offers import offer_create, offer_issue
from leadflow.nurture.services.pacing import pacing_settings_update
from leadflow.nurture.services.segments import segment_create, segment_refresh
from leadflow.nurture.services.sending import message_create, message_deliver_run
from leadflow.nurture.services.sequence_runner import activities_react, sequences_run
from leadflow.nurture.services.sequences import sequence_create, sequence_status_set
from leadflow.nurture.services.suppression import topic_create
from leadflow.nurture.services.tracking import engagement_record
from leadflow.nurture.tracking import Tracked

DEMO_MAIL_DOMAIN = "example.com"
NEWSLETTER_READERS = 40
NEW_SUBSCRIBERS = 6
NEWSLETTER_AGE = dt.timedelta(days=3)
SITE = "https://www.northwind.example"
READER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
# Who opened and clicked the newsletter's test (first of each variant's test group, by
# contact id): B's subject drew more clicks, enough for the test to call it.
ENGAGED = {"A": (5, 1), "B": (8, 7)}  # variant: (opened, clicked)


@dataclass
class NurtureDemo:
    """What the nurture demo made (the demo summary and tests read it)."""

    newsletter: Broadcast
    sequence_id: int
    offer_id: int


def nurture_demo_build(
    *, workspace: Workspace, actor: Actor, rnd: random.Random, faker: Faker
) -> NurtureDemo:
    """Build the nurture demo in ``workspace`` (see the module docstring)."""
    pacing_settings_update(
        workspace_id=workspace.pk, actor=actor, changes={"quiet_enabled": False},
        now=timezone.now(),
    )  # fmt: skip
    topic = topic_create(
        workspace=workspace,
        data={"name": "Product news", "description": "New features and the monthly letter."},
        actor=actor,
    )
    identity = email_settings.identity_create(
        workspace=workspace,
        data={
            "from_name": "Northwind Traders",
            "from_address": f"news@{DEMO_MAIL_DOMAIN}",
            "reply_to": f"hello@{DEMO_MAIL_DOMAIN}",
        },
    )
    templates = _templates(workspace)
    readers = [_subscriber(workspace, actor, faker, rnd) for _ in range(NEWSLETTER_READERS)]
    segment = segment_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Newsletter readers",
            "description": f"Tagged newsletter, at {DEMO_MAIL_DOMAIN} (the demo's mail domain).",
            "conditions": {
                "match": "all",
                "children": [
                    {"field": "tags", "operator": "has_any", "value": ["newsletter"]},
                    {"field": "email", "operator": "ends_with", "value": f"@{DEMO_MAIL_DOMAIN}"},
                ],
            },
        },
    )
    segment_refresh(segment=segment)
    newsletter = _newsletter(workspace, actor, segment.pk, templates["news"], identity.pk)
    sequence_id = _welcome(workspace, actor, faker, rnd, templates, identity.pk, topic.pk, segment)
    offer_id = _offer(workspace, actor, readers[:5])
    return NurtureDemo(newsletter=newsletter, sequence_id=sequence_id, offer_id=offer_id)


def nurture_demo_delete(workspace: Workspace) -> None:
    """Nurture's rows that protect others from a workspace's cascade (a broadcast its
    segment and messages, a message its template, identity and offer), deleted first."""
    Broadcast.objects.filter(workspace=workspace).delete()
    Message.objects.filter(workspace=workspace).delete()


def _templates(workspace: Workspace) -> dict[str, int]:
    bodies = {
        "welcome": (
            "Welcome to Northwind",
            'Welcome aboard, {{ contact.first_name|default:"there" }}',
            '<p>Hi {{ contact.first_name|default:"there" }},</p><p>Thanks for subscribing. '
            f'Start with <a href="{SITE}/guides/getting-started">the ten-minute setup guide</a>.'
            "</p><p>The Northwind team</p>",
        ),
        "tips": (
            "Three inventory tips",
            "Three ways to stop stock-outs",
            '<p>Hi {{ contact.first_name|default:"there" }},</p><p>Reorder points, safety '
            f'stock and lead times: <a href="{SITE}/blog/stock-outs">the three settings that '
            "matter</a>.</p>",
        ),
        "news": (
            "Monthly newsletter",
            "Northwind news: November",
            '<p>Hi {{ contact.first_name|default:"there" }},</p><p>This month: multi-warehouse '
            f'transfers and a new returns flow. <a href="{SITE}/blog/november">Read what is '
            "new</a>.</p>",
        ),
    }
    return {
        key: email_settings.template_create(
            workspace=workspace, data={"name": name, "subject": subject, "html_body": html}
        ).pk
        for key, (name, subject, html) in bodies.items()
    }


def _subscriber(workspace: Workspace, actor: Actor, faker: Faker, rnd: random.Random) -> int:
    """A newsletter reader with marketing consent, at the demo's mail domain."""
    first, last = faker.first_name(), faker.last_name()
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    email = f"{local}.{rnd.randrange(100, 999)}@{DEMO_MAIL_DOMAIN}"
    result = contact_upsert(
        workspace=workspace,
        data={
            "email": email,
            "first_name": first,
            "last_name": last,
            "source": "newsletter",
            "tags": ["newsletter"],
            "consent_status": ConsentStatus.GRANTED,
        },
        actor=actor,
    )
    return result.contact.pk


def _newsletter(workspace, actor, segment_id, template_id, identity_id) -> Broadcast:
    """The November newsletter, an A/B test of two subjects: each variant to a quarter of
    the readers, opens and clicks recorded two hours long, B called the winner and sent to
    the other half; then its rows moved back by ``NEWSLETTER_AGE``."""
    first_activity = Activity.objects.filter(workspace=workspace).aggregate(top=Max("pk"))["top"]
    first_send = MarketingSend.objects.aggregate(top=Max("pk"))["top"] or 0
    newsletter = broadcast_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "November newsletter",
            "segment_id": segment_id,
            "test_percent": 50,
            "test_hours": 2,
            "min_sample": 10,
            "undecided": "best",
            "variants": [
                {"template_id": template_id, "identity_id": identity_id},
                {
                    "template_id": template_id,
                    "identity_id": identity_id,
                    "subject": "Stock-outs cost you sales: what is new to stop them",
                },
            ],
        },
    )
    broadcast_schedule(workspace=workspace, actor=actor, broadcast_id=newsletter.pk)
    broadcast_move(newsletter.pk)
    variants = {variant.label: variant for variant in newsletter.variants.all()}
    for variant in variants.values():
        message_deliver_run(message_pk=variant.message_id)
    newsletter.refresh_from_db()
    started = newsletter.started_at
    for label, (opened, clicked) in ENGAGED.items():
        deliveries = list(
            Delivery.objects.filter(message_id=variants[label].message_id, status="sent")
            .order_by("contact_id")
            .values_list("pk", flat=True)
        )
        for number, delivery_id in enumerate(deliveries[:opened]):
            at = started + dt.timedelta(minutes=7 + 9 * number)
            _engage(workspace, delivery_id, "", at)
            if number < clicked:
                _engage(
                    workspace, delivery_id, f"{SITE}/blog/november", at + dt.timedelta(minutes=2)
                )
    broadcast_move(newsletter.pk, now=started + dt.timedelta(hours=2, minutes=1))
    newsletter.refresh_from_db()
    message_deliver_run(message_pk=newsletter.winner.message_id)
    _move_back(workspace, newsletter, first_activity or 0, first_send, NEWSLETTER_AGE)
    newsletter.refresh_from_db()
    return newsletter


def _engage(workspace: Workspace, delivery_id: int, url: str, at: dt.datetime) -> None:
    engagement_record(
        tracked=Tracked(workspace_id=workspace.pk, delivery_id=delivery_id, url=url),
        method="GET",
        user_agent=READER_AGENT,
        now=at,
    )


def _move_back(workspace, newsletter, after_activity, after_send, age) -> None:
    """The newsletter's rows, moved back together (the services wrote them "now")."""
    message_ids = list(newsletter.variants.values_list("message_id", flat=True))
    Broadcast.objects.filter(pk=newsletter.pk).update(
        send_at=F("send_at") - age, started_at=F("started_at") - age,
        decided_at=F("decided_at") - age, created_at=F("created_at") - age,
        updated_at=F("updated_at") - age,
    )  # fmt: skip
    Delivery.objects.filter(message_id__in=message_ids).update(
        queued_at=F("queued_at") - age, handed_at=F("handed_at") - age,
        sent_at=F("sent_at") - age,
    )  # fmt: skip
    EmailEngagement.objects.filter(message_id__in=message_ids).update(
        occurred_at=F("occurred_at") - age
    )
    Activity.objects.filter(workspace=workspace, pk__gt=after_activity).update(
        occurred_at=F("occurred_at") - age
    )
    MarketingSend.objects.filter(workspace_id=workspace.pk, pk__gt=after_send).update(
        sent_at=F("sent_at") - age
    )


def _welcome(workspace, actor, faker, rnd, templates, identity_id, topic_id, segment) -> int:
    """The welcome series, active: new subscribers tagged "welcome" enter it (the trigger,
    through the same reaction the activity announcement runs); the runner sent them the
    welcome email and they wait three days for the tips."""
    welcome = message_create(
        workspace=workspace, name="Welcome", template_id=templates["welcome"],
        identity_id=identity_id, subscription_topic_id=topic_id,
    )  # fmt: skip
    tips = message_create(
        workspace=workspace, name="Inventory tips", template_id=templates["tips"],
        identity_id=identity_id, subscription_topic_id=topic_id,
    )  # fmt: skip
    sequence = sequence_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Welcome series",
            "description": "New subscribers: a welcome, three days, then the inventory tips.",
            "trigger": {"kind": "tag.added", "tag": "welcome"},
            "steps": [
                {"id": 1, "type": "email", "message_id": welcome.pk, "next": 2},
                {"id": 2, "type": "wait", "seconds": 3 * 86400, "next": 3},
                {"id": 3, "type": "email", "message_id": tips.pk, "next": None},
            ],
        },
    )
    sequence_status_set(workspace=workspace, actor=actor, sequence_id=sequence.pk, status="active")
    newcomers = [_subscriber(workspace, actor, faker, rnd) for _ in range(NEW_SUBSCRIBERS)]
    segment_refresh(segment=segment, contact_ids=newcomers)  # what the announcement does
    last = Activity.objects.filter(workspace=workspace).aggregate(top=Max("pk"))["top"]
    contacts_bulk_action(
        workspace=workspace, contact_ids=newcomers, action="tag", value="welcome", actor=actor
    )
    activities_react(workspace, list(Activity.objects.filter(workspace=workspace, pk__gt=last)))
    sequences_run()
    message_deliver_run(message_pk=welcome.pk)
    return sequence.pk


def _offer(workspace: Workspace, actor: Actor, contact_ids: list[int]) -> int:
    """A generated-code offer issued to a few readers."""
    offer = offer_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Fifteen percent off the first year",
            "kind": "generated",
            "prefix": "NW15",
            "interests": ["pricing"],
            "valid_days": 30,
        },
    )
    for contact in Contact.objects.filter(workspace=workspace, pk__in=contact_ids).order_by("pk"):
        offer_issue(offer=offer, contact=contact, now=timezone.now(), actor=actor)
    return offer.pk
