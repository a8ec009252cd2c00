"""The salesperson's queue ("My leads"): its order, who sees what, snooze, hand back and
disqualify through the services."""

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, LifecycleStage, Outcome
from leadflow.contacts.services import contact_scores_write, contact_update
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.core.models import Membership
from leadflow.sales import selectors, services
from leadflow.sales.models import Assignment, LeadSnooze, Trigger


def actor_of(workspace, user) -> Actor:
    return Actor.for_user(user, Membership.objects.get(workspace=workspace, user=user))


@pytest.fixture
def sam(salesperson):
    return salesperson("sam")


@pytest.fixture
def owned(workspace, owner_actor, lead, sam):
    """owned(temperature, probability, minutes_ago, **fields) -> a lead of Sam's."""

    def make(temperature="cold", probability=None, minutes_ago=0, owner=None, **fields):
        contact = lead(temperature=temperature, **fields)
        contact_update(
            workspace=workspace,
            contact_id=contact.pk,
            data={"owner_id": (owner or sam).pk},
            actor=owner_actor,
        )
        Contact.objects.filter(pk=contact.pk).update(
            created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
        )
        if probability is not None:
            contact_scores_write(
                workspace_id=workspace.pk,
                values={"conversion_probability": probability},
                contact_ids=[contact.pk],
            )
        return contact

    return make


def test_the_queue_is_hot_then_likely_then_new_first(workspace, owned, sam):
    cold_new = owned("cold", None, 1)
    warm_likely = owned("warm", 0.8, 30)
    hot_unscored_new = owned("hot", None, 2)
    hot_likely_old = owned("hot", 0.9, 600)
    hot_likely_new = owned("hot", 0.9, 5)
    warm_unlikely = owned("warm", 0.1, 3)
    cold_old = owned("cold", None, 90)
    # Hand-computed: hot (0.9 newest, 0.9 older, unscored), warm (0.8, 0.1), cold (newest).
    expected = [
        hot_likely_new,
        hot_likely_old,
        hot_unscored_new,
        warm_likely,
        warm_unlikely,
        cold_new,
        cold_old,
    ]
    queue = selectors.my_leads(workspace, sam.pk)
    assert [c.pk for c in queue] == [c.pk for c in expected]
    # Page by page with the cursor gives the same order, nothing twice, nothing lost.
    seen, cursor = [], None
    while True:
        page = selectors.my_leads_page(queue, cursor=cursor, limit=2)
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [c.pk for c in expected]


def test_only_own_open_leads_are_in_the_queue(workspace, other_workspace, owned, sam, salesperson):
    mine = owned("hot")
    owned("hot", owner=salesperson("kim"))
    customer = owned("hot")
    Contact.objects.filter(pk=customer.pk).update(lifecycle_stage=LifecycleStage.CUSTOMER)
    assert [c.pk for c in selectors.my_leads(workspace, sam.pk)] == [mine.pk]
    assert list(selectors.my_leads(other_workspace, sam.pk)) == []


def test_a_bad_cursor_is_refused_with_the_field_named(workspace, sam):
    with pytest.raises(ValidationFailed) as failure:
        selectors.my_leads_page(selectors.my_leads(workspace, sam.pk), cursor="nope", limit=5)
    assert failure.value.errors[0].field == "cursor"


def test_a_snoozed_lead_leaves_the_queue_until_its_time(workspace, owned, sam):
    sleepy, awake = owned("hot"), owned("cold")
    now = timezone.now()
    services.lead_snooze(
        workspace=workspace,
        contact_id=sleepy.pk,
        user_id=sam.pk,
        until=now + dt.timedelta(hours=2),
        actor=actor_of(workspace, sam),
    )
    assert [c.pk for c in selectors.my_leads(workspace, sam.pk, now=now)] == [awake.pk]
    later = now + dt.timedelta(hours=2, seconds=1)
    assert [c.pk for c in selectors.my_leads(workspace, sam.pk, now=later)] == [
        sleepy.pk,
        awake.pk,
    ]
    # The poll counts the lead that came back.
    assert selectors.my_leads_changed(workspace, sam.pk, since=now, now=later) == 1
    assert Activity.objects.filter(contact=sleepy, kind="lead.snoozed").count() == 1


def test_snoozing_again_moves_the_time_and_unsnooze_brings_it_back(workspace, owned, sam):
    contact = owned("hot")
    actor = actor_of(workspace, sam)
    for hours in (1, 5):
        services.lead_snooze(
            workspace=workspace,
            contact_id=contact.pk,
            user_id=sam.pk,
            until=timezone.now() + dt.timedelta(hours=hours),
            actor=actor,
        )
    assert LeadSnooze.objects.filter(contact=contact).count() == 1
    assert services.lead_unsnooze(
        workspace=workspace, contact_id=contact.pk, user_id=sam.pk, actor=actor
    )
    assert not services.lead_unsnooze(
        workspace=workspace, contact_id=contact.pk, user_id=sam.pk, actor=actor
    )
    assert [c.pk for c in selectors.my_leads(workspace, sam.pk)] == [contact.pk]
    assert Activity.objects.filter(contact=contact, kind="lead.unsnoozed").count() == 1


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (dt.timedelta(minutes=-1), "Must be in the future."),
        (dt.timedelta(days=400), "At most a year from now."),
    ],
)
def test_a_snooze_in_the_past_or_too_far_is_refused(workspace, owned, sam, until, message):
    contact = owned("hot")
    with pytest.raises(ValidationFailed) as failure:
        services.lead_snooze(
            workspace=workspace,
            contact_id=contact.pk,
            user_id=sam.pk,
            until=timezone.now() + until,
            actor=actor_of(workspace, sam),
        )
    assert (failure.value.errors[0].field, failure.value.errors[0].message) == ("until", message)
    assert not LeadSnooze.objects.exists()


def test_another_workspaces_lead_cannot_be_snoozed(workspace, other_contact_of, sam):
    with pytest.raises(NotFound):
        services.lead_snooze(
            workspace=workspace,
            contact_id=other_contact_of().pk,
            user_id=sam.pk,
            until=timezone.now() + dt.timedelta(hours=1),
            actor=actor_of(workspace, sam),
        )


@pytest.fixture
def other_contact_of(other_workspace):
    from leadflow.contacts.services import contact_upsert

    def make():
        owner = Membership.objects.get(workspace=other_workspace).user
        actor = actor_of(other_workspace, owner)
        return contact_upsert(
            workspace=other_workspace, data={"email": "x@other.org"}, actor=actor
        ).contact

    return make


def test_hand_back_reroutes_with_the_new_trigger(workspace, owned, sam, salesperson, team_of, rule):
    kim = salesperson("kim")
    team, _ = team_of("Inside", [kim])
    rule("round_robin", team=team)
    contact = owned("hot")
    services.lead_snooze(
        workspace=workspace,
        contact_id=contact.pk,
        user_id=sam.pk,
        until=timezone.now() + dt.timedelta(hours=1),
        actor=actor_of(workspace, sam),
    )
    made = services.lead_hand_back(
        workspace=workspace,
        contact_id=contact.pk,
        reason="  Wrong   territory ",
        actor=actor_of(workspace, sam),
    )
    assert made is not None and made.trigger == Trigger.HANDED_BACK and made.owner_id == kim.pk
    contact.refresh_from_db()
    assert contact.owner_id == kim.pk
    handed = Activity.objects.get(contact=contact, kind="lead.handed_back")
    assert handed.data == {"owner_id": sam.pk, "reason": "Wrong territory"}
    assert Assignment.objects.filter(contact=contact, trigger="handed_back").count() == 1
    assert not LeadSnooze.objects.filter(contact=contact).exists()


def test_hand_back_without_a_matching_rule_leaves_the_lead_without_owner(workspace, owned, sam):
    contact = owned("hot")
    assert (
        services.lead_hand_back(
            workspace=workspace,
            contact_id=contact.pk,
            reason="Not mine",
            actor=actor_of(workspace, sam),
        )
        is None
    )
    contact.refresh_from_db()
    assert contact.owner_id is None
    # Sam sees only own leads: it is not his to see any more.
    with pytest.raises(NotFound):
        services.lead_hand_back(
            workspace=workspace,
            contact_id=contact.pk,
            reason="Again",
            actor=actor_of(workspace, sam),
        )


def test_a_lead_without_owner_cannot_be_handed_back(workspace, lead, owner_actor):
    with pytest.raises(Conflict):
        services.lead_hand_back(
            workspace=workspace, contact_id=lead().pk, reason="Again", actor=owner_actor
        )


def test_hand_back_needs_a_reason(workspace, owned, sam):
    contact = owned("hot")
    with pytest.raises(ValidationFailed) as failure:
        services.lead_hand_back(
            workspace=workspace, contact_id=contact.pk, reason=" ", actor=actor_of(workspace, sam)
        )
    assert failure.value.errors[0].field == "reason"
    contact.refresh_from_db()
    assert contact.owner_id == sam.pk


def test_disqualify_records_the_reason_and_leaves_the_queue(workspace, owned, sam):
    contact = owned("hot")
    services.lead_disqualify(
        workspace=workspace, contact_id=contact.pk, reason="Student", actor=actor_of(workspace, sam)
    )
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.DISQUALIFIED
    assert contact.outcome == Outcome.LOST
    change = Activity.objects.filter(contact=contact, kind="stage.changed").latest("id")
    assert change.data["reason"] == "Student"
    assert list(selectors.my_leads(workspace, sam.pk)) == []
    with pytest.raises(Conflict):
        services.lead_disqualify(
            workspace=workspace,
            contact_id=contact.pk,
            reason="Again",
            actor=actor_of(workspace, sam),
        )
    with pytest.raises(ValidationFailed):
        services.lead_disqualify(
            workspace=workspace, contact_id=contact.pk, reason="", actor=actor_of(workspace, sam)
        )


def test_a_salesperson_who_sees_only_own_leads_cannot_act_on_anothers(
    workspace, owned, sam, salesperson
):
    kims = owned("hot", owner=salesperson("kim"))
    actor = actor_of(workspace, sam)
    assert actor.sees_only_own_leads
    for call in (services.lead_disqualify, services.lead_hand_back):
        with pytest.raises(NotFound):
            call(workspace=workspace, contact_id=kims.pk, reason="x", actor=actor)
    kims.refresh_from_db()
    assert (kims.owner_id, kims.lifecycle_stage) != (None, LifecycleStage.DISQUALIFIED)


def test_a_lead_handed_back_never_goes_straight_back_to_who_handed_it(
    workspace, owned, sam, salesperson, team_of, rule
):
    kim = salesperson("kim")
    team, members = team_of("Inside", [sam, kim])
    team.round_robin_last = members[1]  # Sam's turn next, were he not passed over
    team.save()
    rule("round_robin", team=team)
    contact = owned("hot")
    made = services.lead_hand_back(
        workspace=workspace,
        contact_id=contact.pk,
        reason="Not mine",
        actor=actor_of(workspace, sam),
    )
    assert made.owner_id == kim.pk
