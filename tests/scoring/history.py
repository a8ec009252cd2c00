"""A generated history for a workspace where the drivers of a win are known: contacts
with an outcome (won / lost, dated) whose chance of winning rises with their visits to the
pricing page in the weeks before the outcome and with a large budget (a custom field);
blog visits, notes and the country are noise. Rows are written in bulk, as an import of
past activity would write them (the import app's services are tested on their own)."""

import datetime as dt
import math
import random
import uuid

from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, CustomField, Outcome
from leadflow.scoring.models import ScoringProfile
from leadflow.tracking.models import Event

SITE = "https://www.acme-widgets.com"


def history_make(
    workspace, *, contacts: int = 400, seed: int = 7, unlabelled: int = 0, drivers: bool = True
) -> dict[int, int]:
    """Create the contacts and their history; returns {contact_id: 1 won / 0 lost} of the
    labelled ones (``unlabelled`` more contacts get a history and no outcome)."""
    chance = random.Random(seed)
    now = timezone.now()
    CustomField.objects.get_or_create(
        workspace=workspace, key="budget", defaults={"label": "Budget", "field_type": "number"}
    )
    CustomField.objects.get_or_create(
        workspace=workspace,
        key="tools",
        defaults={"label": "Tools used", "field_type": "multi_choice",
                  "choices": ["crm", "erp", "spreadsheet"]},
    )  # fmt: skip
    profile, _ = ScoringProfile.objects.get_or_create(workspace=workspace)
    profile.key_pages = ["/pricing*"]
    profile.save()
    plans = []
    for index in range(contacts + unlabelled):
        labelled = index < contacts
        big = chance.random() < 0.35
        engaged = chance.random() < 0.35
        pricing = _poisson(chance, 2.5 if engaged else 0.15)
        odds = -2.6 + 0.9 * min(pricing, 5) + 1.8 * big if drivers else -1.0
        won = chance.random() < 1 / (1 + math.exp(-odds))
        outcome_at = now - dt.timedelta(days=chance.uniform(3, 300))
        at = outcome_at if labelled else now
        plans.append((index, labelled, won, big, pricing, outcome_at, at))
    rows = Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"lead{index}@example{index % 50}.com",
                country=chance.choice(["GB", "FR", "DE", "US"]),
                job_title=chance.choice(["Marketing Manager", "CEO", "Analyst", ""]),
                custom_fields={
                    "budget": chance.randint(60_000, 200_000) if big else chance.randint(0, 40_000),
                    "tools": chance.sample(["crm", "erp", "spreadsheet"], chance.randint(0, 2)),
                },
                outcome=(Outcome.WON if won else Outcome.LOST) if labelled else "",
                outcome_at=outcome_at if labelled else None,
            )
            for index, labelled, won, big, pricing, outcome_at, at in plans
        ]
    )
    events, activities = [], []
    for contact, (_, _labelled, _, _, pricing, _, at) in zip(rows, plans, strict=True):
        cutoff = at - dt.timedelta(days=1)
        for _ in range(pricing):
            events.append(_pageview(workspace, contact.pk, "/pricing", cutoff, chance, 20))
        for _ in range(_poisson(chance, 3)):
            page = f"/blog/post-{chance.randint(1, 30)}"
            events.append(_pageview(workspace, contact.pk, page, cutoff, chance, 80))
        for _ in range(_poisson(chance, 1)):
            activities.append(
                Activity(
                    workspace=workspace,
                    contact_id=contact.pk,
                    kind="note.added",
                    occurred_at=cutoff - dt.timedelta(days=chance.uniform(0.1, 60)),
                    data={"body": "Called"},
                )
            )
    Event.objects.bulk_create(events, batch_size=2000)
    Activity.objects.bulk_create(activities, batch_size=2000)
    return {
        contact.pk: int(won)
        for contact, (_, labelled, won, *_rest) in zip(rows, plans, strict=True)
        if labelled
    }


def _pageview(workspace, contact_id: int, path: str, before: dt.datetime, chance, days: float):
    return Event(
        workspace=workspace,
        event_id=uuid.uuid4(),
        contact_id=contact_id,
        event_type="pageview",
        url=SITE + path,
        occurred_at=before - dt.timedelta(days=chance.uniform(0.01, days)),
    )


def _poisson(chance: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, chance.random()
    while product > limit:
        count += 1
        product *= chance.random()
    return count


def after_outcome_plant(workspace, labels: dict[int, int]) -> int:
    """Activity the model must not see: on every won contact, after its outcome, pricing
    visits, form submissions, and a budget raised (recorded as a ``contact.updated``, the
    contact's value changed as an edit would). Returns the rows planted."""
    chance = random.Random(99)
    events, activities = [], []
    won = Contact.objects.filter(pk__in=[pk for pk, y in labels.items() if y])
    for contact in won:
        for _ in range(10):
            events.append(
                Event(
                    workspace=workspace,
                    event_id=uuid.uuid4(),
                    contact_id=contact.pk,
                    event_type="pageview",
                    url=SITE + "/pricing",
                    occurred_at=contact.outcome_at + dt.timedelta(hours=chance.uniform(0, 48)),
                )
            )
        for kind in ("form.submitted", "note.added"):
            activities.append(
                Activity(workspace=workspace, contact_id=contact.pk, kind=kind,
                         occurred_at=contact.outcome_at - dt.timedelta(hours=12))
            )  # fmt: skip
        old = contact.custom_fields.get("budget")
        activities.append(
            Activity(
                workspace=workspace,
                contact_id=contact.pk,
                kind="contact.updated",
                occurred_at=contact.outcome_at - dt.timedelta(hours=6),
                data={"changes": {"custom_fields.budget": [old, 999_999],
                                  "job_title": [contact.job_title, "Chief Executive"]}},
            )
        )  # fmt: skip
        contact.custom_fields = {**contact.custom_fields, "budget": 999_999}
        contact.job_title = "Chief Executive"
    Contact.objects.bulk_update(list(won), ["custom_fields", "job_title"])
    Event.objects.bulk_create(events, batch_size=2000)
    Activity.objects.bulk_create(activities, batch_size=2000)
    return len(events) + len(activities)
