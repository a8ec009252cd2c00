"""Every path that changes a contact's stage sets ``stage_changed_at``, and moving to
customer or disqualified sets the outcome (won / lost) with its date; the migration fills
both for contacts from before them."""

import datetime as dt
import importlib

from django.apps import apps
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import (
    Arrival,
    contact_merge,
    contact_update,
    contact_upsert,
    contacts_bulk_action,
    contacts_stage_advance,
    lead_receive,
)
from leadflow.core.actors import Actor

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def stored(contact) -> Contact:
    return Contact.objects.get(pk=contact.pk)


def make(workspace, actor, email, **data) -> Contact:
    return contact_upsert(workspace=workspace, data={"email": email, **data}, actor=actor).contact


def age(contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(stage_changed_at=LONG_AGO)


def test_a_new_contact_entered_its_stage_when_it_was_created(workspace, owner_actor):
    contact = stored(make(workspace, owner_actor, "a@x.example"))
    assert contact.stage_changed_at == contact.created_at
    assert (contact.outcome, contact.outcome_at) == ("", None)
    customer = stored(make(workspace, owner_actor, "c@x.example", lifecycle_stage="customer"))
    assert (customer.outcome, customer.outcome_at) == ("won", customer.created_at)


def test_an_upsert_an_edit_and_a_promotion_set_the_time_and_the_outcome(workspace, owner_actor):
    contact = make(workspace, owner_actor, "a@x.example", lifecycle_stage="subscriber")
    age(contact)
    make(workspace, owner_actor, "a@x.example", lifecycle_stage="mql")
    assert stored(contact).stage_changed_at > LONG_AGO
    age(contact)
    make(workspace, owner_actor, "a@x.example", first_name="Ann")  # no stage change
    assert stored(contact).stage_changed_at == LONG_AGO
    contact_update(
        workspace=workspace, contact_id=contact.pk, data={"lifecycle_stage": "disqualified"},
        actor=owner_actor,
    )  # fmt: skip
    lost = stored(contact)
    assert lost.stage_changed_at > LONG_AGO
    assert (lost.outcome, lost.outcome_at) == ("lost", lost.stage_changed_at)
    contact_update(
        workspace=workspace, contact_id=contact.pk, data={"lifecycle_stage": "lead"},
        actor=owner_actor,
    )  # fmt: skip
    assert stored(contact).outcome == "lost"  # what happened stays known
    age(contact)
    lead_receive(
        workspace=workspace,
        contact={"email": "a@x.example"},
        arrival=Arrival(actor=Actor.system("form"), submitted={}, stage="customer"),
    )
    won = stored(contact)
    assert won.lifecycle_stage == "customer" and won.stage_changed_at > LONG_AGO
    assert (won.outcome, won.outcome_at) == ("won", won.stage_changed_at)


def test_a_new_lead_through_lead_receive_has_its_stage_time(workspace):
    received = lead_receive(
        workspace=workspace,
        contact={"email": "new@initech.com"},
        arrival=Arrival(actor=Actor.system("form"), submitted={}, stage="customer"),
    )
    contact = stored(received.contact)
    assert contact.stage_changed_at == contact.created_at
    assert (contact.outcome, contact.outcome_at) == ("won", contact.created_at)


def test_a_bulk_stage_change_times_only_the_contacts_that_move(workspace, owner_actor):
    moving = make(workspace, owner_actor, "a@x.example")
    staying = make(workspace, owner_actor, "b@x.example", lifecycle_stage="customer")
    age(moving)
    age(staying)
    Contact.objects.filter(pk=staying.pk).update(outcome="won", outcome_at=LONG_AGO)
    contacts_bulk_action(
        workspace=workspace, contact_ids=[moving.pk, staying.pk], action="set_stage",
        value="customer", actor=owner_actor,
    )  # fmt: skip
    moved, kept = stored(moving), stored(staying)
    assert moved.stage_changed_at > LONG_AGO and moved.outcome == "won"
    assert moved.outcome_at == moved.stage_changed_at
    assert (kept.stage_changed_at, kept.outcome_at) == (LONG_AGO, LONG_AGO)


def test_a_merge_keeps_the_kept_stages_time_and_a_known_outcome(workspace, owner_actor):
    primary = make(workspace, owner_actor, "a@x.example", lifecycle_stage="lead")
    secondary = make(workspace, owner_actor, "b@x.example", lifecycle_stage="customer")
    entered = timezone.now() - dt.timedelta(days=3)
    Contact.objects.filter(pk=secondary.pk).update(
        stage_changed_at=entered, outcome="won", outcome_at=entered
    )
    merged = contact_merge(
        workspace=workspace, primary_id=primary.pk, secondary_id=secondary.pk, actor=owner_actor
    )
    merged = stored(merged)
    assert merged.lifecycle_stage == "customer"
    assert (merged.stage_changed_at, merged.outcome, merged.outcome_at) == (entered, "won", entered)


def test_the_set_based_advance_moves_times_and_records_each_contact(workspace, owner_actor):
    first = make(workspace, owner_actor, "a@x.example")
    second = make(workspace, owner_actor, "b@x.example", lifecycle_stage="nurture")
    age(first)
    moved = contacts_stage_advance(
        workspace=workspace, stage="disqualified", from_stages=["lead"], actor=owner_actor,
        reason="Spam",
    )  # fmt: skip
    assert moved == [first.pk]
    lost = stored(first)
    assert lost.stage_changed_at > LONG_AGO and lost.outcome == "lost"
    assert stored(second).lifecycle_stage == "nurture"
    activity = Activity.objects.get(contact_id=first.pk, kind="stage.changed")
    assert activity.data["reason"] == "Spam" and activity.actor_user_id == owner_actor.user_id


def test_the_migration_fills_outcomes_and_stage_times_from_the_log(workspace, owner_actor):
    customer = make(workspace, owner_actor, "a@x.example", lifecycle_stage="customer")
    lead = make(workspace, owner_actor, "b@x.example")
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    Activity.objects.create(
        workspace=workspace, contact=customer, kind="stage.changed", occurred_at=when,
        data={"from": "sql", "to": "customer"},
    )  # fmt: skip
    Contact.objects.filter(pk__in=[customer.pk, lead.pk]).update(
        stage_changed_at=None, outcome="", outcome_at=None, updated_at=LONG_AGO
    )
    migration = importlib.import_module("leadflow.contacts.migrations.0019_stage_history_fill")
    migration.fill(apps, None)
    won, other = stored(customer), stored(lead)
    assert (won.outcome, won.outcome_at, won.stage_changed_at) == ("won", when, when)
    assert (other.outcome, other.stage_changed_at) == ("", LONG_AGO)
