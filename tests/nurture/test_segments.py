"""Segments through their services: a dynamic segment's members follow its conditions
within one delivery of the activity log (entered / left recorded once), the periodic pass
catches what time alone changes, static lists are added to and removed from by hand, a
segment never reads itself through others, and two refreshes that race record once."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from leadflow.contacts.activity_log import activities_deliver
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_update, contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, ValidationFailed
from leadflow.nurture import tasks
from leadflow.nurture.models import Segment, SegmentKind, SegmentMember
from leadflow.nurture.segment_kinds import SEGMENT_ENTERED, SEGMENT_LEFT
from leadflow.nurture.services.segments import (
    segment_create,
    segment_delete,
    segment_members_add,
    segment_members_remove,
    segment_refresh,
    segment_update,
    segments_refresh,
)

US = {
    "version": 1,
    "match": "all",
    "children": [{"field": "country", "operator": "eq", "value": "US"}],
}


def add(workspace, **data):
    return contact_upsert(workspace=workspace, actor=Actor.system(), data=data).contact


def deliver(workspace):
    deadline = time.monotonic() + 20
    while activities_deliver(workspace_id=workspace.pk).behind:
        assert time.monotonic() < deadline, "the delivery stayed behind"
        time.sleep(0.05)


def members(segment):
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def kinds(contact, segment):
    return list(
        Activity.objects.filter(contact=contact, data__segment_id=segment.pk)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_a_contact_enters_and_leaves_a_dynamic_segment_within_a_delivery(workspace, owner_actor):
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Americans", "conditions": US}
    )
    ann = add(workspace, email="ann@example.com", country="US")
    bob = add(workspace, email="bob@example.com", country="GB")
    deliver(workspace)
    assert members(segment) == {ann.pk}
    contact_update(
        workspace=workspace, contact_id=bob.pk, data={"country": "US"}, actor=owner_actor
    )
    contact_update(
        workspace=workspace, contact_id=ann.pk, data={"country": "DE"}, actor=owner_actor
    )
    deliver(workspace)
    assert members(segment) == {bob.pk}
    assert kinds(ann, segment) == [SEGMENT_ENTERED, SEGMENT_LEFT]
    assert kinds(bob, segment) == [SEGMENT_ENTERED]
    # Delivering again (the entered/left activities themselves) changes nothing more.
    deliver(workspace)
    assert kinds(bob, segment) == [SEGMENT_ENTERED]


def test_a_segment_reading_another_follows_it_in_the_same_pass(workspace, owner_actor):
    americans = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Americans", "conditions": US}
    )
    others = segment_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Not American",
            "conditions": {"field": "segment", "operator": "not_in", "value": [americans.pk]},
        },
    )
    ann = add(workspace, email="ann@example.com", country="US")
    bob = add(workspace, email="bob@example.com", country="GB")
    with transaction.atomic():
        segments_refresh(workspace=workspace, contact_ids=[ann.pk, bob.pk])
    assert members(americans) == {ann.pk}
    assert members(others) == {bob.pk}


def test_the_periodic_pass_catches_time_based_conditions(workspace, owner_actor):
    quiet = {
        "field": "activity.note.added",
        "operator": "at_most",
        "value": {"times": 0, "within_days": 30},
    }
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Quiet", "conditions": quiet}
    )
    ann = add(workspace, email="ann@example.com")
    Activity.objects.create(
        workspace=workspace,
        contact=ann,
        kind="note.added",
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=29),
    )
    tasks.segments_refresh_all.call()
    assert members(segment) == set()
    # Two days later nothing happened to Ann, yet she is quiet now: only the pass sees it.
    Activity.objects.filter(contact=ann, kind="note.added").update(
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    )
    assert tasks.segments_refresh_all.call() == 1
    assert members(segment) == {ann.pk}
    assert kinds(ann, segment) == [SEGMENT_ENTERED]
    assert Segment.objects.get(pk=segment.pk).refreshed_at is not None


def test_static_lists_take_members_by_hand_once(workspace, other_workspace, owner_actor):
    vip = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"}
    )
    ann = add(workspace, email="ann@example.com")
    stranger = add(other_workspace, email="eve@example.com")
    added = segment_members_add(
        workspace=workspace,
        segment=vip,
        contact_ids=[ann.pk, ann.pk, stranger.pk, 999_999],
        actor=owner_actor,
        source="api",
    )
    assert added == [ann.pk]
    assert (
        segment_members_add(
            workspace=workspace, segment=vip, contact_ids=[ann.pk], actor=owner_actor, source="api"
        )
        == []
    )
    assert members(vip) == {ann.pk}
    entered = Activity.objects.get(contact=ann, kind=SEGMENT_ENTERED)
    assert entered.data == {"segment_id": vip.pk, "segment": "VIP", "source": "api"}
    assert entered.actor_user_id == owner_actor.user_id
    # The periodic pass leaves a static list alone.
    tasks.segments_refresh_all.call()
    assert members(vip) == {ann.pk}
    removed = segment_members_remove(
        workspace=workspace, segment=vip, contact_ids=[ann.pk], actor=owner_actor
    )
    assert removed == [ann.pk] and members(vip) == set()
    assert kinds(ann, vip) == [SEGMENT_ENTERED, SEGMENT_LEFT]


def test_a_dynamic_segment_takes_no_members_by_hand(workspace, owner_actor):
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Americans", "conditions": US}
    )
    ann = add(workspace, email="ann@example.com")
    with pytest.raises(Conflict):
        segment_members_add(
            workspace=workspace, segment=segment, contact_ids=[ann.pk], actor=owner_actor
        )


def test_a_segment_cannot_read_itself_even_through_others(workspace, owner_actor):
    a = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "A", "conditions": US}
    )
    b = segment_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "B", "conditions": {"field": "segment", "operator": "in", "value": [a.pk]}},
    )
    with pytest.raises(ValidationFailed) as failed:
        segment_update(
            workspace=workspace,
            actor=owner_actor,
            segment_id=a.pk,
            values={"conditions": {"field": "segment", "operator": "in", "value": [b.pk]}},
        )
    assert [e.field for e in failed.value.errors] == ["conditions"]
    with pytest.raises(ValidationFailed):
        segment_update(
            workspace=workspace,
            actor=owner_actor,
            segment_id=a.pk,
            values={"conditions": {"field": "segment", "operator": "in", "value": [a.pk]}},
        )
    # B reads A: A cannot be deleted while it does.
    with pytest.raises(Conflict):
        segment_delete(workspace=workspace, actor=owner_actor, segment_id=a.pk)
    segment_delete(workspace=workspace, actor=owner_actor, segment_id=b.pk)
    segment_delete(workspace=workspace, actor=owner_actor, segment_id=a.pk)


def test_bad_conditions_are_named_by_path(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as failed:
        segment_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "Bad",
                "conditions": {
                    "match": "all",
                    "children": [
                        {"field": "nope", "operator": "eq", "value": 1},
                        {
                            "field": "event.pageview",
                            "operator": "at_least",
                            "value": {
                                "times": 1,
                                "where": [{"property": "x", "operator": "eq", "value": "y"}],
                            },
                        },
                        {"field": "segment", "operator": "in", "value": [987654]},
                    ],
                },
            },
        )
    fields = [e.field for e in failed.value.errors]
    assert fields == ["conditions.children[0].field", "conditions.children[1].value"]


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_that_race_record_each_entry_once(workspace, owner_actor):
    segment = Segment.objects.create(
        workspace=workspace, name="Americans", kind=SegmentKind.DYNAMIC, conditions=US
    )
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"c{i}@example.com", country="US") for i in range(300)]
    )
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            segment_refresh(segment=Segment.objects.select_related("workspace").get(pk=segment.pk))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SegmentMember.objects.filter(segment=segment).count() == 300
    assert Activity.objects.filter(kind=SEGMENT_ENTERED, data__segment_id=segment.pk).count() == 300


def test_a_merge_keeps_list_memberships_once(workspace, owner_actor):
    from leadflow.contacts.services import contact_merge

    vip = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"}
    )
    webinar = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Webinar", "kind": "static"}
    )
    ann = add(workspace, email="ann@example.com")
    ann2 = add(workspace, email="ann@work.example.com")
    for segment, ids in ((vip, [ann.pk, ann2.pk]), (webinar, [ann2.pk])):
        segment_members_add(
            workspace=workspace, segment=segment, contact_ids=ids, actor=owner_actor
        )
    contact_merge(workspace=workspace, primary_id=ann.pk, secondary_id=ann2.pk, actor=owner_actor)
    assert members(vip) == {ann.pk}
    assert members(webinar) == {ann.pk}


def test_tracked_events_refresh_their_contacts_segments(
    workspace, owner_actor, django_capture_on_commit_callbacks
):
    import uuid

    from django_tasks_db.models import DBTaskResult

    from leadflow.tracking.listeners import events_announce
    from leadflow.tracking.models import Event

    pricing = {
        "field": "event.pageview",
        "operator": "at_least",
        "value": {
            "times": 2,
            "within_days": 30,
            "where": [{"property": "url", "operator": "contains", "value": "/pricing"}],
        },
    }
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Pricing", "conditions": pricing}
    )
    ann = add(workspace, email="ann@example.com")
    now = dt.datetime.now(dt.UTC)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Event.objects.bulk_create(
            [
                Event(
                    workspace=workspace,
                    event_id=uuid.uuid4(),
                    contact_id=ann.pk,
                    event_type="pageview",
                    url=url,
                    occurred_at=now - dt.timedelta(minutes=minutes),
                )
                for url, minutes in (("https://a.test/pricing", 5), ("https://a.test/Pricing/", 1))
            ]
        )
        events_announce(workspace_id=workspace.pk, contact_ids=[ann.pk])
    queued = DBTaskResult.objects.filter(task_path=tasks.segments_refresh_contacts.module_path)
    assert [row.args_kwargs["args"] for row in queued] == [[workspace.pk, [ann.pk]]]
    assert tasks.segments_refresh_contacts.call(workspace.pk, [ann.pk]) == 1
    assert members(segment) == {ann.pk}
