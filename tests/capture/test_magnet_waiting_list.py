"""An event's waiting list: a seat freed by a member (released in the app or the API) or
by a larger capacity goes to the first lead waiting, in the transaction that freed it, with
a ``magnet.seated`` activity and the delivery email (once, through the worker and a real
SMTP server). Concurrent releases take turns on the magnet's row: nobody is seated twice,
nobody beyond the capacity (threads with their own connections, on both databases)."""

import re
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from leadflow.capture import magnets
from leadflow.capture.models import Magnet, MagnetGrant, SeatStatus
from leadflow.contacts.models import Activity
from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import Conflict

from .test_notifications import run_worker, smtp, text_of  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed
BASE = "http://testserver"


def event(workspace, owner_actor, capacity: int) -> Magnet:
    return magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Spring webinar", "kind": "seat", "capacity": capacity},
    )


def leads(workspace, owner_actor, magnet: Magnet, count: int, start: int = 0) -> list[int]:
    """``count`` leads who asked for a seat, in this order (each grant scheduled its email)."""
    contact_ids = []
    for n in range(start, start + count):
        contact = contact_upsert(
            workspace=workspace, actor=owner_actor, data={"email": f"lead{n}@initech.com"}
        ).contact
        with transaction.atomic():
            magnets.form_magnet_grant(
                magnet_id=magnet.pk, contact_id=contact.pk, submission_id=None, base_url=BASE
            )
        contact_ids.append(contact.pk)
    return contact_ids


def seats(magnet: Magnet) -> dict[int, str]:
    return dict(MagnetGrant.objects.filter(magnet=magnet).values_list("contact_id", "seat"))


def subjects(smtp, n: int) -> list[str]:  # noqa: F811
    return [message["Subject"] for message in smtp.to(f"lead{n}@initech.com")]


def test_a_released_seat_goes_to_the_first_lead_waiting_who_is_emailed_once(
    smtp,  # noqa: F811
    api,
    other_api,
    workspace,
    owner_actor,
):
    magnet = event(workspace, owner_actor, capacity=2)
    ids = leads(workspace, owner_actor, magnet, 5)
    run_worker()
    assert subjects(smtp, 2) == ["Here is Spring webinar"]
    assert "you are on the waiting list" in text_of(smtp.to("lead2@initech.com")[0])

    release = f"/capture/magnets/{magnet.pk}/seats/release"
    answer = api.post(release, {"contact_id": ids[0]})
    assert answer.status_code == 200, answer.content
    assert (answer.json()["seats_taken"], answer.json()["waiting"]) == (2, 2)
    assert [seats(magnet)[pk] for pk in ids] == [
        "released",
        "seated",
        "seated",
        "waiting",
        "waiting",
    ]
    assert api.post(release, {"contact_id": ids[0]}).status_code == 409  # released already
    assert api.post(release, {"contact_id": ids[3]}).status_code == 409  # waiting: no seat
    assert api.post(release, {"contact_id": 10**9}).status_code == 404
    assert other_api.post(release, {"contact_id": ids[1]}).status_code == 404
    bad = api.post(release, {"contact_id": "Ann"})
    assert bad.status_code == 422 and "contact_id" in bad.content.decode()
    kinds = Activity.objects.filter(kind__startswith="magnet.seat")
    assert sorted(kinds.values_list("contact_id", "kind")) == sorted(
        [(ids[0], "magnet.seat_released"), (ids[2], "magnet.seated")]
    )

    run_worker()
    run_worker()  # a second run sends nothing more
    assert subjects(smtp, 2) == ["Here is Spring webinar", "A seat is yours: Spring webinar"]
    freed = text_of(smtp.to("lead2@initech.com")[1])
    assert "a seat at Spring webinar has freed up" in freed and "Your seat is booked" in freed
    link = re.search(r"http://testserver(/m/\S+/)", freed).group(1)
    assert "Your seat is booked" in Client().get(link).content.decode()
    assert subjects(smtp, 0) == ["Here is Spring webinar"]  # released: told by the marketer

    # More seats: the waiting list in order, each lead emailed once.
    more = api.patch(f"/capture/magnets/{magnet.pk}", {"capacity": 4})
    assert (more.json()["seats_taken"], more.json()["waiting"]) == (4, 0)
    run_worker()
    for n in (3, 4):
        assert subjects(smtp, n) == ["Here is Spring webinar", "A seat is yours: Spring webinar"]

    # A lead seated before their first email was sent gets that one email only.
    (late,) = leads(workspace, owner_actor, magnet, 1, start=5)  # waiting, not emailed yet
    magnets.magnet_seat_release(
        workspace=workspace, magnet_id=magnet.pk, contact_id=ids[1], actor=owner_actor
    )
    assert seats(magnet)[late] == "seated"
    run_worker()
    assert subjects(smtp, 5) == ["Here is Spring webinar"]
    assert "Your seat is booked" in text_of(smtp.to("lead5@initech.com")[0])
    magnet.refresh_from_db()
    assert magnet.seats_taken == 4 == MagnetGrant.objects.filter(seat="seated").count()


def _at_once(*calls) -> list[BaseException]:
    """Runs the calls in threads (each its own database connection), released together."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call) -> None:
        try:
            start.wait()
            call()
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_concurrent_releases_never_seat_a_lead_twice_nor_beyond_the_capacity(
    workspace, owner_actor
):
    magnet = event(workspace, owner_actor, capacity=3)
    ids = leads(workspace, owner_actor, magnet, 8)  # 0-2 seated, 3-7 waiting in order

    def release(contact_id: int):
        return lambda: magnets.magnet_seat_release(
            workspace=workspace, magnet_id=magnet.pk, contact_id=contact_id, actor=owner_actor
        )

    def raise_capacity() -> None:
        magnets.magnet_update(
            workspace=workspace, magnet_id=magnet.pk, data={"capacity": 4}, actor=owner_actor
        )

    # Two different seats released and one more seat, at the same moment.
    assert _at_once(release(ids[0]), release(ids[1]), raise_capacity) == []
    now = seats(magnet)
    assert [now[pk] for pk in ids[:3]] == ["released", "released", "seated"]
    assert [now[pk] for pk in ids[3:]] == ["seated", "seated", "seated", "waiting", "waiting"]
    magnet.refresh_from_db()
    assert magnet.seats_taken == 4 == list(now.values()).count(SeatStatus.SEATED)
    seated = Activity.objects.filter(kind="magnet.seated")
    assert sorted(seated.values_list("contact_id", flat=True)) == ids[3:6]  # once each

    # The same seat released twice at once: one release, one seat given, one refusal.
    failures = _at_once(release(ids[2]), release(ids[2]))
    assert [type(error) for error in failures] == [Conflict]
    now = seats(magnet)
    assert [now[pk] for pk in ids[6:]] == ["seated", "waiting"]
    assert seated.filter(contact_id=ids[7]).count() == 0
    magnet.refresh_from_db()
    assert magnet.seats_taken == 4 == list(now.values()).count(SeatStatus.SEATED)
    # One delivery task per grant and one more per lead seated from the list.
    queued = DBTaskResult.objects.filter(task_path__endswith="magnet_deliver").count()
    assert queued == 8 + 4


def test_deleting_seated_leads_gives_their_seats_to_the_waiting_list(workspace, owner_actor):
    """A seated lead deleted (one by one, or in bulk) frees the seat in the deleting
    transaction: the first leads waiting are seated, the capacity is never passed."""
    from leadflow.contacts.services import contact_delete, contacts_bulk_action

    magnet = event(workspace, owner_actor, capacity=2)
    ids = leads(workspace, owner_actor, magnet, 5)
    assert list(seats(magnet).values()).count(SeatStatus.SEATED) == 2
    contact_delete(workspace=workspace, contact_id=ids[0], actor=owner_actor)
    magnet.refresh_from_db()
    assert magnet.seats_taken == 2
    assert seats(magnet) == {
        ids[1]: SeatStatus.SEATED,
        ids[2]: SeatStatus.SEATED,
        ids[3]: SeatStatus.WAITING,
        ids[4]: SeatStatus.WAITING,
    }
    contacts_bulk_action(
        workspace=workspace, contact_ids=[ids[1], ids[2]], action="delete", value=None,
        actor=owner_actor,
    )  # fmt: skip
    magnet.refresh_from_db()
    assert magnet.seats_taken == 2
    assert seats(magnet) == {ids[3]: SeatStatus.SEATED, ids[4]: SeatStatus.SEATED}
    assert Activity.objects.filter(contact_id=ids[4], kind="magnet.seated").count() == 1
