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
