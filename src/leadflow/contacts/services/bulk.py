"""One action applied to many contacts at once."""

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts import selectors
from leadflow.contacts.conditions import Node
from leadflow.contacts.inputs import contact_input_clean
from leadflow.contacts.kind_writers import (
    contact_updated_data,
    owner_changed_data,
    stage_changed_data,
    tag_data,
)
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Contact,
    CustomField,
    LifecycleStage,
    Tag,
)
from leadflow.contacts.services.activities import activities_record_many, actor_columns
from leadflow.contacts.services.contacts import contacts_before_delete, member_or_error
from leadflow.contacts.services.lifecycle import stage_change_columns
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

BULK_ACTIONS = ("tag", "untag", "assign_owner", "set_stage", "set_field", "delete")
# What ``set_field`` may set on many contacts at once: descriptive fields and the
# workspace's custom fields that do not identify a person (an email or a phone number, or
# an identifying custom field, set alike on many would make them look like one person).
SETTABLE_FIELDS = ("job_title", "city", "region", "postal_code", "street_address", "country")


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
    where from and in which direction. ``set_field`` takes ``{"field": name, "value": v}``
    (a name of ``SETTABLE_FIELDS`` or ``custom_fields.<key>``; null or "" clears it) and
    writes ``contact.updated`` for the contacts whose value changed."""
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
    elif action == "set_field":
        field, clean = set_field_check(workspace, value)
        payload = _set_field(ids, field, clean, now)
        ids = list(payload)
        kind = ActivityKind.CONTACT_UPDATED
        if not ids:
            return 0
    else:
        audit_record(
            workspace=workspace, actor=actor, action="contact.bulk_deleted", changes={"ids": ids}
        )
        contacts_before_delete(workspace, ids)
        Contact.objects.filter(pk__in=ids).delete()
        return len(ids)
    activities_record_many(
        [
            Activity(
                workspace=workspace,
                contact_id=pk,
                kind=kind,
                occurred_at=now,
                **actor_columns(actor),
                data=payload[pk],
            )
            for pk in ids
        ]
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action=f"contact.bulk_{action}",
        changes={"ids": ids, "value": value},
    )
    return len(ids)


def set_field_check(workspace: Workspace, value: Any, path: str = "value") -> tuple[str, Any]:
    """``{"field": name, "value": v}`` checked: the field's name and its clean value (None
    clears it), through the same checks as an edit of one contact."""
    if not isinstance(value, dict) or not isinstance(value.get("field"), str):
        raise ValidationFailed([FieldError(f"{path}.field", "Choose a field.")])
    field, raw = value["field"], value.get("value")
    if field.startswith("custom_fields."):
        key = field.removeprefix("custom_fields.")
        if not CustomField.objects.filter(workspace=workspace, key=key, identifying=False).exists():
            raise ValidationFailed([FieldError(f"{path}.field", "No such custom field.")])
        data: dict[str, Any] = {"custom_fields": {key: raw}}
    elif field in SETTABLE_FIELDS:
        data = {field: raw}
    else:
        allowed = ", ".join((*SETTABLE_FIELDS, "custom_fields.<key>"))
        raise ValidationFailed([FieldError(f"{path}.field", f"Use one of: {allowed}.")])
    try:
        clean = contact_input_clean(workspace=workspace, data=data, partial=True)
    except ValidationFailed as failed:
        raise ValidationFailed(
            [FieldError(f"{path}.value", error.message) for error in failed.errors]
        ) from None
    if field.startswith("custom_fields."):
        return field, clean["custom_fields"][field.removeprefix("custom_fields.")]
    return field, clean[field] if clean[field] is not None else ""


def _set_field(ids: list[int], field: str, value: Any, now) -> dict[int, dict]:
    """Set one field on the contacts (one UPDATE); the ``contact.updated`` payload of each
    contact whose value changed."""
    if field.startswith("custom_fields."):
        key = field.removeprefix("custom_fields.")
        rows = Contact.objects.filter(pk__in=ids).values_list("pk", "custom_fields")
        before = {pk: (data or {}).get(key) for pk, data in rows if (data or {}).get(key) != value}
        if before:
            _custom_value_write(list(before), key, value, now)
    else:
        changing = Contact.objects.filter(pk__in=ids).exclude(**{field: value})
        before = dict(changing.values_list("pk", field))
        Contact.objects.filter(pk__in=list(before)).update(**{field: value, "updated_at": now})
    return {pk: contact_updated_data(changes={field: [old, value]}) for pk, old in before.items()}


def _custom_value_write(ids: list[int], key: str, value: Any, now) -> None:
    """One custom field's value on many contacts in one statement: a JSON key set (or
    removed, for None) inside the database, the other keys untouched."""
    import json

    table = Contact._meta.db_table
    if connection.vendor == "postgresql":
        if value is None:
            expression, params = "COALESCE(custom_fields, '{}'::jsonb) - %s", [key]
        else:
            expression = "COALESCE(custom_fields, '{}'::jsonb) || jsonb_build_object(%s, %s::jsonb)"
            params = [key, json.dumps(value)]
    else:
        path = "$." + json.dumps(key)  # keys are slugs; quoted anyway
        if value is None:
            expression, params = "json_remove(COALESCE(custom_fields, '{}'), %s)", [path]
        else:
            expression = "json_set(COALESCE(custom_fields, '{}'), %s, json(%s))"
            params = [path, json.dumps(value)]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):  # SQLite's limit on parameters
            chunk = ids[start : start + 5000]
            if connection.vendor == "postgresql":
                where, ids_params = "id = ANY(%s)", [chunk]
            else:
                where, ids_params = f"id IN ({', '.join(['%s'] * len(chunk))})", chunk
            cursor.execute(
                f"UPDATE {table} SET custom_fields = {expression}, updated_at = %s WHERE {where}",  # noqa: S608
                [*params, now, *ids_params],
            )
