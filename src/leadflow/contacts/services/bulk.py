"""One action applied to many contacts at once."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.contacts import selectors
from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.conditions import Node
from leadflow.contacts.kind_writers import owner_changed_data, stage_changed_data, tag_data
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Contact,
    LifecycleStage,
    Tag,
)
from leadflow.contacts.services.contacts import member_or_error
from leadflow.contacts.services.lifecycle import stage_change_columns
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

BULK_ACTIONS = ("tag", "untag", "assign_owner", "set_stage", "delete")


@transaction.atomic
def contacts_bulk_action(
    *,
    workspace: Workspace,
    contact_ids: list[int] | None = None,
    action: str,
    value: Any,
    actor: Actor,
    conditions: Node | None = None,
) -> int:
    """Apply one action to many contacts with set-based SQL; returns how many were touched.

    The contacts are those of ``contact_ids`` (the checked rows) and/or those matching the
    condition tree ``conditions`` (both given: both must hold), among those the actor sees.
    ``set_stage`` is an explicit edit: any stage, each contact's ``stage.changed`` saying
    where from and in which direction."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed([FieldError("action", f"Choose one of: {', '.join(BULK_ACTIONS)}.")])
    if contact_ids is None and conditions is None:
        raise ValidationFailed([FieldError("contact_ids", "Select contacts or give conditions.")])
    queryset = selectors.contacts_visible(workspace, actor)
    if contact_ids is not None:
        queryset = queryset.filter(pk__in=contact_ids)
    if conditions is not None:
        queryset = queryset.filter(selectors.contact_condition(workspace, actor, None, conditions))
    ids = list(queryset.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    # Each contact's payload, built by the kind's writer (contacts.kind_writers).
    payload: dict[int, dict] = {}
    if action in ("tag", "untag"):
        name = str(value or "").strip()[:60]
        if not name:
            raise ValidationFailed([FieldError("value", "Name the tag.")])
        tag, _ = Tag.objects.get_or_create(workspace=workspace, name=name)
        through = Contact.tags.through
        if action == "tag":
            through.objects.bulk_create(
                [through(contact_id=pk, tag_id=tag.pk) for pk in ids], ignore_conflicts=True
            )
            kind = ActivityKind.TAG_ADDED
        else:
            through.objects.filter(contact_id__in=ids, tag=tag).delete()
            kind = ActivityKind.TAG_REMOVED
        payload = {pk: tag_data(tag=name, bulk=True) for pk in ids}
    elif action == "assign_owner":
        try:
            owner_id = int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            raise ValidationFailed([FieldError("value", "Choose a member.")]) from None
        member_or_error(workspace, owner_id, "value")
        before = dict(Contact.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
        Contact.objects.filter(pk__in=ids).update(owner_id=owner_id, updated_at=now)
        kind = ActivityKind.OWNER_CHANGED
        payload = {
            pk: owner_changed_data(before=owner, after=owner_id, bulk=True)
            for pk, owner in before.items()
        }
    elif action == "set_stage":
        if value not in LifecycleStage.values:
            raise ValidationFailed([FieldError("value", "Choose a lifecycle stage.")])
        before = dict(Contact.objects.filter(pk__in=ids).values_list("pk", "lifecycle_stage"))
        Contact.objects.filter(pk__in=ids).exclude(lifecycle_stage=value).update(
            **stage_change_columns(value, now)
        )
        Contact.objects.filter(pk__in=ids).update(updated_at=now)
        kind = ActivityKind.STAGE_CHANGED
        payload = {
            pk: stage_changed_data(
                before=stage,
                after=value,
                direction=LifecycleStage.direction(stage, value),
                bulk=True,
            )
            for pk, stage in before.items()
        }
    else:
        audit_record(
            workspace=workspace, actor=actor, action="contact.bulk_deleted", changes={"ids": ids}
        )
        Contact.objects.filter(pk__in=ids).delete()
        return len(ids)
    written = Activity.objects.bulk_create(
        [
            Activity(
                workspace=workspace,
                contact_id=pk,
                kind=kind,
                occurred_at=now,
                actor_user_id=actor.user_id,
                actor_api_key_id=actor.api_key_id,
                actor_label=actor.label[:200],
                data=payload[pk],
            )
            for pk in ids
        ]
    )
    # One announcement for the whole action (ids come back in insertion order).
    activities_announce(workspace_id=workspace.pk, contact_ids=ids, up_to_id=written[-1].pk)
    audit_record(
        workspace=workspace,
        actor=actor,
        action=f"contact.bulk_{action}",
        changes={"ids": ids, "value": value},
    )
    return len(ids)
