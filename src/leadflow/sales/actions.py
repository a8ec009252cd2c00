"""The contact actions sales offers to other apps (``contacts.actions``), registered in
``SalesConfig.ready``: ``sales.followup``, a follow-up for each contact's owner (a
sequence's "create a follow-up for sales" step). Contacts without an owner get none."""

import datetime as dt
from typing import Any

from django.utils import timezone

from leadflow.contacts.actions import ContactAction, contact_action_register
from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Workspace

FOLLOWUP = "sales.followup"


def followups_for_owners(
    workspace: Workspace, contact_ids: list[int], params: dict[str, Any], actor: Actor
) -> int:
    """``params``: title, due_hours (from now), kind (call, email, meeting, to_do)."""
    from leadflow.sales.services.followups import followup_create

    due = timezone.now() + dt.timedelta(hours=params.get("due_hours", 24))
    made = 0
    owners = Contact.objects.filter(
        workspace=workspace, pk__in=contact_ids, owner__isnull=False
    ).values_list("pk", "owner_id")
    for contact_id, owner_id in owners:
        try:
            followup_create(
                workspace=workspace,
                contact_id=contact_id,
                data={
                    "title": params.get("title") or "Follow up",
                    "due_at": due,
                    "kind": params.get("kind", "call"),
                    "assignee_id": owner_id,
                },
                actor=actor,
            )
        except (ValidationFailed, NotFound):
            continue  # an owner who may no longer hold leads: no follow-up, the step goes on
        made += 1
    return made


def register() -> None:
    contact_action_register(
        ContactAction(
            key=FOLLOWUP, label="Create a follow-up for the owner", run=followups_for_owners
        )
    )
