"""Form field definitions and the server-side validation of submitted values.

The embed script (static/leadflow/form.js) applies the same rules in the browser from the
same definitions; the server is the authority.
"""

import datetime as dt
import hashlib
import re
from collections.abc import Collection, Mapping
from typing import Any

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS

from leadflow.contacts.inputs import TEXT_LIMITS, birth_date_clean
from leadflow.contacts.models import DEFAULT_PURPOSES
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.patterns import pattern_fullmatch, pattern_problem
from leadflow.core.validation import email_domain, email_normalise, phone_normalise

FIELD_TYPES = (
    "text",
    "email",
    "phone",
    "number",
    "textarea",
    "select",
    "radio",
    "checkboxes",
    "date",
    "hidden",
    "consent",
)
OPTION_TYPES = ("select", "radio", "checkboxes")
CONTACT_TARGETS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "company",
    "country",
    "street_address",
    "city",
    "region",
    "postal_code",
    "date_of_birth",
)
# A date of birth comes from a date field (checked as one); every other target from any
# field whose answer is text.
TARGET_FIELD_TYPES = {"date_of_birth": ("date",)}
# Where an answer obviously belongs on the contact: a field of these types, or a short-text
# field with one of these names (a date field for the date of birth), is saved there unless
# its definition says ``maps_to`` (an empty ``maps_to`` keeps the answer on the submission
# only). The builder offers the same defaults (``obvious_target``, sent to form-builder.js).
OBVIOUS_TARGETS_BY_TYPE = {"email": "email", "phone": "phone"}
OBVIOUS_TARGETS_BY_NAME = {
    "first_name": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "company": "company",
    "company_name": "company",
    "organisation": "company",
    "organization": "company",
    "job_title": "job_title",
    "jobtitle": "job_title",
    "street_address": "street_address",
    "address": "street_address",
    "city": "city",
    "town": "city",
    "region": "region",
    "state": "region",
    "province": "region",
    "county": "region",
    "postal_code": "postal_code",
    "postcode": "postal_code",
    "post_code": "postal_code",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "date_of_birth": "date_of_birth",
    "birth_date": "date_of_birth",
    "birthday": "date_of_birth",
    "dob": "date_of_birth",
}
# The field type an obvious name must have (text unless said here).
OBVIOUS_TARGET_KINDS = {"date_of_birth": "date"}
RESERVED_PREFIX = "_lf_"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
DEFAULT_MAX_LENGTH = {"textarea": 5000}
FALLBACK_MAX_LENGTH = 500
DEFINITION_KEYS = frozenset(
    {
        "name",
        "type",
        "label",
        "placeholder",
        "help_text",
        "required",
        "options",
        "maps_to",
        "pattern",
        "min",
        "max",
        "max_length",
        "blocked_domains",
        "block_disposable",
        "default",
        "consent_text",
        "consent_purpose",
    }
)


def obvious_target(name: str, kind: str) -> str:
    """The contact field an answer obviously fills (by type, then by a text field's name),
    or "" when none does."""
    if kind in OBVIOUS_TARGETS_BY_TYPE:
        return OBVIOUS_TARGETS_BY_TYPE[kind]
    target = OBVIOUS_TARGETS_BY_NAME.get(name, "")
    return target if kind == OBVIOUS_TARGET_KINDS.get(target, "text") else ""


def consent_version(text: str) -> str:
    """A short stable version of a consent text: it changes whenever the words change."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def form_fields_clean(
    fields: Any, custom_field_keys: set[str], purposes: Collection[str] | None = None
) -> list[dict]:
    """Validated field definitions in order; every problem named as ``fields[i].key``.

    A definition without ``maps_to`` gets its obvious contact field (``obvious_target``)
    when no other field maps there.
    """
    if not isinstance(fields, list) or not fields:
        raise ValidationFailed([FieldError("fields", "A form needs at least one field.")])
    errors: list[FieldError] = []
    clean_fields: list[dict] = []
    names: set[str] = set()
    targets: set[str] = set()
    chosen = {
        raw["maps_to"]
        for raw in fields
        if isinstance(raw, Mapping) and isinstance(raw.get("maps_to"), str)
    }
    for index, raw in enumerate(fields):
        where = f"fields[{index}]"
        if not isinstance(raw, Mapping):
            errors.append(FieldError(where, "Each field is an object."))
            continue
        errors += [
            FieldError(f"{where}.{key}", "Unknown setting.")
            for key in raw
            if key not in DEFINITION_KEYS
        ]
        field = {key: raw[key] for key in raw if key in DEFINITION_KEYS}
        name = str(field.get("name") or "")
        kind = field.get("type")
        if not NAME_PATTERN.match(name) or name.startswith(RESERVED_PREFIX.strip("_")):
            errors.append(
                FieldError(
                    f"{where}.name", "Use lower-case letters, digits and _ (start with a letter)."
                )
            )
        elif name in names:
            errors.append(FieldError(f"{where}.name", "Another field has this name."))
        names.add(name)
        if kind not in FIELD_TYPES:
            errors.append(FieldError(f"{where}.type", f"Choose one of: {', '.join(FIELD_TYPES)}."))
        field.setdefault("label", name.replace("_", " ").capitalize())
        field["required"] = bool(field.get("required", False))
        options = field.get("options")
        if kind in OPTION_TYPES:
            if (
                not isinstance(options, list)
                or not options
                or not all(isinstance(option, str) and option for option in options)
            ):
                errors.append(FieldError(f"{where}.options", "List the options (text)."))
        elif options:
            errors.append(
                FieldError(
                    f"{where}.options", "Only select, radio and checkboxes fields have options."
                )
            )
        target = field.get("maps_to") or ""
        if "maps_to" not in field and isinstance(kind, str):
            target = obvious_target(name, kind)
            if target in chosen or target in targets:
                target = ""
        if not isinstance(target, str):
            errors.append(FieldError(f"{where}.maps_to", "A contact field's name (text)."))
            target = ""
        if target:
            if target.startswith("custom_fields."):
                if target.removeprefix("custom_fields.") not in custom_field_keys:
                    errors.append(FieldError(f"{where}.maps_to", "No such custom field."))
            elif target not in CONTACT_TARGETS:
                errors.append(
                    FieldError(
                        f"{where}.maps_to",
                        f"Map to one of: {', '.join(CONTACT_TARGETS)}, or custom_fields.<key>.",
                    )
                )
            elif target in targets:
                errors.append(FieldError(f"{where}.maps_to", "Another field maps there."))
            elif target in TARGET_FIELD_TYPES and kind not in TARGET_FIELD_TYPES[target]:
                errors.append(
                    FieldError(
                        f"{where}.maps_to",
                        f"Only a {' or '.join(TARGET_FIELD_TYPES[target])} field can fill this.",
                    )
                )
            targets.add(target)
        field["maps_to"] = target
        if kind == "consent":
            text = str(field.get("consent_text") or "").strip()
            if not text:
                errors.append(
                    FieldError(
                        f"{where}.consent_text", "Give the exact consent text people agree to."
                    )
                )
            field["consent_text"] = text
            purpose = str(field.get("consent_purpose") or "").strip()
            known = purposes if purposes is not None else DEFAULT_PURPOSES
            if purpose and purpose not in known:
                errors.append(
                    FieldError(
                        f"{where}.consent_purpose",
                        f"Not a consent purpose here; one of: {', '.join(known)}.",
                    )
                )
            if purpose:
                field["consent_purpose"] = purpose
            else:  # marketing email, the default purpose
                field.pop("consent_purpose", None)
        if field.get("pattern"):
            problem = pattern_problem(str(field["pattern"]))
            if problem:
                errors.append(FieldError(f"{where}.pattern", problem))
        for bound in ("min", "max", "max_length"):
            if field.get(bound) is not None and not isinstance(field[bound], int | float):
                errors.append(FieldError(f"{where}.{bound}", "Must be a number."))
        blocked = field.get("blocked_domains") or []
        if not isinstance(blocked, list) or not all(isinstance(d, str) for d in blocked):
            errors.append(FieldError(f"{where}.blocked_domains", "Must be a list of domains."))
        else:
            field["blocked_domains"] = [d.strip().lower() for d in blocked if d.strip()]
        clean_fields.append(field)
    if "email" not in targets and "phone" not in targets and not errors:
        errors.append(FieldError("fields", "Map one field to the contact's email or phone."))
    if errors:
        raise ValidationFailed(errors)
    return clean_fields


def _max_length(field: dict) -> int:
    if field.get("max_length"):
        return int(field["max_length"])
    target = field.get("maps_to") or ""
    return TEXT_LIMITS.get(target, DEFAULT_MAX_LENGTH.get(field["type"], FALLBACK_MAX_LENGTH))


def _is_ticked(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "on", "yes"}


def _clean_one(field: dict, value: Any, default_country: str) -> Any:
    """The value in canonical form, or ValueError with a message for the person."""
    kind = field["type"]
    if kind == "checkboxes":
        items = value if isinstance(value, list) else [value]
        unknown = [item for item in items if item not in field["options"]]
        if unknown:
            raise ValueError("Choose from the listed options.")
        return list(dict.fromkeys(items))
    if kind == "consent":
        return _is_ticked(value)
    if isinstance(value, list | dict | bool):
        raise ValueError("Must be text.")
    text = str(value).strip()
    if len(text) > _max_length(field):
        raise ValueError(f"At most {_max_length(field)} characters.")
    if kind == "email":
        try:
            text = email_normalise(text)
        except ValidationFailed as failure:
            raise ValueError("Enter a valid email address.") from failure
        domain = email_domain(text)
        if domain in field.get("blocked_domains", []):
            raise ValueError("Please use another email address.")
        if field.get("block_disposable") and domain in DISPOSABLE_DOMAINS:
            raise ValueError("Please use a permanent email address.")
    elif kind == "phone":
        try:
            text = phone_normalise(text, default_country=default_country)
        except ValidationFailed as failure:
            raise ValueError("Enter a valid phone number.") from failure
    elif kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("Enter a number.") from None
        if number != number or abs(number) == float("inf"):
            raise ValueError("Enter a number.")
        if field.get("min") is not None and number < field["min"]:
            raise ValueError(f"Must be at least {field['min']:g}.")
        if field.get("max") is not None and number > field["max"]:
            raise ValueError(f"Must be at most {field['max']:g}.")
        return int(number) if number.is_integer() else number
    elif kind == "date":
        try:
            text = dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
        if field.get("maps_to") == "date_of_birth":  # named by this field, not the contact's
            try:
                birth_date_clean(text)
            except ValidationFailed as failure:
                raise ValueError(failure.errors[0].message) from None
    elif kind in ("select", "radio") and text not in field["options"]:
        raise ValueError("Choose one of the listed options.")
    if (
        field.get("pattern")
        and kind in ("text", "textarea", "hidden")
        and pattern_fullmatch(field["pattern"], text) is False
    ):
        raise ValueError("This does not have the expected format.")
    if kind in ("text", "textarea") and field.get("min") is not None and len(text) < field["min"]:
        raise ValueError(f"At least {field['min']:g} characters.")
    return text


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def submission_values_clean(
    fields: list[dict],
    values: Mapping[str, Any],
    *,
    default_country: str,
    context_utm: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every submitted value checked against its definition; all problems in one error.

    Unknown names are errors; hidden fields take their default, or the UTM value of the
    same name from the page context (utm_source, utm_campaign, ...).
    """
    by_name = {field["name"]: field for field in fields}
    errors = [FieldError(name, "Unknown field.") for name in values if name not in by_name]
    clean: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        value = values.get(name)
        if field["type"] == "hidden" and _is_empty(value):
            value = (context_utm or {}).get(name) or field.get("default") or ""
        if _is_empty(value) or (field["type"] == "consent" and not _is_ticked(value)):
            if field["required"]:
                message = (
                    "Please tick this box to continue."
                    if field["type"] == "consent"
                    else "This field is required."
                )
                errors.append(FieldError(name, message))
            elif field["type"] == "consent":
                clean[name] = False
            continue
        try:
            clean[name] = _clean_one(field, value, default_country)
        except ValueError as error:
            errors.append(FieldError(name, str(error)))
    if errors:
        raise ValidationFailed(errors)
    return clean


def public_definition(field: dict) -> dict:
    """What the browser needs to render and check a field (the same rules as the server)."""
    keys = (
        "name",
        "type",
        "label",
        "placeholder",
        "help_text",
        "required",
        "options",
        "pattern",
        "min",
        "max",
        "consent_text",
    )
    public = {key: field[key] for key in keys if field.get(key) not in (None, "", [])}
    public["required"] = field["required"]
    public["max_length"] = _max_length(field)
    if field["type"] == "hidden":
        public["default"] = field.get("default", "")
    return public
