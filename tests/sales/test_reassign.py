"""Reassigning by hand (one or many), and tenancy: another workspace's users, teams and
contacts are refused or untouched."""

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Membership
from leadflow.sales.models import Assignment, Strategy, Trigger
from leadflow.sales.services import (
    assignment_rule_create,
    lead_route,
    leads_reassign,
    team_create,
    team_member_add,
)
from tests.sales.conftest import WEDNESDAY_10_UTC

pytestmark = pytest.mark.django_db


def test_a_bulk_reassignment_to_a_person_is_recorded_with_the_person_as_actor(
    workspace, owner_actor, salesperson, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    contacts = [lead(owner_id=ann.pk), lead(), lead(owner_id=bob.pk)]
    made = leads_reassign(
        workspace=workspace,
        contact_ids=[contact.pk for contact in contacts],
        owner_id=bob.pk,
        actor=owner_actor,
    )
    assert len(made) == 2  # the third is Bob's already
    assert set(Contact.objects.values_list("owner_id", flat=True)) == {bob.pk}
    for assignment in made:
        assert assignment.trigger == Trigger.MANUAL
        assert assignment.actor_user_id == owner_actor.user_id
    assigned = Activity.objects.filter(kind="contact.assigned")
    assert assigned.count() == 2
    assert {activity.actor_label for activity in assigned} == {owner_actor.label}


def test_a_reassignment_to_a_team_shares_the_leads_in_turn(
    workspace, owner_actor, salesperson, team_of, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [ann, bob])
    contacts = [lead() for _ in range(3)]
    leads_reassign(
        workspace=workspace,
        contact_ids=[contact.pk for contact in contacts],
        team_id=team.pk,
        actor=owner_actor,
        now=WEDNESDAY_10_UTC,
    )
    assert [Contact.objects.get(pk=c.pk).owner_id for c in contacts] == [ann.pk, bob.pk, ann.pk]


def test_a_sales_member_who_sees_only_own_leads_reassigns_only_those(
    workspace, make_member, salesperson, lead
):
    bob = salesperson("bob")
    seller = make_member("sales", "seller@acme-widgets.com")
    actor = Actor.for_user(seller.user, seller)
    mine, other = lead(owner_id=seller.user_id), lead()
    made = leads_reassign(
        workspace=workspace, contact_ids=[mine.pk, other.pk], owner_id=bob.pk, actor=actor
    )
    assert [assignment.contact_id for assignment in made] == [mine.pk]
    assert Contact.objects.get(pk=other.pk).owner_id is None


def test_another_workspaces_user_team_and_contacts_are_refused(
    workspace, other_workspace, owner_actor, salesperson, lead
):
    stranger = Membership.objects.get(workspace=other_workspace).user
    foreign_team = team_create(workspace=other_workspace, name="Theirs", actor=Actor.system())
    contact = lead()
    with pytest.raises(ValidationFailed) as failed:
        leads_reassign(
            workspace=workspace, contact_ids=[contact.pk], owner_id=stranger.pk, actor=owner_actor
        )
    assert failed.value.errors[0].field == "owner_id"
    with pytest.raises(ValidationFailed) as failed:
        leads_reassign(
            workspace=workspace,
            contact_ids=[contact.pk],
            team_id=foreign_team.pk,
            actor=owner_actor,
        )
    assert failed.value.errors[0].field == "team_id"
    team = team_create(workspace=workspace, name="Ours", actor=owner_actor)
    with pytest.raises(ValidationFailed):
        team_member_add(
            workspace=workspace, team_id=team.pk, user_id=stranger.pk, actor=owner_actor
        )
    with pytest.raises(NotFound):
        team_member_add(
            workspace=workspace,
            team_id=foreign_team.pk,
            user_id=salesperson("ann").pk,
            actor=owner_actor,
        )
    for data in (
        {"strategy": Strategy.ROUND_ROBIN, "team_id": foreign_team.pk},
        {"strategy": Strategy.FIXED_PERSON, "owner_id": stranger.pk},
    ):
        with pytest.raises(ValidationFailed):
            assignment_rule_create(
                workspace=workspace, data={"name": "Bad", **data}, actor=owner_actor
            )
    # A contact of this workspace is not reached through the other one.
    with pytest.raises(NotFound):
        lead_route(workspace=other_workspace, contact_id=contact.pk, trigger=Trigger.CREATED)
    other_actor = Actor.for_user(stranger)
    assert (
        leads_reassign(
            workspace=other_workspace,
            contact_ids=[contact.pk],
            owner_id=stranger.pk,
            actor=other_actor,
        )
        == []
    )
    assert Contact.objects.get(pk=contact.pk).owner_id is None
    assert not Assignment.objects.exists()


def test_a_viewer_cannot_be_given_leads(workspace, owner_actor, make_member, lead):
    viewer = make_member("viewer", "viewer@acme-widgets.com").user
    with pytest.raises(ValidationFailed):
        leads_reassign(
            workspace=workspace, contact_ids=[lead().pk], owner_id=viewer.pk, actor=owner_actor
        )
