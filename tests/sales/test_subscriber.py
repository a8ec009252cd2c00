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
