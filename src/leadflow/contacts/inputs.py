"""Cleaning of contact input shared by every entry point (API, app, CLI, imports, capture).

``contact_input_clean`` checks every field and raises one ValidationFailed naming all the
bad ones, so a caller never writes half of a bad request.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from leadflow.contacts.models import (
    ConsentStatus,
    CustomField,
    CustomFieldType,
    LifecycleStage,
    Temperature,
)
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.patterns import pattern_fullmatch
from leadflow.core.validation import country_normalise, email_normalise, phone_normalise

TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "job_title": 150,
    "company": 200,
    "source": 200,
    "medium": 200,
    "campaign": 200,
    "channel": 30,
    "street_address": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
}
# The earliest date of birth taken (older ones are typing mistakes).
BIRTH_YEAR_MIN = 1900
CHOICE_FIELDS = {
    "lifecycle_stage": LifecycleStage.values,
    "temperature": Temperature.values,
    "consent_status": ConsentStatus.values,
}
CONTACT_INPUT_FIELDS = frozenset(
    {
        "email",
        "phone",
        "country",
        "date_of_birth",
        "owner_id",
        "company_id",
        "tags",
        "custom_fields",
    }
    | set(TEXT_LIMITS)
    | set(CHOICE_FIELDS)
)
MAX_TAGS = 50


def _collect(errors: list[FieldError], fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationFailed as failure:
        errors.extend(failure.errors)
        return None


def contact_input_clean(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    partial: bool,
    custom_fields: list[CustomField] | None = None,
) -> dict[str, Any]:
    """Canonical values for the given keys; blank strings become None for email and phone.

    ``partial`` (an update) checks only the keys given; otherwise required custom fields
    must be present. Unknown keys are errors, never silently dropped.
    """
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in data:
        if key not in CONTACT_INPUT_FIELDS:
            errors.append(FieldError(key, "Unknown field."))
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            value = data[key]
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors.append(FieldError(key, "Must be text."))
                continue
            value = value.strip()
            if key == "postal_code":  # "sw1a  1aa" is SW1A 1AA
                value = " ".join(value.upper().split())
            if len(value) > limit:
                errors.append(FieldError(key, f"At most {limit} characters."))
                continue
            clean[key] = value
    for key, choices in CHOICE_FIELDS.items():
        if key in data:
            if data[key] not in choices:
                errors.append(FieldError(key, f"Choose one of: {', '.join(choices)}."))
            else:
                clean[key] = data[key]
    if "email" in data:
        value = data["email"]
        if value in (None, ""):
            clean["email"] = None
        elif not isinstance(value, str):
            errors.append(FieldError("email", "Must be text."))
        else:
            clean["email"] = _collect(errors, email_normalise, value)
    if "phone" in data:
        value = data["phone"]
        if value in (None, ""):
            clean["phone"] = None
        elif not isinstance(value, str):
            errors.append(FieldError("phone", "Must be text."))
        else:
            clean["phone"] = _collect(
                errors, phone_normalise, value, default_country=workspace.default_country
            )
    if "country" in data:
        value = data["country"]
        if value is not None and not isinstance(value, str):
            errors.append(FieldError("country", "Must be text."))
        else:
            clean["country"] = _collect(errors, country_normalise, value or "")
    if "date_of_birth" in data:
        clean["date_of_birth"] = _collect(errors, birth_date_clean, data["date_of_birth"])
    for key in ("owner_id", "company_id"):
        if key in data:
            value = data[key]
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                errors.append(FieldError(key, "Must be a whole number or null."))
            else:
                clean[key] = value
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            errors.append(FieldError("tags", "Must be a list of text."))
        else:
            names = list(dict.fromkeys(tag.strip()[:60] for tag in tags if tag.strip()))
            if len(names) > MAX_TAGS:
                errors.append(FieldError("tags", f"At most {MAX_TAGS} tags."))
            clean["tags"] = names
    if "custom_fields" in data or not partial:
        values = data.get("custom_fields") or {}
        if not isinstance(values, Mapping):
            errors.append(FieldError("custom_fields", "Must be an object."))
        else:
            definitions = (
                custom_fields
                if custom_fields is not None
                else list(CustomField.objects.filter(workspace=workspace))
            )
            cleaned_values = _collect(
                errors, custom_values_clean, definitions, values, partial=partial
            )
            if "custom_fields" in data:
                clean["custom_fields"] = cleaned_values or {}
    if errors:
        raise ValidationFailed(errors)
    return clean


def birth_date_clean(value: Any) -> dt.date | None:
    """A date of birth from a date or ISO text (YYYY-MM-DD); blank is None. Not in the
    future, not before ``BIRTH_YEAR_MIN``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed(
                [FieldError("date_of_birth", "Not a date: use YYYY-MM-DD.")]
            ) from None
    if not isinstance(value, dt.date):
        raise ValidationFailed([FieldError("date_of_birth", "Must be a date (YYYY-MM-DD).")])
    if value > timezone.localdate():
        raise ValidationFailed([FieldError("date_of_birth", "The date is in the future.")])
    if value.year < BIRTH_YEAR_MIN:
        raise ValidationFailed(
            [FieldError("date_of_birth", f"Must be {BIRTH_YEAR_MIN}-01-01 or later.")]
        )
    return value


def custom_values_clean(
    definitions: list[CustomField], values: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Typed custom field values; None clears a value (allowed unless the field is required)."""
    by_key = {definition.key: definition for definition in definitions}
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, value in values.items():
        definition = by_key.get(key)
        name = f"custom_fields.{key}"
        if definition is None:
            errors.append(FieldError(name, "Unknown custom field."))
            continue
        if value is None or value == "" or value == []:
            if definition.required:
                errors.append(FieldError(name, "This field is required."))
            else:
                clean[key] = None
            continue
        try:
            clean[key] = custom_value_clean(definition, value)
        except ValueError as error:
            errors.append(FieldError(name, str(error)))
    if not partial:
        for definition in definitions:
            if definition.required and definition.key not in values:
                errors.append(
                    FieldError(f"custom_fields.{definition.key}", "This field is required.")
                )
    if errors:
        raise ValidationFailed(errors)
    return clean


def required_custom_fields_missing(
    definitions: list[CustomField], values: Mapping[str, Any]
) -> list[FieldError]:
    """Errors for required custom fields without a value (checked when a contact is created)."""
    return [
        FieldError(f"custom_fields.{definition.key}", "This field is required.")
        for definition in sorted(definitions, key=lambda d: (d.position, d.pk))
        if definition.required and values.get(definition.key) in (None, "", [])
    ]


def custom_value_clean(definition: CustomField, value: Any) -> Any:
    """One value in its JSON-native form, or ValueError saying what is wrong."""
    kind = definition.field_type
    if kind == CustomFieldType.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError("Must be text.")
        text = str(value).strip()
        limit = definition.max_length or 1000
        if len(text) > limit:
            raise ValueError(f"At most {limit} characters.")
        if definition.pattern and pattern_fullmatch(definition.pattern, text) is False:
            raise ValueError("Does not match the expected format.")
        return text
    if kind == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError("Must be a number.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("Must be a number.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("Must be a finite number.")
        if definition.min_value is not None and number < definition.min_value:
            raise ValueError(f"Must be at least {definition.min_value:g}.")
        if definition.max_value is not None and number > definition.max_value:
            raise ValueError(f"Must be at most {definition.max_value:g}.")
        return int(number) if number.is_integer() else number
    if kind == CustomFieldType.DATE:
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("Must be a date as YYYY-MM-DD.") from None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "on"}:
            return True
        if text in {"false", "no", "0", "off"}:
            return False
        raise ValueError("Must be true or false.")
    if kind == CustomFieldType.CHOICE:
        if value not in definition.choices:
            raise ValueError(f"Choose one of: {', '.join(map(str, definition.choices))}.")
        return value
    if kind == CustomFieldType.MULTI_CHOICE:
        items = value if isinstance(value, list) else [value]
        unknown = [item for item in items if item not in definition.choices]
        if unknown:
            raise ValueError(f"Not among the choices: {', '.join(map(str, unknown))}.")
        return list(dict.fromkeys(items))
    raise ValueError("Unknown field type.")  # pragma: no cover - choices are fixed
