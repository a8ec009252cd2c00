"""Giving many leads to one person at once, or taking their owner away, set-based: one
UPDATE of the owners, one INSERT of the assignments and one of the activities, whatever the
number of leads (a reassignment by hand to a person, a departed member's hand-over)."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadflow.contacts.kind_writers import owner_changed_data
from leadflow.contacts.models import Activity, ActivityKind, Contact
from leadflow.contacts.services import activities_record_many, actor_columns
from leadflow.core.actors import Actor
from leadflow.core.models import NotificationKind, Workspace
from leadflow.core.notifications import notifications_create
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.sales.kinds import CONTACT_ASSIGNED, assignment_data
from leadflow.sales.models import Assignment

HAND_OVER = "hand_over"
NOTIFY_TASK = "leadflow.sales.tasks.assignments_notify"


@dataclass(frozen=True)
class Given:
    """What ``leads_give`` changed: the contacts (id order) and the assignments made."""

    contact_ids: list[int]
    assignments: list[Assignment]


@transaction.atomic
def leads_give(
    *,
    workspace: Workspace,
    contact_ids: Iterable[int],
    owner_id: int | None,
    actor: Actor,
    trigger: str,
    reason: str,
    strategy: str = HAND_OVER,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> Given:
    """Give these contacts of the workspace to ``owner_id`` (a member who may own leads,
    checked by the caller), or take their owner away (None), set-based; contacts that
    already have that owner are left alone. Each changed contact gets an ``owner.changed``
    activity and, when given to someone, an ``Assignment`` and a ``contact.assigned``
    activity; ``notify`` emails the new owner of each lead after the commit (one task).
    Returns the ids changed (id order) and the assignments made."""
    now = now or timezone.now()
    ids = sorted({pk for pk in contact_ids if isinstance(pk, int) and not isinstance(pk, bool)})
    if not ids:
        return Given([], [])
    locked = Contact.objects.select_for_update(of=("self",)).filter(workspace=workspace, pk__in=ids)
    if owner_id is None:
        locked = locked.filter(owner__isnull=False)
    else:
        locked = locked.exclude(owner_id=owner_id)
    before = dict(locked.order_by("pk").values_list("pk", "owner_id"))
    changed = sorted(before)
    if not changed:
        return Given([], [])
    Contact.objects.filter(pk__in=changed).update(owner_id=owner_id, updated_at=now)
    by = {
        "workspace": workspace,
        "occurred_at": now,
        **actor_columns(actor),
    }
    assignments: list[Assignment] = []
    activities = [
        Activity(
            contact_id=pk,
            kind=ActivityKind.OWNER_CHANGED,
            data=owner_changed_data(before=before[pk], after=owner_id, bulk=True),
            **by,
        )
        for pk in changed
    ]
    if owner_id is not None:
        assignments = Assignment.objects.bulk_create(
            [
                Assignment(
                    workspace=workspace,
                    contact_id=pk,
                    owner_id=owner_id,
                    strategy=strategy,
                    reason=reason[:300],
                    trigger=trigger,
                    actor_user_id=actor.user_id,
                    actor_label=actor.label[:200],
                    assigned_at=now,
                )
                for pk in changed
            ]
        )
        activities += [
            Activity(
                contact_id=assignment.contact_id,
                kind=CONTACT_ASSIGNED,
                data=assignment_data(
                    assignment_id=assignment.pk,
                    owner_id=owner_id,
                    team_id=None,
                    team="",
                    rule_id=None,
                    rule="",
                    strategy=strategy,
                    trigger=trigger,
                    reason=assignment.reason,
                ),
                **by,
            )
            for assignment in assignments
        ]
        if notify:
            task_schedule(NOTIFY_TASK, [assignment.pk for assignment in assignments])
            if owner_id != actor.user_id:  # told in the app at once: one line, however many
                _tell_in_app(workspace, owner_id, [a.contact_id for a in assignments])
    activities_record_many(activities)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="sales.leads_given",
        changes={"ids": changed, "owner_id": owner_id, "trigger": trigger},
    )
    return Given(changed, assignments)


def _tell_in_app(workspace: Workspace, owner_id: int, contact_ids: list[int]) -> None:
    """The new owner's in-app notification: the lead itself for one, a count for many."""
    if len(contact_ids) == 1:
        contact = Contact.objects.get(pk=contact_ids[0])
        title = f"New lead for you: {contact}"
        link = reverse(
            "contact_detail", kwargs={"workspace_slug": workspace.slug, "contact_id": contact.pk}
        )
    else:
        title = f"{len(contact_ids)} leads are yours now"
        link = reverse("contact_list", kwargs={"workspace_slug": workspace.slug})
    notifications_create(
        workspace=workspace,
        user_ids=[owner_id],
        kind=NotificationKind.ASSIGNED,
        title=title,
        body="Given to you by hand.",
        link=link,
        contact_id=contact_ids[0] if len(contact_ids) == 1 else None,
    )
