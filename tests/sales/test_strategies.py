"""Each routing strategy, the rule order and conditions, and what routing never does (touch
an owned lead), all through the real services on the real database."""

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_update
from leadflow.sales.models import Assignment, Strategy, Trigger
from leadflow.sales.services import assignment_rule_update, lead_route, leads_route
from tests.sales.conftest import WEDNESDAY_10_UTC, condition

pytestmark = pytest.mark.django_db


def owners(contacts) -> list[int | None]:
    return [Contact.objects.get(pk=contact.pk).owner_id for contact in contacts]


def route(workspace, contact, trigger=Trigger.CREATED, now=WEDNESDAY_10_UTC):
    return lead_route(workspace=workspace, contact_id=contact.pk, trigger=trigger, now=now)


def test_a_fixed_person_rule_gives_every_matching_lead_to_that_person(
    workspace, salesperson, rule, lead
):
    ann = salesperson("ann")
    rule(Strategy.FIXED_PERSON, owner=ann, name="Everything to Ann")
    contact = lead()
    assignment = route(workspace, contact)
    contact.refresh_from_db()
    assert contact.owner_id == ann.pk
    assert assignment.owner_id == ann.pk
    assert assignment.rule.name == "Everything to Ann"
    assert assignment.trigger == Trigger.CREATED
    kinds = list(
        Activity.objects.filter(contact=contact).order_by("id").values_list("kind", flat=True)
    )
    # contacts records the owner change; routing adds why.
    assert kinds[-2:] == ["owner.changed", "contact.assigned"]
    assigned = Activity.objects.get(contact=contact, kind="contact.assigned")
    assert assigned.data["rule"] == "Everything to Ann"
    assert assigned.data["owner_id"] == ann.pk
    assert assigned.actor_label == "routing rule Everything to Ann"


def test_round_robin_gives_leads_in_turn_and_carries_the_turn_over_between_calls(
    workspace, salesperson, team_of, rule, lead
):
    people = [salesperson(name) for name in ("ann", "bob", "cy")]
    team, _ = team_of("EMEA", people)
    rule(Strategy.ROUND_ROBIN, team=team)
    contacts = [lead() for _ in range(7)]
    for contact in contacts[:4]:
        route(workspace, contact)
    # One call routing several at once continues the same turn.
    leads_route(
        workspace=workspace,
        triggers={contact.pk: Trigger.CREATED for contact in contacts[4:]},
        now=WEDNESDAY_10_UTC,
    )
    ann, bob, cy = (person.pk for person in people)
    assert owners(contacts) == [ann, bob, cy, ann, bob, cy, ann]
    assert Assignment.objects.filter(reason="Next in turn in EMEA").count() == 7


def test_weighted_round_robin_shares_in_proportion_and_interleaves(
    workspace, salesperson, team_of, rule, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [(ann, {"weight": 3}), (bob, {"weight": 1})])
    rule(Strategy.WEIGHTED_ROUND_ROBIN, team=team)
    contacts = [lead() for _ in range(8)]
    for contact in contacts:
        route(workspace, contact)
    got = owners(contacts)
    assert got.count(ann.pk) == 6 and got.count(bob.pk) == 2
    # Smooth: Bob's two leads are not both at the end.
    assert got[:4].count(bob.pk) == 1


def test_least_loaded_picks_the_member_with_fewest_open_leads(
    workspace, owner_actor, salesperson, team_of, rule, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [ann, bob])
    for _ in range(2):  # Ann already has two open leads...
        contact_update(
            workspace=workspace,
            contact_id=lead().pk,
            data={"owner_id": ann.pk},
            actor=owner_actor,
        )
    customer = lead(lifecycle_stage="customer")  # ...Bob one customer, which is not open
    contact_update(
        workspace=workspace, contact_id=customer.pk, data={"owner_id": bob.pk}, actor=owner_actor
    )
    rule(Strategy.LEAST_LOADED, team=team)
    contacts = [lead() for _ in range(3)]
    for contact in contacts:
        route(workspace, contact)
    # Bob has 0 then 1 then 2 open leads; at 2 each, the tie goes to the next in turn.
    assert owners(contacts) == [bob.pk, bob.pk, ann.pk]
    assert Assignment.objects.filter(contact=contacts[0]).get().reason == (
        "Fewest open leads (0) in EMEA"
    )


def test_the_first_rule_in_position_whose_conditions_match_decides(
    workspace, owner_actor, salesperson, rule, lead
):
    ann, bob, cy = salesperson("ann"), salesperson("bob"), salesperson("cy")
    germany = rule(Strategy.FIXED_PERSON, owner=bob, conditions=condition("country", "eq", "DE"))
    everyone = rule(Strategy.FIXED_PERSON, owner=cy, name="Everyone else")
    ceo = rule(
        Strategy.FIXED_PERSON,
        owner=ann,
        conditions=condition("job_title", "contains", "CEO"),
        position=0,
    )
    assignment_rule_update(
        workspace=workspace, rule_id=germany.pk, data={"position": 1}, actor=owner_actor
    )
    assignment_rule_update(
        workspace=workspace, rule_id=everyone.pk, data={"position": 2}, actor=owner_actor
    )
    german_ceo = lead(country="DE", job_title="CEO")
    german = lead(country="DE")
    french = lead(country="FR")
    for contact in (german_ceo, german, french):
        route(workspace, contact)
    assert owners([german_ceo, german, french]) == [ann.pk, bob.pk, cy.pk]
    assert Assignment.objects.get(contact=german).rule_id == germany.pk
    assert ceo.pk == Assignment.objects.get(contact=german_ceo).rule_id


def test_no_matching_rule_leaves_the_lead_alone_and_records_nothing(
    workspace, salesperson, rule, lead
):
    rule(
        Strategy.FIXED_PERSON, owner=salesperson("ann"), conditions=condition("country", "eq", "DE")
    )
    contact = lead(country="FR")
    assert route(workspace, contact) is None
    assert owners([contact]) == [None]
    assert not Assignment.objects.exists()


def test_a_disabled_rule_is_skipped(workspace, salesperson, rule, lead):
    rule(Strategy.FIXED_PERSON, owner=salesperson("ann"), enabled=False)
    bob = salesperson("bob")
    rule(Strategy.FIXED_PERSON, owner=bob)
    contact = lead()
    route(workspace, contact)
    assert owners([contact]) == [bob.pk]


def test_routing_never_touches_a_lead_that_has_an_owner(workspace, owner, salesperson, rule, lead):
    rule(Strategy.FIXED_PERSON, owner=salesperson("ann"))
    contact = lead(owner_id=owner.pk)
    assert route(workspace, contact, trigger=Trigger.MQL) is None
    assert owners([contact]) == [owner.pk]
    assert not Assignment.objects.exists()


def test_a_fixed_person_who_left_the_workspace_leaves_the_lead_unassigned_on_record(
    workspace, owner_actor, salesperson, rule, lead
):
    from leadflow.core.models import Membership

    ann = salesperson("ann")
    rule(Strategy.FIXED_PERSON, owner=ann)
    Membership.objects.filter(workspace=workspace, user=ann).delete()
    contact = lead()
    assignment = route(workspace, contact)
    assert owners([contact]) == [None]
    assert assignment.queued and assignment.owner_id is None
    assert "may no longer own leads" in assignment.reason
    assert Activity.objects.filter(contact=contact, kind="contact.queued").exists()


def test_the_account_owner_gets_the_leads_of_his_companies_and_the_team_the_rest(
    workspace, owner_actor, salesperson, make_member, team_of, rule, lead
):
    from leadflow.contacts.models import Company
    from leadflow.contacts.services import company_update

    ann, bob, cy = salesperson("ann"), salesperson("bob"), salesperson("cy")
    team, _ = team_of("Inbound", [bob, cy])
    rule(Strategy.ACCOUNT_OWNER, team=team, name="Accounts")
    initech = lead(email="kim@initech.com")  # a corporate domain: the company Initech
    company_update(
        workspace=workspace,
        company_id=initech.company_id,
        data={"owner_id": ann.pk},
        actor=owner_actor,
    )
    viewer = make_member("viewer", "vic@acme-widgets.com").user
    globex = lead(email="lee@globex.com")
    Company.objects.filter(pk=globex.company_id).update(owner=viewer)  # may not own leads
    same_account = lead(email="jo@initech.com")
    nobody = lead(email="max@hooli.com")
    made = leads_route(
        workspace=workspace,
        triggers={c.pk: Trigger.CREATED for c in (initech, globex, same_account, nobody)},
        now=WEDNESDAY_10_UTC,
    )
    assert owners([initech, same_account]) == [ann.pk, ann.pk]
    assert {o for o in owners([globex, nobody])} == {bob.pk, cy.pk}  # the team, in turn
    reasons = {a.contact_id: a.reason for a in made}
    assert reasons[initech.pk] == "The account owner of its company"
    assert reasons[nobody.pk].startswith("Next in turn in Inbound")
    # Without a team, a lead whose company has no account owner stays unassigned.
    rule_row = made[0].rule
    assignment_rule_update(
        workspace=workspace, rule_id=rule_row.pk, data={"team_id": None}, actor=owner_actor
    )
    orphan = lead(email="sam@umbrella.example")
    assignment = route(workspace, orphan)
    assert assignment.owner_id is None
    assert assignment.reason == "No account owner who may own leads: left unassigned"


def test_a_companys_account_owner_must_be_a_member_who_may_own_leads(
    workspace, other_workspace, owner_actor, make_member, lead
):
    from leadflow.contacts.services import company_update
    from leadflow.core.errors import ValidationFailed
    from leadflow.core.models import Membership

    contact = lead(email="kim@initech.com")
    viewer = make_member("viewer", "vic@acme-widgets.com").user
    stranger = Membership.objects.filter(workspace=other_workspace).first().user
    for bad in (viewer.pk, stranger.pk, "someone"):
        with pytest.raises(ValidationFailed) as failed:
            company_update(
                workspace=workspace,
                company_id=contact.company_id,
                data={"owner_id": bad},
                actor=owner_actor,
            )
        assert [error.field for error in failed.value.errors] == ["owner_id"]
