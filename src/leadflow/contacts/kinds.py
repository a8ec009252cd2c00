"""The activity kinds contacts writes, and how the timeline tells each one.

Registered in ``ContactsConfig.ready``. ``form.submitted`` is a lead's arrival: capture's forms
and inbound's webhooks both record it through contacts (``lead_receive``), so contacts owns its
shape (the typed writers in ``contacts.kind_writers``, whose fields are registered here as the
kinds' payload fields) and its text.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    Change,
    Names,
    TimelineText,
    activity_kind_register,
)
from leadflow.contacts.kind_writers import (
    CONSENT_CHANGED_FIELDS,
    CONTACT_CREATED_FIELDS,
    CONTACT_UPDATED_FIELDS,
    FORM_SUBMITTED_FIELDS,
    NOTE_ADDED_FIELDS,
    OWNER_CHANGED_FIELDS,
    STAGE_CHANGED_FIELDS,
    TAG_FIELDS,
)
from leadflow.contacts.models import (
    DEFAULT_PURPOSES,
    MARKETING_PURPOSE,
    ActivityKind,
    ConsentSource,
)

CONSENT_SOURCES = dict(ConsentSource.choices)

EMPTY = "—"
# What an explicit stage change says besides from and to (LifecycleStage.direction).
STAGE_DIRECTIONS = {
    "backward": "Moved back in the funnel",
    "parked": "Taken out of the funnel",
    "reopened": "Back into the funnel",
}
UTM_PARTS = (("utm_source", "source"), ("utm_medium", "medium"), ("utm_campaign", "campaign"))
FORM_KEYS = ("form", "form_id", "submission_id", "page_url", "referrer", "utm", "values")


def answer_text(value: Any) -> str:
    """A form answer as plain text: lists joined, ticks as Yes/No, empty as a dash."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    return str(value)


def _from_to(field_name: str) -> Any:
    """A summary showing ``from`` → ``to`` as a change of ``field_name``."""

    def summary(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
        if "to" not in data:
            return ()
        text.changes.append(
            Change(
                names.field(field_name),
                names.value(field_name, data.get("from")),
                names.value(field_name, data["to"]),
            )
        )
        return ("from", "to")

    return summary


def _stage_changed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    shown = set(_from_to("lifecycle_stage")(text, data, names))
    if data.get("direction") in STAGE_DIRECTIONS:
        text.details.append(STAGE_DIRECTIONS[data["direction"]])
    return shown


def _note_added(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    text.body = str(data.get("body", ""))
    mentions = data.get("mentions")
    if isinstance(mentions, list) and mentions:
        text.details.append(
            "Mentioned: " + ", ".join(names.value("owner_id", user_id) for user_id in mentions)
        )
    return ("body", "mentions")


def _contact_merged(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    label = data.get("merged_label") or "another contact"
    snapshot = data.get("merged") or {}
    email = (snapshot.get("email") or [None])[0] if isinstance(snapshot, dict) else None
    text.details.append(f"Merged in {label}" + (f" ({email})" if email and email != label else ""))
    if data.get("activities_moved"):
        text.details.append(f"{data['activities_moved']} activities moved here")
    return ("merged", "merged_label", "activities_moved")


def _consent_changed(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    """A consent change as "Consent: from → to" ("Consent (Newsletter)" for a purpose other
    than marketing email), and where it came from."""
    if "to" not in data:
        return ()
    purpose = str(data.get("purpose") or MARKETING_PURPOSE)
    label = "Consent"  # marketing email, the contact's consent status
    if purpose != MARKETING_PURPOSE:
        label = f"Consent ({DEFAULT_PURPOSES.get(purpose, purpose)})"
    text.changes.append(
        Change(
            label,
            names.value("consent_status", data.get("from")),
            names.value("consent_status", data["to"]),
        )
    )
    if data.get("source"):
        text.details.append(f"Source: {CONSENT_SOURCES.get(data['source'], data['source'])}")
    return ("from", "to", "purpose", "source")


def _form_submitted(text: TimelineText, data: Mapping[str, Any], names: Names) -> Iterable[str]:
    """A submission as "Submitted <form>": the page, the campaign, then each answer.

    Everything here was typed by a visitor: it stays plain text (escaped by the template).
    """
    text.label = f"Submitted {data.get('form') or 'a form'}"
    if data.get("page_url"):
        text.details.append(f"Page: {data['page_url']}")
    if data.get("referrer"):
        text.details.append(f"Referrer: {data['referrer']}")
    utm = data.get("utm") if isinstance(data.get("utm"), dict) else {}
    campaign = [f"{label} {utm[key]}" for key, label in UTM_PARTS if utm.get(key)]
    if campaign:
        text.details.append("UTM: " + " · ".join(campaign))
    values = data.get("values") if isinstance(data.get("values"), dict) else {}
    for name, value in values.items():
        text.details.append(f"{names.field(str(name))}: {answer_text(value)}")
    return FORM_KEYS


def contacts_kinds_register() -> None:
    summaries = {
        ActivityKind.NOTE_ADDED: (NOTE_ADDED_FIELDS, _note_added),
        ActivityKind.STAGE_CHANGED: (STAGE_CHANGED_FIELDS, _stage_changed),
        ActivityKind.OWNER_CHANGED: (OWNER_CHANGED_FIELDS, _from_to("owner_id")),
        ActivityKind.CONSENT_CHANGED: (CONSENT_CHANGED_FIELDS, _consent_changed),
        ActivityKind.TAG_ADDED: (TAG_FIELDS, None),
        ActivityKind.TAG_REMOVED: (TAG_FIELDS, None),
        ActivityKind.CONTACT_MERGED: (
            ("merged", "merged_label", "activities_moved"),
            _contact_merged,
        ),
        ActivityKind.FORM_SUBMITTED: (FORM_SUBMITTED_FIELDS, _form_submitted),
        ActivityKind.CONTACT_CREATED: (CONTACT_CREATED_FIELDS, None),
        ActivityKind.CONTACT_UPDATED: (CONTACT_UPDATED_FIELDS, None),
    }
    activity_kind_register(
        *(
            ActivityKindDefinition(
                key=kind.value,
                label=str(kind.label),
                payload_fields=summaries.get(kind, ((), None))[0],
                summary=summaries.get(kind, ((), None))[1],
            )
            for kind in ActivityKind
        )
    )
