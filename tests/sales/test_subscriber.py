"""End to end through the real worker (django-tasks-db's ``db_worker``): a new contact
without an owner, and one that becomes an MQL, are routed after their commit by the
activity delivery; an owned contact is not."""

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_update
from leadflow.sales.models import Assignment, Strategy, Trigger
from tests.sales.conftest import condition
from tests.scoring.test_engagement_worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_lead_is_routed_once_the_worker_delivers_its_creation(
    workspace, owner, salesperson, team_of, rule, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [ann, bob])
    rule(Strategy.ROUND_ROBIN, team=team)
    first, second = lead(), lead()
    owned = lead(owner_id=owner.pk)
    assert Contact.objects.get(pk=first.pk).owner_id is None  # nothing before the worker
    run_worker()
    assert Contact.objects.get(pk=first.pk).owner_id == ann.pk
    assert Contact.objects.get(pk=second.pk).owner_id == bob.pk
    assert Contact.objects.get(pk=owned.pk).owner_id == owner.pk
    assert list(Assignment.objects.values_list("trigger", flat=True)) == [Trigger.CREATED] * 2
    assert Activity.objects.filter(kind="contact.assigned").count() == 2
    run_worker()  # the assignment's own activities do not route anything again
    assert Assignment.objects.count() == 2


def test_a_lead_that_becomes_mql_without_an_owner_is_routed_then(
    workspace, owner_actor, salesperson, rule, lead
):
    ann = salesperson("ann")
    rule(
        Strategy.FIXED_PERSON,
        owner=ann,
        conditions=condition("lifecycle_stage", "eq", "mql"),
    )
    contact = lead()
    run_worker()
    assert Contact.objects.get(pk=contact.pk).owner_id is None  # a lead: no rule matches
    contact_update(
        workspace=workspace,
        contact_id=contact.pk,
        data={"lifecycle_stage": "mql"},
        actor=owner_actor,
    )
    run_worker()
    assert Contact.objects.get(pk=contact.pk).owner_id == ann.pk
    assert Assignment.objects.get().trigger == Trigger.MQL


@pytest.mark.parametrize("first", ["routing", "scoring"])
def test_routing_reads_a_new_lead_once_scoring_has_scored_it(
    workspace, owner_actor, salesperson, rule, lead, monkeypatch, first
):
    """A rule on the score sees the lead's own score, whichever subscriber a delivery run
    starts with (the run rotates its first subscriber)."""
    import itertools

    from django.db import transaction

    from leadflow.contacts import activity_log
    from leadflow.contacts.services import activity_record

    ann, bob = salesperson("ann"), salesperson("bob")
    rule(Strategy.FIXED_PERSON, owner=ann, conditions=condition("engagement_score", "gte", 20))
    rule(Strategy.FIXED_PERSON, owner=bob)
    names = list(activity_log.ACTIVITY_SUBSCRIBERS)
    monkeypatch.setattr(activity_log, "_rotation", itertools.count(names.index(first)))
    with transaction.atomic():
        contact = lead(first_name="Hot")
        activity_record(
            workspace=workspace, contact=contact, kind="form.submitted", actor=owner_actor
        )
    activity_log.activities_deliver(workspace_id=workspace.pk)
    contact.refresh_from_db()
    assert contact.engagement_score >= 20  # the default rules: a form submitted, 20 points
    assert contact.owner_id == ann.pk


def test_a_failing_scoring_does_not_hold_routing_back(
    workspace, salesperson, rule, lead, monkeypatch
):
    from leadflow.contacts import activity_log
    from leadflow.scoring import subscribers as scoring_subscribers

    ann = salesperson("ann")
    rule(Strategy.FIXED_PERSON, owner=ann)
    broken = activity_log.ACTIVITY_SUBSCRIBERS[scoring_subscribers.SUBSCRIBER]

    def fail(activities):
        raise RuntimeError("scoring is broken")

    monkeypatch.setitem(
        activity_log.ACTIVITY_SUBSCRIBERS,
        broken.name,
        activity_log.ActivitySubscriber(name=broken.name, handler=fail),
    )
    contact = lead()
    with pytest.raises(activity_log.DeliveryFailed, match="scoring"):
        activity_log.activities_deliver(workspace_id=workspace.pk)
    assert Contact.objects.get(pk=contact.pk).owner_id == ann.pk
