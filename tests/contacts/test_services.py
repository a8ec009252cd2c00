"""Updates, merges, bulk actions, notes and duplicate detection."""

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.contacts import services
from leadflow.contacts.models import (
    Activity,
    Contact,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import AuditEntry


def make(workspace, **data):
    return services.contact_upsert(workspace=workspace, data=data, actor=Actor.system()).contact


def test_update_is_partial_and_records_changes(workspace, owner_actor, owner):
    contact = make(workspace, email="a@initech.com", first_name="Al", job_title="Dev")
    services.contact_update(
        workspace=workspace,
        contact_id=contact.pk,
        actor=owner_actor,
        data={
            "job_title": "CTO",
            "lifecycle_stage": "mql",
            "owner_id": owner.pk,
            "tags": ["x", "y"],
        },
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.job_title, contact.lifecycle_stage) == ("Al", "CTO", "mql")
    kinds = set(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert {"contact.updated", "stage.changed", "owner.changed"} <= kinds
    updated = Activity.objects.get(contact=contact, kind="contact.updated")
    assert updated.data["changes"]["job_title"] == ["Dev", "CTO"]
    assert updated.actor_user_id == owner.pk
    assert AuditEntry.objects.filter(workspace=workspace, action="contact.updated").exists()
    services.contact_update(
        workspace=workspace, contact_id=contact.pk, actor=owner_actor, data={"tags": ["y"]}
    )
    assert list(contact.tags.values_list("name", flat=True)) == ["y"]


def test_update_to_an_email_taken_by_another_contact_is_a_field_error(workspace, owner_actor):
    make(workspace, email="taken@initech.com")
    contact = make(workspace, email="free@initech.com")
    with pytest.raises(ValidationFailed) as failure:
        services.contact_update(
            workspace=workspace,
            contact_id=contact.pk,
            actor=owner_actor,
            data={"email": "taken@initech.com"},
        )
    assert failure.value.errors[0].field == "email"


def test_update_of_another_workspaces_contact_is_not_found(workspace, other_workspace, owner_actor):
    stranger = make(other_workspace, email="x@other-co.com")
    with pytest.raises(NotFound):
        services.contact_update(
            workspace=workspace,
            contact_id=stranger.pk,
            actor=owner_actor,
            data={"first_name": "Hacked"},
        )
    stranger.refresh_from_db()
    assert stranger.first_name == ""


def test_sales_member_reaches_only_own_leads(workspace, make_member):
    sales = make_member("sales")
    actor = Actor.for_user(sales.user, sales)
    own = make(workspace, email="own@initech.com", owner_id=sales.user_id)
    other = make(workspace, email="other@initech.com")
    services.note_add(workspace=workspace, contact_id=own.pk, body="called", actor=actor)
    with pytest.raises(NotFound):
        services.note_add(workspace=workspace, contact_id=other.pk, body="x", actor=actor)
    workspace.sales_sees_all_leads = True
    workspace.save()
    sales.refresh_from_db()
    actor = Actor.for_user(sales.user, sales)
    services.note_add(workspace=workspace, contact_id=other.pk, body="now allowed", actor=actor)


def test_merge_keeps_everything(workspace, owner_actor):
    old = make(
        workspace,
        email="old@initech.com",
        first_name="Robert",
        phone="+442079460001",
        source="google",
        tags=["a"],
    )
    new = make(
        workspace,
        email="bob@gmail.com",
        first_name="Bob",
        job_title="CEO",
        source="newsletter",
        tags=["b"],
    )
    Contact.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=30),
        updated_at=timezone.now() - dt.timedelta(days=30),
    )
    services.note_add(workspace=workspace, contact_id=new.pk, body="met at expo", actor=owner_actor)
    old_activities = Activity.objects.filter(contact=old).count()
    new_activities = Activity.objects.filter(contact=new).count()

    merged = services.contact_merge(
        workspace=workspace,
        primary_id=old.pk,
        secondary_id=new.pk,
        actor=owner_actor,
        choices={"email": "primary"},
    )
    assert not Contact.objects.filter(pk=new.pk).exists()
    assert merged.first_name == "Bob"  # the later non-empty value wins
    assert merged.email == "old@initech.com"  # chosen explicitly
    assert merged.job_title == "CEO" and merged.phone == "+442079460001"  # nothing lost
    assert merged.first_touch_source == "google"  # the older contact's first touch
    assert sorted(merged.tags.values_list("name", flat=True)) == ["a", "b"]
    activities = Activity.objects.filter(contact=merged)
    assert activities.count() == old_activities + new_activities + 1
    record = activities.get(kind="contact.merged")
    assert record.data["merged"]["email"] == ["bob@gmail.com"]
    assert record.data["activities_moved"] == new_activities


def test_merge_rejects_bad_choices_and_self(workspace, owner_actor):
    a = make(workspace, email="a@initech.com")
    b = make(workspace, email="b@initech.com")
    with pytest.raises(ValidationFailed):
        services.contact_merge(
            workspace=workspace, primary_id=a.pk, secondary_id=a.pk, actor=owner_actor
        )
    with pytest.raises(ValidationFailed) as failure:
        services.contact_merge(
            workspace=workspace,
            primary_id=a.pk,
            secondary_id=b.pk,
            actor=owner_actor,
            choices={"email": "left", "shoe": "primary"},
        )
    assert {e.field for e in failure.value.errors} == {"choices.email", "choices.shoe"}
    assert Contact.objects.filter(pk=b.pk).exists()


def test_bulk_actions_are_set_based_and_logged(
    workspace, owner_actor, owner, django_assert_max_num_queries
):
    ids = [make(workspace, email=f"p{n}@initech.com").pk for n in range(30)]
    with django_assert_max_num_queries(12):
        count = services.contacts_bulk_action(
            workspace=workspace, contact_ids=ids, action="tag", value="expo", actor=owner_actor
        )
    assert count == 30
    assert Contact.objects.filter(tags__name="expo").count() == 30
    services.contacts_bulk_action(
        workspace=workspace, contact_ids=ids, action="set_stage", value="sql", actor=owner_actor
    )
    assert Contact.objects.filter(lifecycle_stage="sql").count() == 30
    assert Activity.objects.filter(kind="stage.changed").count() == 30
    services.contacts_bulk_action(
        workspace=workspace,
        contact_ids=ids[:5],
        action="assign_owner",
        value=owner.pk,
        actor=owner_actor,
    )
    assert Contact.objects.filter(owner=owner).count() == 5
    services.contacts_bulk_action(
        workspace=workspace, contact_ids=ids[:3], action="delete", value=None, actor=owner_actor
    )
    assert Contact.objects.count() == 27


def test_bulk_action_ignores_other_workspaces_ids(workspace, other_workspace, owner_actor):
    stranger = make(other_workspace, email="x@other-co.com")
    count = services.contacts_bulk_action(
        workspace=workspace,
        contact_ids=[stranger.pk],
        action="delete",
        value=None,
        actor=owner_actor,
    )
    assert count == 0
    assert Contact.objects.filter(pk=stranger.pk).exists()


def test_note_needs_text(workspace, owner_actor):
    contact = make(workspace, email="n@initech.com")
    with pytest.raises(ValidationFailed):
        services.note_add(workspace=workspace, contact_id=contact.pk, body="  ", actor=owner_actor)


def test_update_cannot_remove_the_last_identifier(workspace, owner_actor):
    contact = make(workspace, phone="+442079460555")
    with pytest.raises(ValidationFailed):
        services.contact_update(
            workspace=workspace, contact_id=contact.pk, actor=owner_actor, data={"phone": None}
        )
    services.contact_update(
        workspace=workspace,
        contact_id=contact.pk,
        actor=owner_actor,
        data={"email": "now@initech.com", "phone": None},
    )
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("now@initech.com", None)
