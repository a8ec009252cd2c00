"""In-app notifications (core.notifications): written for members only, in bulk, in the
caller's transaction; read, counted and marked read per member and workspace only."""

import pytest
from django.db import transaction

from leadflow.core.models import Notification, NotificationKind, User
from leadflow.core.notifications import (
    notification_list,
    notification_mark_read,
    notification_unread_count,
    notifications_create,
    notifications_mark_all_read,
)

pytestmark = pytest.mark.django_db


def _create(workspace, user_ids, **fields):
    return notifications_create(
        workspace=workspace,
        user_ids=user_ids,
        kind=fields.pop("kind", NotificationKind.MENTION),
        title=fields.pop("title", "Hello"),
        **fields,
    )


def test_members_only_each_once_in_one_insert(
    workspace, owner, make_member, django_assert_num_queries
):
    seller = make_member("sales").user
    outsider = User.objects.get(email="owner@acme-widgets.com")  # a member: the owner
    stranger = User.objects.create_user("stranger@example.org")
    with django_assert_num_queries(2):  # who is a member, then one INSERT
        rows = _create(workspace, [seller.pk, seller.pk, owner.pk, stranger.pk, None])
    assert sorted(row.user_id for row in rows) == sorted([seller.pk, outsider.pk])
    assert Notification.objects.count() == 2


def test_written_in_the_callers_transaction(workspace, owner):
    with pytest.raises(RuntimeError), transaction.atomic():
        _create(workspace, [owner.pk])
        raise RuntimeError("the change failed")
    assert not Notification.objects.exists()


def test_list_count_and_mark_read_are_per_member_and_workspace(
    workspace, other_workspace, owner, make_member, django_assert_num_queries
):
    seller = make_member("sales").user
    first, second = (
        _create(workspace, [owner.pk], title="First"),
        _create(workspace, [owner.pk], title="Second"),
    )
    [theirs] = _create(workspace, [seller.pk])
    assert [row.title for row in notification_list(workspace, owner)] == ["Second", "First"]
    with django_assert_num_queries(1):
        assert notification_unread_count(workspace, owner) == 2
    assert notification_unread_count(other_workspace, owner) == 0
    # Someone else's notification, or one in another workspace, is not found.
    assert notification_mark_read(workspace=workspace, user=owner, notification_id=theirs.pk) == 0
    assert (
        notification_mark_read(workspace=other_workspace, user=owner, notification_id=first[0].pk)
        == 0
    )
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert notification_mark_read(workspace=workspace, user=owner, notification_id=first[0].pk) == 1
    assert notification_unread_count(workspace, owner) == 1
    assert [row.pk for row in notification_list(workspace, owner, unread=True)] == [second[0].pk]
    assert notifications_mark_all_read(workspace=workspace, user=owner) == 1
    assert notifications_mark_all_read(workspace=workspace, user=owner) == 0
    assert notification_unread_count(workspace, seller) == 1
