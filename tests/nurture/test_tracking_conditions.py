"""The opened / clicked conditions (``email.opened``, ``email.clicked`` and their
``.<message id>`` forms) compiled to SQL give the same contacts as a plain Python reading
of the same random opens and clicks (filtered ones never count); checked values; one query."""

import datetime as dt
import random

import pytest

from leadflow.contacts.conditions import (
    Condition,
    ConditionContext,
    Group,
    conditions_compile,
    conditions_validate,
    tree_from_json,
)
from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import Delivery, EmailEngagement
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def build(workspace, rng):
    identity = email_settings.identity_create(
        workspace=workspace, data={"from_address": "news@acme-widgets.com"}
    )
    template = email_settings.template_create(
        workspace=workspace, data={"name": "T", "subject": "S", "html_body": "<p>x</p>"}
    )
    messages = [
        sending.message_create(
            workspace=workspace, name=f"M{n}", template_id=template.pk, identity_id=identity.pk
        )
        for n in range(3)
    ]
    contacts = Contact.objects.bulk_create(
        [Contact(workspace=workspace, first_name=f"C{i}") for i in range(30)]
    )
    hits = []
    for contact in contacts:
        for message in messages:
            if rng.random() < 0.3:
                continue
            delivery = Delivery.objects.create(
                workspace=workspace, message=message, contact=contact, status="sent"
            )
            if rng.random() < 0.6:  # one counted open at most per email
                hits.append((delivery, "open", "", True, rng.randint(0, 60)))
            for _ in range(rng.randint(0, 3)):
                url = rng.choice(["https://a.test/1", "https://a.test/2"])
                hits.append((delivery, "click", url, rng.random() < 0.7, rng.randint(0, 60)))
            if rng.random() < 0.3:
                hits.append((delivery, "open", "", False, rng.randint(0, 60)))
    EmailEngagement.objects.bulk_create(
        [
            EmailEngagement(
                workspace=workspace,
                message_id=delivery.message_id,
                delivery=delivery,
                contact_id=delivery.contact_id,
                kind=kind,
                url=url,
                counted=counted,
                filter_reason="" if counted else "scanner user agent (bot)",
                occurred_at=NOW - dt.timedelta(days=days, hours=1),
            )
            for delivery, kind, url, counted, days in hits
        ]
    )
    return contacts, messages, hits


def random_leaf(rng, messages):
    verb = rng.choice(["opened", "clicked"])
    key = f"email.{verb}"
    if rng.random() < 0.5:
        key += f".{rng.choice(messages).pk}"
    operator = rng.choice(["at_least", "at_most"])
    value = {"times": rng.randint(1 if operator == "at_least" else 0, 3)}
    if rng.random() < 0.6:
        value["within_days"] = rng.choice([7, 30])
    return Condition(key, operator, value)


def brute(node, contact, hits):
    if isinstance(node, Group):
        results = [brute(child, contact, hits) for child in node.children]
        return all(results) if node.match == "all" else any(results)
    parts = node.field.split(".")
    kind = {"opened": "open", "clicked": "click"}[parts[1]]
    message_id = int(parts[2]) if len(parts) == 3 else None
    within = node.value.get("within_days")
    since = NOW - dt.timedelta(days=within) if within else None
    n = sum(
        1
        for delivery, hit_kind, _, counted, days in hits
        if delivery.contact_id == contact.pk
        and hit_kind == kind
        and counted
        and (message_id is None or delivery.message_id == message_id)
        and (since is None or NOW - dt.timedelta(days=days, hours=1) >= since)
    )
    times = node.value["times"]
    return n >= times if node.operator == "at_least" else n <= times


@pytest.mark.parametrize("seed", range(3))
def test_opened_and_clicked_conditions_match_a_python_reading(workspace, seed):
    rng = random.Random(seed)
    contacts, messages, hits = build(workspace, rng)
    context = ConditionContext(workspace, now=NOW)
    sizes = set()
    for _ in range(25):
        children = tuple(random_leaf(rng, messages) for _ in range(rng.randint(1, 3)))
        tree = Group(rng.choice(["all", "any"]), children)
        got = set(
            Contact.objects.filter(workspace=workspace)
            .filter(conditions_compile(tree, context))
            .values_list("pk", flat=True)
        )
        assert got == {c.pk for c in contacts if brute(tree, c, hits)}, tree
        sizes.add(len(got))
    assert len(sizes - {0, len(contacts)}) >= 3


def test_a_message_of_another_workspace_or_a_bad_value_is_refused(workspace, other_workspace):
    rng = random.Random(1)
    _, messages, _ = build(workspace, rng)
    ok = {"field": f"email.clicked.{messages[0].pk}", "operator": "at_least", "value": {"times": 1}}

    def check(tree, context):
        return conditions_validate(tree_from_json(tree), context)

    assert check({"match": "all", "children": [ok]}, ConditionContext(workspace))
    for tree, context in [
        ({"match": "all", "children": [ok]}, ConditionContext(other_workspace)),
        (
            {"match": "all", "children": [{**ok, "field": "email.opened.x"}]},
            ConditionContext(workspace),
        ),
        (
            {"match": "all", "children": [{**ok, "value": {"times": 1, "url": "x"}}]},
            ConditionContext(workspace),
        ),
    ]:
        with pytest.raises(ValidationFailed):
            check(tree, context)


def test_an_opened_condition_counts_in_one_query(workspace, django_assert_num_queries):
    _, messages, _ = build(workspace, random.Random(2))
    tree = Group(
        "all",
        (
            Condition("email.opened", "at_least", {"times": 1, "within_days": 30}),
            Condition(f"email.clicked.{messages[1].pk}", "at_most", {"times": 0}),
        ),
    )
    context = ConditionContext(workspace, now=NOW)
    compiled = conditions_compile(tree, context)
    with django_assert_num_queries(1):
        Contact.objects.filter(workspace=workspace).filter(compiled).count()


def test_the_segment_editor_offers_opened_and_clicked_for_any_and_each_message(workspace, owner):
    from django.test import Client

    _, messages, _ = build(workspace, random.Random(3))
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/segments/new/").content.decode()
    assert 'value="email.opened"' in page and 'value="email.clicked"' in page
    for message in messages:
        assert f'value="email.clicked.{message.pk}"' in page
        assert f"Clicked a link in the email {message.name} (times)" in page
    assert "Opened a marketing email (unreliable)" in page
