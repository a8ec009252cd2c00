"""The activity log as a spine: every write path announces after its commit, the worker
delivers to subscribers above their watermarks, once each, in id order; a crash redoes a
batch and a missed announcement is caught up; a rolled-back transaction announces nothing.

Delivery runs through the real worker (django-tasks-db's ``db_worker``), so these tests
commit (``transaction=True``)."""

import contextlib
import datetime as dt
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.contacts import activity_log
from leadflow.contacts.activity_log import (
    ANNOUNCEMENT_SUBSCRIBERS,
    activity_subscriber_register,
    activity_subscriber_unregister,
)
from leadflow.contacts.models import Activity, ActivityWatermark, Contact, Tag
from leadflow.contacts.services import activity_record, contact_upsert, note_add
from leadflow.core.actors import Actor
from leadflow.core.tasks import task_schedule
from leadflow.imports.services import import_job_create
from tests.capture.conftest import PublicClient, good_fields, lead_form  # noqa: F401
from tests.capture.test_urlencoded import good_post
from tests.capture.test_urlencoded import post as html_post
from tests.inbound.conftest import google_body, make_source, post  # noqa: F401
from tests.tracking.helpers import batch, event, send
from tests.web.conftest import owner_client, url  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "tests.recorder"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    from django.core.cache import cache

    cache.clear()


class Recorder:
    """A subscriber that remembers, per committed delivery, the activity ids it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_on_call: int | None = None
        self.calls = 0

    def __call__(self, activities: list[Activity]) -> None:
        self.calls += 1
        # Work in the delivery's transaction: kept only if the watermark moves too.
        Tag.objects.get_or_create(workspace_id=activities[0].workspace_id, name="delivered")
        if self.calls == self.fail_on_call:
            raise RuntimeError("the subscriber crashed mid-batch")
        ids = [activity.pk for activity in activities]
        transaction.on_commit(lambda: self.batches.append(ids))

    @property
    def ids(self) -> list[int]:
        return [pk for one in self.batches for pk in one]


@pytest.fixture(autouse=True)
def _only_this_modules_subscribers(monkeypatch):
    """The apps' own subscribers (the duplicate finder) stay out of these counts."""
    monkeypatch.setattr(activity_log, "ACTIVITY_SUBSCRIBERS", {})


@pytest.fixture
def recorder():
    recorder = Recorder()
    activity_subscriber_register(NAME, recorder)
    yield recorder
    activity_subscriber_unregister(NAME)


def deliveries():
    return DBTaskResult.objects.filter(task_path__startswith="leadflow.contacts.tasks.activities_")


def run_worker(seconds: float = 20) -> None:
    """Run the queue until nothing is left, waiting for deliveries deferred behind an older
    PostgreSQL transaction (another test database's, on a shared server)."""
    deadline = time.monotonic() + seconds
    while True:
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        if not DBTaskResult.objects.filter(status="READY").exists():
            return
        assert time.monotonic() < deadline, "deliveries still waiting"
        time.sleep(0.2)


def last_activity_id() -> int:
    return Activity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def written_after(start: int, workspace=None) -> list[int]:
    rows = Activity.objects.filter(pk__gt=start)
    if workspace is not None:
        rows = rows.filter(workspace=workspace)
    return list(rows.order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def quiet(recorder):
    """Everything written so far delivered and forgotten: what a test then sees, it wrote."""
    run_worker()
    call_command("activities_catch_up", verbosity=0)
    recorder.batches.clear()
    DBTaskResult.objects.all().delete()
    return last_activity_id()


def assert_sees_exactly_what_was_written(recorder, start: int) -> None:
    written = written_after(start)
    assert written, "the path wrote no activity"
    assert not recorder.ids, "delivered before the worker ran"
    run_worker()
    assert recorder.ids == written  # each once, in id order


# --- every write path announces ---------------------------------------------------------------


def test_a_form_json_post_is_delivered_once_in_order(recorder, lead_form, settings, quiet):  # noqa: F811
    settings.LEADFLOW_CAPTURE_FAST_PATH = False
    assert PublicClient(lead_form).submit().status_code == 201
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_a_form_html_post_is_delivered_once_in_order(recorder, lead_form, settings, quiet):  # noqa: F811
    settings.LEADFLOW_CAPTURE_FAST_PATH = False
    client = Client(REMOTE_ADDR="198.51.100.4", headers={"User-Agent": "Mozilla/5.0 (test)"})
    assert html_post(client, lead_form, good_post()).status_code == 201
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_the_capture_fast_path_announces_its_activities_on_postgresql(
    recorder,
    lead_form,  # noqa: F811
    settings,
    quiet,
):
    """Fails (never skips) on PostgreSQL until capture/fastpath.py calls activities_announce."""
    if connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's only")
    settings.LEADFLOW_CAPTURE_FAST_PATH = True
    fields = {key: value for key, value in good_fields().items() if key != "team_size"}
    assert PublicClient(lead_form).submit(fields).status_code == 201
    assert Contact.objects.get().activities.filter(kind="form.submitted").exists()
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_an_inbound_webhook_lead_is_delivered_once_in_order(recorder, make_source, quiet):  # noqa: F811
    source = make_source("google")
    assert post(source, google_body(source.secret)).status_code == 201
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_an_import_job_is_delivered_once_in_order(
    recorder, workspace, owner_actor, settings, tmp_path, quiet
):
    """Fails until contacts/importwrite.py calls activities_announce (the imports helper)."""
    settings.DATA_DIR = tmp_path / "data"
    path = tmp_path / "people.csv"
    path.write_text(
        "Email,First Name,Tags\nann@initech.com,Ann,vip\nbob@globex.com,Bob,\n", encoding="utf-8"
    )
    import_job_create(workspace=workspace, actor=owner_actor, path=path, filename=path.name)
    run_worker()  # the import job itself runs in the worker, then its deliveries
    written = written_after(quiet)
    assert len(written) >= 2
    assert recorder.ids == written


def test_the_bulk_api_is_delivered_once_in_order(recorder, api, quiet):
    contacts = [{"email": f"lead{n}@initech.com", "tags": ["webinar"]} for n in range(3)]
    response = api.post("/contacts/bulk", {"contacts": [*contacts, {"email": "bad"}]})
    assert response.status_code == 200, response.content
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_a_bulk_action_is_delivered_once_in_order(recorder, workspace, owner_client, quiet):  # noqa: F811
    ids = [
        contact_upsert(
            workspace=workspace, actor=Actor.system(), data={"email": f"p{n}@x.com"}
        ).contact.pk
        for n in range(3)
    ]
    run_worker()
    start = last_activity_id()
    recorder.batches.clear()
    deliveries().delete()
    response = owner_client.post(
        url(workspace, "contacts/bulk/"), {"ids": ids, "action": "tag", "tag": "hot"}
    )
    assert response.status_code == 302
    assert deliveries().count() == 1  # one announcement for the action, not one per row
    assert_sees_exactly_what_was_written(recorder, start)
    assert len(recorder.ids) == 3


def test_tracking_identify_is_delivered_once_in_order(recorder, workspace, quiet):
    identify = event("identify", props={"email": "Known@Initech.com", "first_name": "Kim"})
    assert send(batch(workspace, [event(), identify], visitor="browser-aaaa-1")).status_code == 202
    kinds = list(Activity.objects.filter(pk__gt=quiet).values_list("kind", flat=True))
    assert "visitor.linked" in kinds
    assert_sees_exactly_what_was_written(recorder, quiet)


def test_a_merge_is_delivered_once_in_order(recorder, api, quiet):
    first = api.post("/contacts", {"email": "kim@initech.com"}).json()
    second = api.post("/contacts", {"email": "kim.k@gmail.com"}).json()
    run_worker()
    start = last_activity_id()
    recorder.batches.clear()
    merged = api.post(f"/contacts/{first['id']}/merge", {"other_id": second["id"]})
    assert merged.status_code == 200, merged.content
    assert_sees_exactly_what_was_written(recorder, start)
    assert Activity.objects.get(pk=recorder.ids[0]).kind == "contact.merged"


# --- crashes, missed announcements, rollbacks -------------------------------------------------


def test_a_handler_that_crashes_gets_the_batch_again_and_its_work_is_undone(
    recorder, workspace, owner_actor, quiet
):
    recorder.fail_on_call = 1
    Tag.objects.filter(name="delivered").delete()
    # Where the quiet log left the watermark (on PostgreSQL: the sequence's value then).
    before = ActivityWatermark.objects.get(subscriber=NAME, workspace=workspace).last_activity_id
    with transaction.atomic():
        contact = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
        note_add(workspace=workspace, contact_id=contact.contact.pk, body="hi", actor=owner_actor)
    run_worker()
    assert recorder.ids == []
    assert not Tag.objects.filter(name="delivered").exists()  # rolled back with the watermark
    assert DBTaskResult.objects.filter(status="FAILED").exists()
    mark = ActivityWatermark.objects.get(subscriber=NAME, workspace=workspace)
    assert mark.last_activity_id == before < written_after(quiet)[0]  # did not move
    task_schedule("leadflow.contacts.tasks.activities_catch_up")
    run_worker()
    assert recorder.ids == written_after(quiet)
    assert Tag.objects.filter(name="delivered").exists()
    mark.refresh_from_db()
    assert mark.last_activity_id >= recorder.ids[-1]


def test_a_crash_in_the_second_batch_keeps_the_first_and_redoes_the_second(
    recorder, workspace, owner_actor, monkeypatch, quiet
):
    monkeypatch.setattr(activity_log, "BATCH_SIZE", 2)
    recorder.fail_on_call = 2
    with transaction.atomic():  # one transaction, one announcement, five activities
        contact = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
        for n in range(4):
            note_add(
                workspace=workspace, contact_id=contact.contact.pk, body=f"{n}", actor=owner_actor
            )
    written = written_after(quiet)
    assert len(written) == 5
    run_worker()
    assert recorder.batches == [written[:2]]
    assert ActivityWatermark.objects.get(subscriber=NAME).last_activity_id == written[1]
    call_command("activities_catch_up", verbosity=0)
    assert recorder.batches == [written[:2], written[2:4], written[4:]]


def test_a_missed_announcement_is_caught_up_from_the_watermark(workspace, owner_actor):
    contact = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    assert not deliveries().exists()  # no subscriber: nothing scheduled
    recorder = Recorder()
    activity_subscriber_register(NAME, recorder)
    try:
        note_add(workspace=workspace, contact_id=contact.contact.pk, body="x", actor=owner_actor)
        deliveries().delete()  # the announcement's delivery is lost
        run_worker()
        assert recorder.ids == []
        call_command("activities_catch_up", verbosity=0)
        assert recorder.ids == written_after(0)
        call_command("activities_catch_up", verbosity=0)  # again: nothing twice
        assert recorder.ids == written_after(0)
    finally:
        activity_subscriber_unregister(NAME)


def test_a_rolled_back_transaction_announces_nothing(recorder, workspace, owner_actor, quiet):
    heard = []
    ANNOUNCEMENT_SUBSCRIBERS.append(heard.append)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
            raise RuntimeError("changed my mind")
        assert not deliveries().exists() and heard == []
        with transaction.atomic():
            one = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "b@x.com"})
            two = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "c@x.com"})
        assert len(heard) == 1  # one transaction, one announcement
        assert heard[0].contact_ids == {one.contact.pk, two.contact.pk}
        assert heard[0].up_to_id == last_activity_id()
        assert deliveries().count() == 1
    finally:
        ANNOUNCEMENT_SUBSCRIBERS.remove(heard.append)
    run_worker()
    assert recorder.ids == written_after(quiet)


def test_commits_while_a_delivery_waits_share_it(recorder, workspace, owner_actor, quiet):
    """Under a stream of commits one waiting delivery per workspace reads them all: a
    task per commit queued faster than the workers drained them."""
    for number in range(5):
        contact_upsert(workspace=workspace, actor=owner_actor, data={"email": f"{number}@x.com"})
    assert deliveries().filter(status="READY").count() == 1
    run_worker()
    assert recorder.ids == written_after(quiet)


def test_a_backlogs_next_slice_gives_way_to_a_quiet_workspaces_fresh_delivery(
    recorder, workspace, other_workspace, owner_actor, quiet, monkeypatch
):
    """A run that stops with batches left queues its next slice below fresh deliveries (and
    lowers a run of that workspace already waiting): the worker takes the quiet workspace's
    new lead first."""
    from leadflow.contacts import tasks

    monkeypatch.setattr(activity_log, "BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "DELIVERY_BUDGET", 0)
    for number in range(5):
        contact_upsert(workspace=workspace, actor=owner_actor, data={"email": f"{number}@x.com"})
    tasks.activities_deliver.call(workspace.pk)  # one slice; the next one is queued
    contact_upsert(workspace=other_workspace, actor=owner_actor, data={"email": "q@x.com"})
    waiting = deliveries().filter(status="READY")
    priorities = {row.args_kwargs["args"][0]: row.priority for row in waiting}
    assert priorities == {workspace.pk: tasks.CONTINUE_PRIORITY, other_workspace.pk: 0}
    call_command("db_worker", "--batch", "--no-startup-delay", "--max-tasks", "1", verbosity=0)
    assert set(
        Activity.objects.filter(pk__in=recorder.ids).values_list("workspace", flat=True)
    ) == {
        workspace.pk,  # the first slice, delivered by the direct call above
        other_workspace.pk,  # then the worker's first task: the quiet workspace's
    }
    assert deliveries().get(status="READY").args_kwargs["args"] == [workspace.pk]
    run_worker()
    assert sorted(recorder.ids) == written_after(quiet)


def test_a_delivery_deferred_to_later_does_not_stand_for_one_due_now(
    recorder, workspace, owner_actor, quiet
):
    from leadflow.contacts.tasks import activities_deliver

    later = timezone.now() + dt.timedelta(minutes=5)
    activities_deliver.using(run_after=later).enqueue(workspace.pk)
    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "due@x.com"})
    assert deliveries().filter(status="READY").count() == 2  # the deferred one and a due one
    due = deliveries().filter(status="READY").exclude(run_after=later)
    assert due.count() == 1


def test_a_run_with_a_spent_budget_stops_and_says_more(
    recorder, workspace, owner_actor, quiet, monkeypatch
):
    monkeypatch.setattr(activity_log, "BATCH_SIZE", 2)
    for number in range(5):
        contact_upsert(workspace=workspace, actor=owner_actor, data={"email": f"{number}@x.com"})
    written = written_after(quiet)
    assert len(written) == 5
    first = activity_log.activities_deliver(workspace_id=workspace.pk, budget=0)
    assert (first.delivered, first.more) == (2, True)  # the first batch, always
    rest = activity_log.activities_deliver(workspace_id=workspace.pk)
    assert not rest.more and recorder.ids == written


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
def test_a_watermark_held_by_another_delivery_is_skipped_not_waited_for(
    recorder, workspace, owner_actor, quiet
):
    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    held, release = threading.Event(), threading.Event()

    def other_delivery() -> None:
        with transaction.atomic():
            list(
                ActivityWatermark.objects.select_for_update().filter(
                    subscriber=NAME, workspace_id=workspace.pk
                )
            )
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_delivery)
    thread.start()
    try:
        assert held.wait(10)
        result = activity_log.activities_deliver(workspace_id=workspace.pk)
        assert (result.busy, result.delivered, recorder.ids) == (True, 0, [])
    finally:
        release.set()
        thread.join()
    assert activity_log.activities_deliver(workspace_id=workspace.pk).delivered > 0
    assert recorder.ids == written_after(quiet)


# --- scope: workspaces, kinds -----------------------------------------------------------------


def test_each_workspace_has_its_own_watermark_and_kinds_filter(
    recorder, workspace, other_workspace, owner_actor, quiet
):
    notes = Recorder()
    everything = Recorder()
    activity_subscriber_register("tests.notes", notes, kinds=["note.added"])
    activity_subscriber_register("tests.everything", everything, per_workspace=False)
    try:
        mine = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
        theirs = contact_upsert(
            workspace=other_workspace, actor=owner_actor, data={"email": "a@x.com"}
        )
        note_add(workspace=workspace, contact_id=mine.contact.pk, body="x", actor=owner_actor)
        run_worker()
        # Each workspace in its own deliveries, in id order, with a watermark of its own.
        assert sorted(recorder.ids) == written_after(quiet)
        for one in (workspace, other_workspace):
            seen = Activity.objects.filter(pk__in=recorder.ids, workspace=one)
            assert [pk for pk in recorder.ids if seen.filter(pk=pk).exists()] == written_after(
                quiet, one
            )
        assert {row.workspace_id for row in ActivityWatermark.objects.filter(subscriber=NAME)} == {
            workspace.pk,
            other_workspace.pk,
        }
        assert [Activity.objects.get(pk=pk).kind for pk in notes.ids] == ["note.added"]
        assert everything.ids == written_after(0)
        assert ActivityWatermark.objects.get(subscriber="tests.everything").workspace_id is None
        assert all(
            len({Activity.objects.get(pk=pk).workspace_id for pk in b}) == 1
            for b in recorder.batches
        )
        assert theirs.contact.pk not in [Activity.objects.get(pk=pk).contact_id for pk in notes.ids]
    finally:
        activity_subscriber_unregister("tests.notes")
        activity_subscriber_unregister("tests.everything")


# --- commit order on PostgreSQL ---------------------------------------------------------------


@contextlib.contextmanager
def an_open_writer(workspace, contact, actor):
    """A transaction in another connection that has appended an activity and not ended:
    yields its id; it commits when the block ends."""
    inserted, release = threading.Event(), threading.Event()
    held: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                written = activity_record(
                    workspace=workspace,
                    contact=contact,
                    kind="note.added",
                    actor=actor,
                    data={"body": "slow"},
                )
                held.append(written.pk)
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert inserted.wait(30)
        yield held[0]
    finally:
        release.set()
        thread.join(30)


def test_a_lower_id_committing_after_a_higher_one_is_delivered_not_skipped(
    recorder, workspace, owner_actor, quiet
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: its ids commit in order")
    contact = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    run_worker()
    start = last_activity_id()
    recorder.batches.clear()
    with an_open_writer(workspace, contact.contact, owner_actor) as held:
        fast = note_add(
            workspace=workspace, contact_id=contact.contact.pk, body="fast", actor=owner_actor
        )
        assert fast.pk > held
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        assert recorder.ids == []  # held back while the lower id may still commit
    run_worker()
    assert recorder.ids == written_after(start) == [held, fast.pk]


def test_another_workspaces_running_writer_does_not_hold_a_quiet_workspace_back(
    recorder, workspace, other_workspace, owner_actor, quiet
):
    """The capture load of one workspace must not delay a new lead's delivery in another:
    only a running writer of the same workspace holds its log back (contacts migration
    0020's lock). And once that writer ends, its lower id is delivered, not skipped."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: its ids commit in order")
    busy = contact_upsert(workspace=other_workspace, actor=owner_actor, data={"email": "b@x.com"})
    mine = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    run_worker()
    recorder.batches.clear()
    with an_open_writer(other_workspace, busy.contact, owner_actor) as held:
        assert activity_log.workspace_log_final(other_workspace.pk) is None  # its writer runs
        fast = note_add(
            workspace=workspace, contact_id=mine.contact.pk, body="x", actor=owner_actor
        )
        assert fast.pk > held
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        assert recorder.ids == [fast.pk]  # at once, though a lower id is still running
        assert activity_log.workspace_log_final(workspace.pk) >= fast.pk
    run_worker()
    assert recorder.ids == [fast.pk, held]  # the other workspace's, after its commit


def test_activities_keep_ids_drawn_in_order_under_the_writers_lock(workspace, owner_actor):
    """The trigger draws each id under the lock: ids still rise, and the RETURNING of a
    bulk insert gives the ids the rows really have."""
    contact = contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    notes = [
        note_add(workspace=workspace, contact_id=contact.contact.pk, body=str(n), actor=owner_actor)
        for n in range(3)
    ]
    ids = [note.pk for note in notes]
    assert ids == sorted(ids)
    assert [Activity.objects.get(pk=pk).data["body"] for pk in ids] == ["0", "1", "2"]
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time, no lock to take
    with transaction.atomic():  # a writer holds its workspace's lock until it ends
        note_add(workspace=workspace, contact_id=contact.contact.pk, body="3", actor=owner_actor)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid = %s AND objid = %s",
                [activity_log.WRITERS_LOCK, workspace.pk],
            )
            assert cursor.fetchall() == [("ShareLock",)]


def test_the_catch_up_task_runs_in_the_worker(recorder, workspace, owner_actor, quiet):
    contact_upsert(workspace=workspace, actor=owner_actor, data={"email": "a@x.com"})
    DBTaskResult.objects.all().delete()
    task_schedule("leadflow.contacts.tasks.activities_catch_up")
    run_worker()
    assert recorder.ids == written_after(quiet)


def test_a_delivery_queued_for_a_deleted_workspace_does_nothing(recorder):
    """`leadflow demo --reset` deletes the demo workspace while a delivery for it may wait
    in the queue: that run delivers nothing and fails nothing."""
    from leadflow.core.services import workspace_create

    gone, _ = workspace_create(name="Gone Ltd", owner_email="owner@gone.example", slug="gone-ltd")
    contact = Contact.objects.create(workspace=gone, email="ann@gone.example")
    activity_record(workspace=gone, contact=contact, kind="note.added", actor=Actor.system())
    workspace_id = gone.pk
    gone.delete()
    result = activity_log.activities_deliver(workspace_id=workspace_id)
    assert (result.delivered, result.more) == (0, False)
    assert not ActivityWatermark.objects.filter(workspace_id=workspace_id).exists()
