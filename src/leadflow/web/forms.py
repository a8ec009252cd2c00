"""Reading HTML form posts into the plain data services take, and errors back onto fields.

The services validate; this module only turns strings from a form into the shapes the
services expect (ids as ints, blanks as None, lists from checkboxes) and maps the
``FieldError`` names a service reports to the names of the inputs that show them.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from leadflow.contacts.models import (
    ConsentStatus,
    Contact,
    CustomField,
    CustomFieldType,
    LifecycleStage,
    Temperature,
)
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.tracking.models import Channel

CUSTOM_PREFIX = "cf_"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    input_type: str = "text"
    autocomplete: str = ""
    max_length: int | None = None


PROFILE_FIELDS = (
    FormField("first_name", "First name", autocomplete="off", max_length=100),
    FormField("last_name", "Last name", autocomplete="off", max_length=100),
    FormField("email", "Email", "email", autocomplete="off", max_length=254),
    FormField("phone", "Phone", "tel", autocomplete="off", max_length=40),
    FormField("job_title", "Job title", max_length=150),
    FormField("company", "Company", max_length=200),
    FormField("street_address", "Street address", autocomplete="off", max_length=200),
    FormField("city", "City", autocomplete="off", max_length=100),
    FormField("region", "Region / state", autocomplete="off", max_length=100),
    FormField("postal_code", "Postal code", autocomplete="off", max_length=20),
    FormField("country", "Country", max_length=60),
    FormField("date_of_birth", "Date of birth", "date", autocomplete="off"),
)
FIELD_LABELS = {
    **{f.name: f.label for f in PROFILE_FIELDS},
    "company_id": "Company",
    "owner_id": "Owner",
    "lifecycle_stage": "Lifecycle stage",
    "temperature": "Temperature",
    "consent_status": "Consent",
    "tags": "Tags",
    "first_touch_source": "First source",
    "first_touch_medium": "First medium",
    "first_touch_campaign": "First campaign",
    "last_touch_source": "Latest source",
    "last_touch_medium": "Latest medium",
    "last_touch_campaign": "Latest campaign",
    "first_touch_channel": "First channel",
    "last_touch_channel": "Latest channel",
}
CHOICE_LABELS = {
    "lifecycle_stage": dict(LifecycleStage.choices),
    "temperature": dict(Temperature.choices),
    "consent_status": dict(ConsentStatus.choices),
    "first_touch_channel": dict(Channel.choices),
    "last_touch_channel": dict(Channel.choices),
}


def error_map(failure: ValidationFailed, rename: Mapping[str, str] | None = None) -> dict:
    """{input name: [messages]} for a failure; ``custom_fields.x`` lands on ``cf_x``.

    Errors about fields the form does not show are kept under ``__all__`` so they are
    never lost.
    """
    errors: dict[str, list[str]] = {}
    for error in failure.errors:
        name = error.field
        if name.startswith("custom_fields."):
            name = CUSTOM_PREFIX + name.removeprefix("custom_fields.")
        name = (rename or {}).get(name, name)
        errors.setdefault(name, []).append(error.message)
    return errors


NON_FIELD = frozenset({"", "__all__"})
PLAIN_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def field_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """What a member calls the field an error names: the label the view's form shows it
    under (``labels``), a contact field's label, else a plain name made readable
    (``form_id`` → "Form", ``min_sample`` → "Min sample"); a path like ``blocks[0].text``
    stays as it is."""
    if labels and name in labels:
        return labels[name]
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    if PLAIN_NAME.fullmatch(name):
        return name.removesuffix("_id").replace("_", " ").capitalize()
    return name


def error_message(name: str, message: str, labels: Mapping[str, str] | None = None) -> str:
    """An error as a sentence for a member: "Form: Choose the form …"; a message about no
    field in particular (``__all__``) has no prefix."""
    return message if name in NON_FIELD else f"{field_label(name, labels)}: {message}"


def error_text(failure: ValidationFailed, labels: Mapping[str, str] | None = None) -> str:
    """Every error of ``failure`` as one text (a flash message), fields by their labels."""
    return " ".join(error_message(e.field, e.message, labels) for e in failure.errors)


def non_field_errors(
    errors: Mapping[str, list[str]],
    shown: Iterable[str],
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Messages for error names that have no input on the form."""
    shown = set(shown)
    return [
        error_message(name, message, labels)
        for name, messages in errors.items()
        if name not in shown
        for message in messages
    ]


def optional_int(value: str | None, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed([FieldError(name, "Choose one of the listed options.")]) from None


def tag_names_from_text(text: str) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


# --- custom fields -------------------------------------------------------------------------


@dataclass
class CustomInput:
    """One custom field as the form and the profile show it."""

    definition: CustomField
    value: Any
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return CUSTOM_PREFIX + self.definition.key

    @property
    def kind(self) -> str:
        return self.definition.field_type

    @property
    def html_type(self) -> str:
        return {
            CustomFieldType.NUMBER: "number",
            CustomFieldType.DATE: "date",
        }.get(self.kind, "text")

    @property
    def selected(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(item) for item in self.value]
        return [] if self.value in (None, "") else [str(self.value)]

    @property
    def form_value(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)

    @property
    def display(self) -> str:
        value = self.value
        if value in (None, "", []):
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value)


def custom_inputs(
    definitions: Iterable[CustomField],
    values: Mapping[str, Any],
    errors: Mapping[str, list[str]] | None = None,
) -> list[CustomInput]:
    errors = errors or {}
    return [
        CustomInput(
            definition=definition,
            value=values.get(definition.key),
            errors=errors.get(CUSTOM_PREFIX + definition.key, []),
        )
        for definition in definitions
    ]


def custom_values_from_post(
    post: QueryDict, definitions: Iterable[CustomField], current: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Raw custom values to send: every filled input, and blanks only where a value exists
    (clearing it), so an untouched empty field never trips a rule it was not asked about."""
    values: dict[str, Any] = {}
    current = current or {}
    for definition in definitions:
        name = CUSTOM_PREFIX + definition.key
        if definition.field_type == CustomFieldType.MULTI_CHOICE:
            raw: Any = post.getlist(name)
            present = f"{name}__present" in post
            if not present:
                continue
        else:
            if name not in post:
                continue
            raw = post.get(name, "").strip()
        if raw in ("", []):
            if current.get(definition.key) not in (None, "", []):
                values[definition.key] = None
            continue
        values[definition.key] = raw
    return values


def posted_values(post: QueryDict, definitions: Iterable[CustomField]) -> dict[str, Any]:
    """What the user typed into custom inputs, to show again beside the errors."""
    values: dict[str, Any] = {}
    for definition in definitions:
        name = CUSTOM_PREFIX + definition.key
        if definition.field_type == CustomFieldType.MULTI_CHOICE:
            values[definition.key] = post.getlist(name)
        elif definition.field_type == CustomFieldType.BOOLEAN:
            raw = post.get(name, "")
            values[definition.key] = {"true": True, "false": False}.get(raw)
        else:
            values[definition.key] = post.get(name, "")
    return values


# --- contacts ------------------------------------------------------------------------------


def contact_values(contact: Contact) -> dict[str, Any]:
    """The contact's fields as the edit form shows them."""
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email or "",
        "phone": contact.phone or "",
        "job_title": contact.job_title,
        "company": contact.company.name if contact.company_id else "",
        "country": contact.country,
        "street_address": contact.street_address,
        "city": contact.city,
        "region": contact.region,
        "postal_code": contact.postal_code,
        "date_of_birth": contact.date_of_birth.isoformat() if contact.date_of_birth else "",
        "owner_id": str(contact.owner_id or ""),
        "lifecycle_stage": contact.lifecycle_stage,
        "temperature": contact.temperature,
        "consent_status": contact.consent_status,
    }


def contact_profile_changes(post: QueryDict, contact: Contact) -> dict[str, Any]:
    """The profile inputs of an edit form as a partial update of ``contact``."""
    data: dict[str, Any] = {}
    for form_field in PROFILE_FIELDS:
        if form_field.name not in post:
            continue
        value = post.get(form_field.name, "").strip()
        if form_field.name == "company":
            current = contact.company.name if contact.company_id else ""
            if value == current:
                continue
            if value:
                data["company"] = value
            else:
                data["company_id"] = None
            continue
        data[form_field.name] = value
    return data


def contact_status_changes(post: QueryDict) -> dict[str, Any]:
    """Owner, lifecycle stage and consent from a form, as given. Temperature is not set by
    hand in the app: scoring derives it from the engagement score (docs/scoring.md)."""
    data: dict[str, Any] = {}
    if "owner_id" in post:
        data["owner_id"] = optional_int(post.get("owner_id"), "owner_id")
    for name in ("lifecycle_stage", "consent_status"):
        if name in post:
            data[name] = post.get(name, "")
    return data


def contact_create_data(post: QueryDict, definitions: Iterable[CustomField]) -> dict[str, Any]:
    """A new contact from the "New contact" form, blanks left out."""
    data: dict[str, Any] = {}
    for form_field in PROFILE_FIELDS:
        value = post.get(form_field.name, "").strip()
        if value:
            data[form_field.name] = value
    data.update({k: v for k, v in contact_status_changes(post).items() if v not in ("", None)})
    tags = tag_names_from_text(post.get("tags", ""))
    if tags:
        data["tags"] = tags
    data["custom_fields"] = custom_values_from_post(post, definitions, None)
    return data


# --- contacts list filters -----------------------------------------------------------------

LIST_FILTERS = (
    "q",
    "stage",
    "temperature",
    "grade",
    "funnel",
    "score_min",
    "owner",
    "tag",
    "company",
    "created_from",
    "created_to",
    "import",
    "sort",
)
DEFAULT_SORT = "-created_at"


def list_params(query: QueryDict) -> dict[str, str]:
    """The known contacts-list parameters in a query string, trimmed, blanks dropped."""
    return {
        name: query.get(name, "").strip()[:200]
        for name in LIST_FILTERS
        if query.get(name, "").strip()
    }


def selector_filters(params: Mapping[str, str]) -> dict[str, str]:
    """List parameters as ``contacts.selectors.contact_list`` filters: every one but the
    sort. The translation into conditions is contacts' own (``conditions_from_params``),
    shared with the API: created_from / created_to are days, both included, read in the
    server's time zone."""
    return {key: value for key, value in params.items() if key != "sort"}
