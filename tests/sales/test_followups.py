"""Follow-ups, calls and meetings through the services: due times read in the assignee's time
zone (a daylight-saving day included), the buckets, the timeline, and who may be given one."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leadflow.contacts.models import Activity
from leadflow.contacts.services import contact_update
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Membership
from leadflow.sales import selectors
from leadflow.sales.models import FollowUp
from leadflow.sales.services import (
    call_log,
    followup_complete,
    followup_create,
    followup_delete,
    followup_reopen,
    followup_update,
    meeting_log,
)

pytestmark = pytest.mark.django_db


def actor_of(workspace, user) -> Actor:
    return Actor.for_user(user, Membership.objects.get(workspace=workspace, user=user))


def kinds(contact) -> list[str]:
    return list(
        Activity.objects.filter(contact=contact).order_by("id").values_list("kind", flat=True)
    )


def test_a_due_time_without_offset_is_read_in_the_assignees_own_time_zone(
    workspace, owner, owner_actor, salesperson, lead
):
    ann = salesperson("ann")
    ann.time_zone = "America/New_York"
    ann.save()
    contact = lead(owner_id=ann.pk)
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call back", "due_at": "2026-01-15T10:00", "assignee_id": ann.pk},
        actor=owner_actor,
    )
    assert followup.due_at == dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
    assert followup.reminder_at == followup.due_at and followup.reminded_at is None
    scheduled = Activity.objects.get(contact=contact, kind="followup.scheduled")
    assert scheduled.data["time_zone"] == "America/New_York"
    assert scheduled.data["assignee_id"] == ann.pk
    # The owner has no zone and no team: UTC.
    mine = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Mine", "due_at": "2026-01-15T10:00"},
        actor=owner_actor,
    )
    assert mine.assignee_id == owner.pk
    assert mine.due_at == dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)


def test_without_a_zone_of_their_own_the_sales_teams_zone_counts(
    workspace, owner_actor, salesperson, team_of, lead
):
    bob = salesperson("bob")
    team_of("APAC", [(bob, {"time_zone": "Asia/Tokyo"})])
    followup = followup_create(
        workspace=workspace,
        contact_id=lead(owner_id=bob.pk).pk,
        data={"title": "Call", "due_at": "2026-01-15T10:00", "assignee_id": bob.pk},
        actor=owner_actor,
    )
    assert followup.due_at == dt.datetime(2026, 1, 15, 1, 0, tzinfo=dt.UTC)


def test_on_a_daylight_saving_day_ten_oclock_stays_ten_oclock_on_the_wall(
    workspace, owner, owner_actor, lead
):
    owner.time_zone = "Europe/Berlin"
    owner.save()
    contact = lead()
    berlin = ZoneInfo("Europe/Berlin")
    before, on, after = (
        followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data={"title": day, "due_at": f"{day}T10:00"},
            actor=owner_actor,
        )
        for day in ("2026-03-28", "2026-03-29", "2026-03-30")
    )
    # Clocks go forward at 02:00 on Sunday 29 March 2026: 09:00 UTC before, 08:00 UTC after.
    assert before.due_at == dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC)
    assert on.due_at == dt.datetime(2026, 3, 29, 8, 0, tzinfo=dt.UTC)
    assert after.due_at == dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
    assert {f.due_at.astimezone(berlin).hour for f in (before, on, after)} == {10}
    # A wall-clock time that does not exist that night is read with the winter offset.
    gap = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "gap", "due_at": "2026-03-29T02:30"},
        actor=owner_actor,
    )
    assert gap.due_at == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    # "Today" on the short day runs from midnight to midnight Berlin time: 23 hours.
    start, end = selectors.day_bounds(dt.datetime(2026, 3, 29, 12, tzinfo=dt.UTC), berlin)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)


def test_buckets_split_open_follow_ups_by_now_and_the_end_of_today_and_count_in_one_query(
    workspace, owner, owner_actor, lead, django_assert_num_queries
):
    contact = lead()
    now = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    due = {
        "overdue": "2026-01-15T09:00",
        "today": "2026-01-15T18:00",
        "upcoming": "2026-01-16T09:00",
        "done": "2026-01-10T09:00",
    }
    made = {
        name: followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data={"title": name, "due_at": when},
            actor=owner_actor,
        )
        for name, when in due.items()
    }
    followup_complete(workspace=workspace, followup_id=made["done"].pk, actor=owner_actor, now=now)
    utc = ZoneInfo("UTC")
    for name in due:
        filters = selectors.FollowUpFilters(assignee_id=owner.pk, bucket=name)
        listed = selectors.followup_list(workspace, owner_actor, filters, now=now, zone=utc)
        assert [f.title for f in listed] == [name]
    with django_assert_num_queries(1):
        counts = selectors.followup_counts(
            workspace,
            owner_actor,
            selectors.FollowUpFilters(assignee_id=owner.pk),
            now=now,
            zone=utc,
        )
    assert counts == {"overdue": 1, "today": 1, "upcoming": 1, "done": 1}
    # In Tokyo it is already 21:00: 18:00 UTC is tomorrow there.
    tokyo = selectors.followup_counts(
        workspace,
        owner_actor,
        selectors.FollowUpFilters(),
        now=now,
        zone=ZoneInfo("Asia/Tokyo"),
    )
    assert tokyo == {"overdue": 1, "today": 0, "upcoming": 2, "done": 1}
    with pytest.raises(ValidationFailed):
        list(
            selectors.followup_list(
                workspace, owner_actor, selectors.FollowUpFilters(bucket="someday")
            )
        )


def test_every_change_is_on_the_timeline_and_moving_the_due_time_reminds_again(
    workspace, owner_actor, lead
):
    contact = lead()
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call", "due_at": "2026-01-15T10:00", "kind": "meeting"},
        actor=owner_actor,
    )
    FollowUp.objects.filter(pk=followup.pk).update(reminded_at=followup.due_at)
    followup = followup_update(
        workspace=workspace,
        followup_id=followup.pk,
        data={"due_at": "2026-01-16T11:00"},
        actor=owner_actor,
    )
    assert followup.reminder_at == followup.due_at == dt.datetime(2026, 1, 16, 11, tzinfo=dt.UTC)
    assert followup.reminded_at is None
    done = followup_complete(workspace=workspace, followup_id=followup.pk, actor=owner_actor)
    assert done.done_at is not None and done.done_by_id == owner_actor.user_id
    followup_complete(workspace=workspace, followup_id=followup.pk, actor=owner_actor)  # no-op
    followup_reopen(workspace=workspace, followup_id=followup.pk, actor=owner_actor)
    followup_delete(workspace=workspace, followup_id=followup.pk, actor=owner_actor)
    assert not FollowUp.objects.filter(pk=followup.pk).exists()
    assert kinds(contact)[-5:] == [
        "followup.scheduled",
        "followup.changed",
        "followup.completed",
        "followup.reopened",
        "followup.deleted",
    ]


def test_bad_input_names_every_field_and_writes_nothing(workspace, owner_actor, lead, make_member):
    contact = lead()
    viewer = make_member("viewer").user
    before = Activity.objects.count()
    with pytest.raises(ValidationFailed) as failure:
        followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data={
                "title": " ",
                "due_at": "tomorrow",
                "kind": "task",
                "assignee_id": viewer.pk,
                "colour": "red",
            },
            actor=owner_actor,
        )
    assert {e.field for e in failure.value.errors} == {
        "title",
        "due_at",
        "kind",
        "assignee_id",
        "colour",
    }
    assert Activity.objects.count() == before and not FollowUp.objects.exists()


def test_a_call_schedules_the_next_follow_up_in_the_same_transaction(workspace, owner_actor, lead):
    contact = lead()
    call = call_log(
        workspace=workspace,
        contact_id=contact.pk,
        outcome="no_answer",
        notes="Rang twice",
        duration_minutes=2,
        next_followup={"title": "Try again", "due_at": "2026-01-16T10:00"},
        actor=owner_actor,
    )
    followup = FollowUp.objects.get()
    assert call.kind == "call.logged"
    assert call.data == {
        "outcome": "no_answer",
        "notes": "Rang twice",
        "by": owner_actor.user_id,
        "duration_minutes": 2,
        "followup_id": followup.pk,
    }
    meeting = meeting_log(
        workspace=workspace, contact_id=contact.pk, outcome="held", actor=owner_actor
    )
    assert meeting.kind == "meeting.logged" and meeting.data["outcome"] == "held"

    # A bad follow-up in the form: neither the call nor the follow-up is written.
    before = (Activity.objects.count(), FollowUp.objects.count())
    with pytest.raises(ValidationFailed) as failure:
        call_log(
            workspace=workspace,
            contact_id=contact.pk,
            outcome="busy",
            duration_minutes=-1,
            next_followup={"title": "", "due_at": "2026-01-16T10:00"},
            actor=owner_actor,
        )
    assert {e.field for e in failure.value.errors} == {
        "outcome",
        "duration_minutes",
        "next_followup.title",
    }
    assert (Activity.objects.count(), FollowUp.objects.count()) == before


def test_a_salesperson_limited_to_own_leads_reaches_only_follow_ups_on_leads_they_see(
    workspace, owner_actor, salesperson, lead
):
    ann, bob = salesperson("ann"), salesperson("bob")
    ann_actor = actor_of(workspace, ann)
    hers, other = lead(owner_id=ann.pk), lead(owner_id=bob.pk)
    # Nobody may give Ann a follow-up on a lead she cannot open.
    with pytest.raises(ValidationFailed) as failure:
        followup_create(
            workspace=workspace,
            contact_id=other.pk,
            data={"title": "x", "due_at": "2026-01-16T10:00", "assignee_id": ann.pk},
            actor=owner_actor,
        )
    assert [e.field for e in failure.value.errors] == ["assignee_id"]
    with pytest.raises(NotFound):
        followup_create(
            workspace=workspace,
            contact_id=other.pk,
            data={"title": "x", "due_at": "2026-01-16T10:00"},
            actor=ann_actor,
        )
    mine = followup_create(
        workspace=workspace,
        contact_id=hers.pk,
        data={"title": "Mine", "due_at": "2026-01-16T10:00"},
        actor=ann_actor,
    )
    assert [
        f.pk for f in selectors.followup_list(workspace, ann_actor, selectors.FollowUpFilters())
    ] == [mine.pk]
    # The lead moves to Bob: Ann's follow-up on it no longer shows to her.
    contact_update(
        workspace=workspace, contact_id=hers.pk, data={"owner_id": bob.pk}, actor=owner_actor
    )
    assert list(selectors.followup_list(workspace, ann_actor, selectors.FollowUpFilters())) == []
    with pytest.raises(NotFound):
        followup_complete(workspace=workspace, followup_id=mine.pk, actor=ann_actor)


def test_another_workspaces_follow_up_is_not_found(workspace, other_workspace, owner_actor, lead):
    followup = followup_create(
        workspace=workspace,
        contact_id=lead().pk,
        data={"title": "x", "due_at": "2026-01-16T10:00"},
        actor=owner_actor,
    )
    other_owner = Membership.objects.get(workspace=other_workspace)
    other_actor = Actor.for_user(other_owner.user, other_owner)
    with pytest.raises(NotFound):
        followup_complete(workspace=other_workspace, followup_id=followup.pk, actor=other_actor)
