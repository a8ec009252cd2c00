"""Create, update and delete contacts.

``contact_upsert`` is the single way a contact comes into being, whatever the entry point.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leadflow.contacts import selectors
from leadflow.contacts.inputs import contact_input_clean, required_custom_fields_missing
from leadflow.contacts.kind_writers import (
    contact_created_data,
    contact_updated_data,
    owner_changed_data,
    stage_changed_data,
)
from leadflow.contacts.models import (
    ADDRESS_FIELDS,
    Activity,
    ActivityKind,
    Company,
    Contact,
    CustomField,
    LifecycleStage,
)
from leadflow.contacts.services.activities import (
    activities_record_many,
    activity_record,
    actor_columns,
    changes_jsonable,
)
from leadflow.contacts.services.companies import company_for_contact
from leadflow.contacts.services.consent import consent_status_set
from leadflow.contacts.services.lifecycle import stage_change_apply
from leadflow.contacts.services.tags import tags_add, tags_replace
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import is_member_id
from leadflow.core.services import audit_record

# Fields copied straight from clean input onto the contact.
PLAIN_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "country",
    *ADDRESS_FIELDS,
    "date_of_birth",
    "lifecycle_stage",
    "temperature",
)
# Consent is not a plain field: a given ``consent_status`` becomes a row of the consent
# ledger (``consent_status_set``), which derives the column.
CONSENT_FIELD = "consent_status"


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    changes: dict[str, list] = field(default_factory=dict)


def member_or_error(workspace: Workspace, user_id: int | None, field_name: str) -> None:
    if user_id is not None and not is_member_id(workspace, user_id):
        raise ValidationFailed([FieldError(field_name, "Not a member of this workspace.")])


def _company_or_error(workspace: Workspace, company_id: int | None) -> None:
    if (
        company_id is not None
        and not Company.objects.filter(workspace=workspace, pk=company_id).exists()
    ):
        raise ValidationFailed([FieldError("company_id", "No such company in this workspace.")])


def _find_existing(workspace: Workspace, email: str | None, phone: str | None) -> Contact | None:
    """The identity rule: match on email when given, otherwise on phone."""
    queryset = Contact.objects.select_for_update().filter(workspace=workspace)
    if email:
        return queryset.filter(email=email).first()
    if phone:
        # Prefer the contact known only by this phone, then the oldest.
        return queryset.filter(phone=phone).order_by(F("email").asc(nulls_first=True), "id").first()
    return None


def contact_values_apply(
    contact: Contact, clean: dict[str, Any], *, fill_only: bool = False
) -> dict:
    """Set given values on the contact; returns {field: [old, new]} of what changed. A
    touch given with a source or medium but no channel gets its channel from the
    ``TOUCH_CHANNEL_HOOKS`` (the workspace's channel rules, as for a tracked visit)."""
    changes: dict[str, list] = {}

    def put(name: str, value: Any) -> None:
        old = getattr(contact, name)
        if old != value and not (fill_only and old):
            changes[name] = [old, value]
            setattr(contact, name, value)

    for name in ("email", "phone", *PLAIN_FIELDS, "owner_id", "company_id"):
        if name in clean:
            put(name, clean[name])
    if not clean.get("channel") and (clean.get("source") or clean.get("medium")):
        clean = {**clean, "channel": _touch_channel(contact.workspace_id, clean)}
    for short in ("source", "medium", "campaign", "channel"):
        if clean.get(short):
            put(f"last_touch_{short}", clean[short])
            if not getattr(contact, f"first_touch_{short}"):
                put(f"first_touch_{short}", clean[short])
    if "custom_fields" in clean:
        merged = dict(contact.custom_fields or {})
        for key, value in clean["custom_fields"].items():
            if merged.get(key) != value:
                changes[f"custom_fields.{key}"] = [merged.get(key), value]
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        contact.custom_fields = merged
    return changes


def contact_upsert(*, savepoint: bool = True, **arguments: Any) -> UpsertResult:
    """Create or update a contact (see ``_upsert``) in one transaction.

    ``savepoint=False`` joins the caller's transaction without a savepoint of its own: for
    callers (public capture) whose every failure aborts their whole transaction anyway.
    """
    with transaction.atomic(savepoint=savepoint):
        return _upsert(**arguments)


def _upsert(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    actor: Actor,
    activity_kind: str = ActivityKind.CONTACT_CREATED,
    activity_data: dict | None = None,
    on_create: Mapping[str, Any] | None = None,
    also_record: list[tuple[str, dict]] | None = None,
) -> UpsertResult:
    """Create a contact, or update the one with the same email (or, without email, phone).

    Race-safe: concurrent upserts of the same email end with one contact and no error,
    because the unique constraints decide and the loser re-reads the winner's row. Given
    non-empty values overwrite; tags are added, never removed; the first touch is kept.
    Required custom fields are required when the contact is created, not on each update.
    A known contact's lifecycle stage follows the rule for new submissions
    (``LifecycleStage.submission_moves``: forward inside the funnel only); a stage the
    rule refuses is left as it was and recorded as ``stage_kept`` on the timeline, and a
    stage that moves writes ``stage.changed``.

    ``on_create`` holds values used only when the contact is new (a form's lifecycle stage
    must not move an existing customer back); ``also_record`` adds activities written in
    the same statement as the upsert's own. Possible duplicates are found by the duplicate
    finder, a subscriber of the activities written here.
    """
    definitions = list(CustomField.objects.filter(workspace=workspace))
    clean = contact_input_clean(
        workspace=workspace, data=data, partial=True, custom_fields=definitions
    )
    if not clean.get("email") and not clean.get("phone"):
        raise ValidationFailed([FieldError("email", "An email or a phone number is required.")])
    member_or_error(workspace, clean.get("owner_id"), "owner_id")
    _company_or_error(workspace, clean.get("company_id"))
    email, phone = clean.get("email"), clean.get("phone")
    contact = _find_existing(workspace, email, phone)
    created = False
    initial: dict[str, Any] = {}
    if contact is None:
        missing = required_custom_fields_missing(definitions, clean.get("custom_fields") or {})
        if missing:
            raise ValidationFailed(missing)
        initial = contact_input_clean(
            workspace=workspace, data=on_create or {}, partial=True, custom_fields=definitions
        )
        contact = Contact(workspace=workspace)
        changes = contact_values_apply(contact, {**initial, **clean})
        stage_change_apply(contact, "", contact.lifecycle_stage, contact.created_at)
        _company_resolve(workspace, contact, clean)
        try:
            with transaction.atomic():
                contact.save()
            created = True
        except IntegrityError:
            contact = _find_existing(workspace, email, phone)
            if contact is None:
                raise
    pending: list[tuple[str, dict]] = []
    if created:
        tags = tags_add(workspace, contact, clean.get("tags", []))
        created_data = {**(activity_data or {}), **contact_created_data(tags=tags)}
        pending.append((activity_kind, created_data))
    else:
        update = {
            key: value
            for key, value in clean.items()
            if value not in (None, "") or key == "custom_fields"
        }
        requested = update.pop("lifecycle_stage", None)
        stage_kept = _stage_refused(contact.lifecycle_stage, requested)
        if requested and stage_kept is None:
            update["lifecycle_stage"] = requested
        changes = contact_values_apply(contact, update)
        if "lifecycle_stage" in changes:
            stage_change_apply(contact, *changes["lifecycle_stage"], timezone.now())
        if "company_id" not in clean and not contact.company_id:
            _company_resolve(workspace, contact, clean)
            if contact.company_id:
                changes["company_id"] = [None, contact.company_id]
        tags = tags_add(workspace, contact, clean.get("tags", []))
        if changes:
            contact.updated_at = timezone.now()
            contact.save()
        if changes or tags or stage_kept or activity_kind != ActivityKind.CONTACT_CREATED:
            kind = (
                activity_kind
                if activity_kind != ActivityKind.CONTACT_CREATED
                else ActivityKind.CONTACT_UPDATED
            )
            pending.append(
                (
                    kind,
                    {
                        **(activity_data or {}),
                        "changes": changes_jsonable(changes),
                        **({"tags": tags} if tags else {}),
                        **({"stage_kept": stage_kept} if stage_kept else {}),
                    },
                )
            )
        if "lifecycle_stage" in changes:
            before, after = changes["lifecycle_stage"]
            pending.append(
                (ActivityKind.STAGE_CHANGED, stage_changed_data(before=before, after=after))
            )
    pending += also_record or []
    consent = clean.get(CONSENT_FIELD) or (initial.get(CONSENT_FIELD) if created else None)
    if consent and consent != contact.consent_status:
        consent_status_set(
            workspace=workspace, contact=contact, status=consent, actor=actor, created=created
        )
    now = timezone.now()
    activities_record_many(
        Activity(
            workspace=workspace,
            contact=contact,
            kind=kind,
            occurred_at=now,
            data=payload,
            **actor_columns(actor),
        )
        for kind, payload in pending
    )
    if actor.user or actor.api_key:  # public capture (system actor) is not audited per lead
        audit_record(
            workspace=workspace,
            actor=actor,
            obj=contact,
            action="contact.created" if created else "contact.updated",
            changes=changes_jsonable(changes) if not created else {},
        )
    return UpsertResult(contact=contact, created=created, changes=changes)


def _stage_refused(current: str, requested: str | None) -> dict | None:
    """{"requested", "kept"} when an upsert asks a known contact for a stage the rule for
    new submissions refuses; None when it may move (or nothing was asked)."""
    if not requested or requested == current:
        return None
    if LifecycleStage.submission_moves(current, requested):
        return None
    return {"requested": requested, "kept": current}


def _company_resolve(workspace: Workspace, contact: Contact, clean: dict) -> None:
    if "company_id" in clean:
        return
    company = company_for_contact(
        workspace=workspace, email=contact.email, company_name=clean.get("company", "")
    )
    if company is not None:
        contact.company = company


def contact_for_write(workspace: Workspace, contact_id: int, actor: Actor) -> Contact:
    """The contact, locked for update, or NotFound; sales members only reach their own
    (``selectors.own_leads_condition``: owned, or notified of)."""
    queryset = Contact.objects.select_for_update().filter(workspace=workspace, pk=contact_id)
    if actor.sees_only_own_leads:
        queryset = queryset.filter(selectors.own_leads_condition(workspace, actor))
    contact = queryset.first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


@transaction.atomic
def contact_update(
    *, workspace: Workspace, contact_id: int, data: Mapping[str, Any], actor: Actor
) -> Contact:
    """Change the given fields (a partial update); ``tags`` given replaces the tag set.

    An explicit edit may set any lifecycle stage; ``stage.changed`` records where from, to
    and in which direction (a move back says "backward", see ``LifecycleStage.direction``).
    """
    contact = contact_for_write(workspace, contact_id, actor)
    clean = contact_input_clean(workspace=workspace, data=data, partial=True)
    member_or_error(workspace, clean.get("owner_id"), "owner_id")
    _company_or_error(workspace, clean.get("company_id"))
    if "company" in clean and "company_id" not in clean:
        company = company_for_contact(
            workspace=workspace, email=None, company_name=clean["company"]
        )
        clean["company_id"] = company.pk if company else None
    final_email = clean.get("email", contact.email)
    final_phone = clean.get("phone", contact.phone)
    if not final_email and not final_phone:
        raise ValidationFailed([FieldError("email", "An email or a phone number is required.")])
    changes = contact_values_apply(contact, clean)
    if changes:
        contact.updated_at = timezone.now()
        if "lifecycle_stage" in changes:
            stage_change_apply(contact, *changes["lifecycle_stage"], contact.updated_at)
        try:
            with transaction.atomic():
                contact.save()
        except IntegrityError:
            raise ValidationFailed(
                [
                    FieldError(
                        "email" if "email" in changes else "phone",
                        "Another contact in this workspace has this value.",
                    )
                ]
            ) from None
    if clean.get(CONSENT_FIELD):
        consent_status_set(
            workspace=workspace, contact=contact, status=clean[CONSENT_FIELD], actor=actor
        )
    tag_changes = {}
    if "tags" in clean:
        tag_changes = tags_replace(workspace, contact, clean["tags"])
    if changes or tag_changes:
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=ActivityKind.CONTACT_UPDATED,
            actor=actor,
            data=contact_updated_data(changes=changes_jsonable(changes), tag_changes=tag_changes),
        )
        if "lifecycle_stage" in changes:
            before, after = changes["lifecycle_stage"]
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=ActivityKind.STAGE_CHANGED,
                actor=actor,
                data=stage_changed_data(
                    before=before, after=after, direction=LifecycleStage.direction(before, after)
                ),
            )
        if "owner_id" in changes:
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=ActivityKind.OWNER_CHANGED,
                actor=actor,
                data=owner_changed_data(
                    before=changes["owner_id"][0], after=changes["owner_id"][1]
                ),
            )
        audit_record(
            workspace=workspace,
            actor=actor,
            action="contact.updated",
            obj=contact,
            changes={**changes_jsonable(changes), **tag_changes},
        )
    return contact


# What other apps do before contacts are deleted, in the deleting transaction: function
# (workspace, contact ids). Capture gives back the event seats they held (its AppConfig.ready).
DELETE_HOOKS: list[Callable[[Workspace, list[int]], None]] = []


def contacts_before_delete(workspace: Workspace, contact_ids: list[int]) -> None:
    """Run every delete hook for these contacts (the caller deletes them next, in the same
    transaction)."""
    for hook in DELETE_HOOKS:
        hook(workspace, contact_ids)


@transaction.atomic
def contact_delete(*, workspace: Workspace, contact_id: int, actor: Actor) -> None:
    """Delete a contact and its timeline; the audit entry keeps who deleted whom."""
    contact = contact_for_write(workspace, contact_id, actor)
    contacts_before_delete(workspace, [contact.pk])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="contact.deleted",
        obj=contact,
        changes={"email": contact.email, "phone": contact.phone},
    )
    contact.delete()


# How a touch given by source and medium only (the API, an import, the app) gets its
# channel: tracking adds its channel rules, function(workspace_id, source, medium) ->
# channel, in its AppConfig.ready(); the first with an answer decides.
TOUCH_CHANNEL_HOOKS: list[Callable[[int, str, str], str]] = []


def _touch_channel(workspace_id: int, clean: Mapping[str, Any]) -> str:
    for hook in TOUCH_CHANNEL_HOOKS:
        channel = hook(workspace_id, clean.get("source") or "", clean.get("medium") or "")
        if channel:
            return channel
    return ""
