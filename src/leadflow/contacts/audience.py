"""Who may hear of a contact: the check every app makes before it tells a member about a
lead (``users_who_see``), and the mentions that let a member open a lead
(``mentioned_contact_ids``, registered in ``selectors.NOTIFIED_CONTACT_IDS`` by
``ContactsConfig.ready``)."""

from collections.abc import Iterable

from django.db.models import QuerySet

from leadflow.contacts.selectors import contacts_visible
from leadflow.core.actors import Actor
from leadflow.core.models import Membership, Notification, NotificationKind, Workspace


def mentioned_contact_ids(workspace: Workspace, user_id: int) -> QuerySet:
    """The ids of the workspace's contacts this user was @mentioned on in a note (a subquery;
    registered in ``NOTIFIED_CONTACT_IDS`` by ``ContactsConfig.ready``): mentioning a member
    on a lead lets them open it."""
    return Notification.objects.filter(
        workspace=workspace, user_id=user_id, kind=NotificationKind.MENTION
    ).values("contact_id")


def users_who_see(workspace: Workspace, contact_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of these users are members of ``workspace`` who may see the contact now (a
    sales member who sees only own leads: when they own it or were notified of it). Whoever
    tells a member about a contact asks this first, so nobody hears of a lead they may not
    open."""
    memberships = Membership.objects.filter(
        workspace=workspace, user_id__in=set(user_ids)
    ).select_related("user", "workspace")
    seeing = set()
    for membership in memberships:
        actor = Actor.for_user(membership.user, membership)
        if contacts_visible(workspace, actor).filter(pk=contact_id).exists():
            seeing.add(membership.user_id)
    return seeing
