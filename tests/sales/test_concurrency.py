"""Many leads routed at once to one round-robin team with daily caps (PostgreSQL, threads on
their own connections): the team row's lock makes them take turns, so the order by
assignment id is the strict rotation and no member passes his cap."""

import threading

import pytest
from django.db import connection

from leadflow.sales.models import Assignment, Strategy, Trigger
from leadflow.sales.services import lead_route
from tests.sales.conftest import WEDNESDAY_10_UTC

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writer at a time: there is no concurrent routing to race",
    ),
]

THREADS = 8
LEADS = 30
CAP = 7


def test_leads_routed_at_once_keep_the_rotation_and_never_pass_a_cap(
    workspace, salesperson, team_of, rule, lead
):
    people = [salesperson(name) for name in ("ann", "bob", "cy")]
    team, _ = team_of("EMEA", [(person, {"daily_capacity": CAP}) for person in people])
    rule(Strategy.ROUND_ROBIN, team=team)
    contact_ids = [lead().pk for _ in range(LEADS)]
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(mine: list[int]) -> None:
        try:
            start.wait()
            for contact_id in mine:
                lead_route(
                    workspace=workspace,
                    contact_id=contact_id,
                    trigger=Trigger.CREATED,
                    now=WEDNESDAY_10_UTC,
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(contact_ids[index::THREADS],))
        for index in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assigned = list(
        Assignment.objects.filter(queued=False).order_by("id").values_list("owner_id", flat=True)
    )
    ann, bob, cy = (person.pk for person in people)
    assert assigned == [ann, bob, cy] * CAP
    assert Assignment.objects.filter(queued=True).count() == LEADS - 3 * CAP
    assert Assignment.objects.values("contact_id").distinct().count() == LEADS


def test_two_claims_at_once_give_the_lead_one_owner(workspace, salesperson, team_of, rule, lead):
    """Two members of the team claim the same queued lead from two connections at once:
    the contact row's lock lets the first win; the second finds an owner (Conflict)."""
    from leadflow.contacts.models import Contact
    from leadflow.core.actors import Actor
    from leadflow.core.errors import Conflict
    from leadflow.sales.services import lead_claim

    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("EMEA", [(ann, {"away": True}), (bob, {"away": True})])
    rule(Strategy.ROUND_ROBIN, team=team)
    contact = lead()
    lead_route(
        workspace=workspace, contact_id=contact.pk, trigger=Trigger.CREATED, now=WEDNESDAY_10_UTC
    )
    start = threading.Barrier(2)
    won, lost, errors = [], [], []

    def claim(user) -> None:
        try:
            start.wait()
            lead_claim(
                workspace=workspace,
                contact_id=contact.pk,
                user_id=user.pk,
                actor=Actor.for_user(user),
            )
            won.append(user.pk)
        except Conflict:
            lost.append(user.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in (ann, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1 and len(lost) == 1
    assert Contact.objects.get(pk=contact.pk).owner_id == won[0]
    assert Assignment.objects.filter(trigger=Trigger.CLAIMED).count() == 1
