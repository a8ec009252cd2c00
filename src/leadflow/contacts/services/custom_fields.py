"""Writes for the workspace's custom field definitions."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from leadflow.contacts.models import (
    IDENTIFYING_FIELD_TYPES,
    CustomField,
    CustomFieldType,
    MatchType,
)
from leadflow.contacts.services.activities import changes_jsonable
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.patterns import pattern_problem
from leadflow.core.services import audit_record


def _custom_field_clean(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    allowed = {
        "key",
        "label",
        "field_type",
        "choices",
        "required",
        "min_value",
        "max_value",
        "max_length",
        "pattern",
        "position",
        "identifying",
        "match_type",
    }
    errors = [FieldError(key, "Unknown field.") for key in data if key not in allowed]
    clean = {key: data[key] for key in data if key in allowed}
    if not partial or "label" in data:
        if not str(data.get("label") or "").strip():
            errors.append(FieldError("label", "A custom field needs a label."))
    if not partial:
        clean["key"] = slugify(str(data.get("key") or data.get("label") or "")).replace("-", "_")
        if not clean["key"]:
            errors.append(FieldError("key", "A custom field needs a key."))
        if data.get("field_type") not in CustomFieldType.values:
            errors.append(
                FieldError("field_type", f"Choose one of: {', '.join(CustomFieldType.values)}.")
            )
    if "choices" in clean:
        choices = clean["choices"]
        if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
            errors.append(FieldError("choices", "Must be a list of text."))
    field_type = data.get("field_type")
    if (
        field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)
        and not clean.get("choices")
        and not partial
    ):
        errors.append(FieldError("choices", "A choice field needs choices."))
    if clean.get("pattern"):
        problem = pattern_problem(clean["pattern"])
        if problem:
            errors.append(FieldError("pattern", problem))
    if "identifying" in clean and not isinstance(clean["identifying"], bool):
        errors.append(FieldError("identifying", "Must be true or false."))
    if clean.get("match_type") is None and "match_type" in clean:
        clean["match_type"] = ""
    if clean.get("match_type") and clean["match_type"] not in MatchType.values:
        errors.append(FieldError("match_type", f"Choose one of: {', '.join(MatchType.values)}."))
    if errors:
        raise ValidationFailed(errors)
    return clean


def _identifying_check(
    clean: dict[str, Any], *, field_type: str, current: CustomField | None
) -> None:
    """Settle ``identifying`` and ``match_type`` together, as the table's constraint wants:
    an identifying field is text or number and says how it is compared; any other field
    has no comparison (a stale one is dropped, so unticking "identifying" is enough)."""
    identifying = clean.get("identifying", current.identifying if current else False)
    match_type = clean.get("match_type", current.match_type if current else "")
    if not identifying:
        if "identifying" in clean or "match_type" in clean:
            clean["match_type"] = ""
        return
    errors = []
    if field_type not in IDENTIFYING_FIELD_TYPES:
        errors.append(
            FieldError(
                "identifying",
                "Only text and number fields can identify a person (an id number, a "
                "customer number).",
            )
        )
    if not match_type:
        errors.append(
            FieldError("match_type", "Choose how values are compared to find duplicates.")
        )
    if errors:
        raise ValidationFailed(errors)
    clean["match_type"] = match_type


@transaction.atomic
def custom_field_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> CustomField:
    """A new definition with a unique key; an identifying one is text or number and has a
    match type (ValidationFailed names each problem by field)."""
    clean = _custom_field_clean(data, partial=False)
    _identifying_check(clean, field_type=clean["field_type"], current=None)
    try:
        with transaction.atomic():
            definition = CustomField.objects.create(workspace=workspace, **clean)
    except IntegrityError:
        raise ValidationFailed([FieldError("key", "This key is used already.")]) from None
    audit_record(workspace=workspace, actor=actor, action="custom_field.created", obj=definition)
    return definition


@transaction.atomic
def custom_field_update(
    *, workspace: Workspace, field_id: int, data: Mapping[str, Any], actor: Actor
) -> CustomField:
    """Change the definition's label, rules or identifying setting (never its key or type);
    another workspace's id is NotFound."""
    definition = CustomField.objects.filter(workspace=workspace, pk=field_id).first()
    if definition is None:
        raise NotFound("No such custom field.")
    if "key" in data or "field_type" in data:
        raise ValidationFailed(
            [
                FieldError(name, "Cannot change once created.")
                for name in ("key", "field_type")
                if name in data
            ]
        )
    clean = _custom_field_clean(data, partial=True)
    _identifying_check(clean, field_type=definition.field_type, current=definition)
    for key, value in clean.items():
        setattr(definition, key, value)
    definition.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="custom_field.updated",
        obj=definition,
        changes=changes_jsonable({k: [v] for k, v in clean.items()}),
    )
    return definition


@transaction.atomic
def custom_field_delete(*, workspace: Workspace, field_id: int, actor: Actor) -> None:
    """Delete the definition; values stay on contacts (harmless) until overwritten."""
    definition = CustomField.objects.filter(workspace=workspace, pk=field_id).first()
    if definition is None:
        raise NotFound("No such custom field.")
    audit_record(workspace=workspace, actor=actor, action="custom_field.deleted", obj=definition)
    definition.delete()
