"""Writes for contacts, companies, tags, notes, custom fields and duplicates.

Every service runs in one transaction and writes its activity row (and audit entry) in it.
``contact_upsert`` is the single way a contact comes into being, whatever the entry point.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from leadflow.contacts import selectors
from leadflow.contacts.identity import company_domain, company_name_from_domain
from leadflow.contacts.inputs import contact_input_clean, required_custom_fields_missing
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Company,
    CompanySize,
    ConsentStatus,
    Contact,
    CustomField,
    CustomFieldType,
    DuplicateCandidate,
    DuplicateStatus,
    LifecycleStage,
    SavedView,
    Tag,
    Temperature,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import is_member_id
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.core.validation import country_normalise, email_domain

# Fields copied straight from clean input onto the contact.
PLAIN_FIELDS = (
    "first_name",
    "last_name",
    "job_title",
    "country",
    "lifecycle_stage",
    "temperature",
    "consent_status",
)
# Fields a merge reconciles (see ``contact_merge_defaults`` for the value kept by default).
MERGE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "company_id",
    "country",
    "owner_id",
    "lifecycle_stage",
    "temperature",
    "consent_status",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "last_touch_channel",
)


# --- activity ----------------------------------------------------------------------------


def activity_record(
    *,
    workspace: Workspace,
    contact: Contact,
    kind: str,
    actor: Actor,
    data: dict | None = None,
    occurred_at=None,
) -> Activity:
    """Append one activity. Call it inside the transaction of the change it records."""
    return Activity.objects.create(
        workspace=workspace,
        contact=contact,
        kind=kind,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_label=actor.label[:200],
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )


# --- companies ---------------------------------------------------------------------------


def company_for_contact(
    *, workspace: Workspace, email: str | None, company_name: str
) -> Company | None:
    """The company a contact belongs to: by corporate email domain first, then by name.

    Free-mail and disposable domains (gmail.com, mailinator.com, ...) never create a company.
    Creation is race-safe: the unique (workspace, domain) constraint decides.
    """
    domain = company_domain(email_domain(email or "")) if email else ""
    if domain:
        company = Company.objects.filter(workspace=workspace, domain=domain).first()
        if company:
            return company
        try:
            with transaction.atomic():
                return Company.objects.create(
                    workspace=workspace,
                    domain=domain,
                    name=company_name or company_name_from_domain(domain),
                )
        except IntegrityError:
            return Company.objects.get(workspace=workspace, domain=domain)
    if company_name:
        company = (
            Company.objects.filter(workspace=workspace, name__iexact=company_name)
            .order_by("id")
            .first()
        )
        return company or Company.objects.create(workspace=workspace, name=company_name)
    return None


def company_input_clean(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    allowed = {"name", "domain", "size", "industry", "country"}
    errors = [FieldError(key, "Unknown field.") for key in data if key not in allowed]
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", "A company needs a name."))
        elif len(name) > 200:
            errors.append(FieldError("name", "At most 200 characters."))
        clean["name"] = name
    if "domain" in data:
        domain = str(data["domain"] or "").strip().lower().removeprefix("www.")
        if domain and ("." not in domain or " " in domain or len(domain) > 253):
            errors.append(FieldError("domain", "Use a domain such as example.com."))
        clean["domain"] = domain or None
    if "size" in data:
        if data["size"] not in [*CompanySize.values, "", None]:
            errors.append(FieldError("size", f"Choose one of: {', '.join(CompanySize.values)}."))
        clean["size"] = data["size"] or ""
    if "industry" in data:
        clean["industry"] = str(data["industry"] or "").strip()[:100]
    if "country" in data:
        try:
            clean["country"] = country_normalise(str(data["country"] or ""))
        except ValidationFailed as failure:
            errors.extend(failure.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _company_save(workspace: Workspace, company: Company, clean: dict) -> Company:
    for key, value in clean.items():
        setattr(company, key, value)
    company.updated_at = timezone.now()
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:
        raise ValidationFailed(
            [FieldError("domain", "Another company in this workspace has this domain.")]
        ) from None
    return company


@transaction.atomic
def company_create(*, workspace: Workspace, data: Mapping[str, Any], actor: Actor) -> Company:
    clean = company_input_clean(data, partial=False)
    company = _company_save(workspace, Company(workspace=workspace), clean)
    audit_record(workspace=workspace, actor=actor, action="company.created", obj=company)
    return company


@transaction.atomic
def company_update(
    *, workspace: Workspace, company_id: int, data: Mapping[str, Any], actor: Actor
) -> Company:
    company = Company.objects.filter(workspace=workspace, pk=company_id).first()
    if company is None:
        raise NotFound("No such company.")
    clean = company_input_clean(data, partial=True)
    changes = {
        key: [getattr(company, key), value]
        for key, value in clean.items()
        if getattr(company, key) != value
    }
    company = _company_save(workspace, company, clean)
    if changes:
        audit_record(
            workspace=workspace, actor=actor, action="company.updated", obj=company, changes=changes
        )
    return company


@transaction.atomic
def company_delete(*, workspace: Workspace, company_id: int, actor: Actor) -> None:
    """Delete a company; its contacts stay, without a company."""
    company = Company.objects.filter(workspace=workspace, pk=company_id).first()
    if company is None:
        raise NotFound("No such company.")
    audit_record(workspace=workspace, actor=actor, action="company.deleted", obj=company)
    company.delete()


# --- contacts ----------------------------------------------------------------------------


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    changes: dict[str, list] = field(default_factory=dict)


def _member_or_error(workspace: Workspace, user_id: int | None, field_name: str) -> None:
    if user_id is not None and not is_member_id(workspace, user_id):
        raise ValidationFailed([FieldError(field_name, "Not a member of this workspace.")])


def _company_or_error(workspace: Workspace, company_id: int | None) -> None:
    if (
        company_id is not None
        and not Company.objects.filter(workspace=workspace, pk=company_id).exists()
    ):
        raise ValidationFailed([FieldError("company_id", "No such company in this workspace.")])


def _tags_add(workspace: Workspace, contact: Contact, names: list[str]) -> list[str]:
    """Attach tags by name (created when missing); returns the names newly attached.

    One INSERT ... SELECT ... RETURNING in the common case where the tags exist.
    """
    if not names:
        return []
    attached = _tags_link(workspace, contact, names)
    if len(attached) + _tags_linked_before(attached, names, contact) < len(names):
        Tag.objects.bulk_create(
            [Tag(workspace=workspace, name=name) for name in names], ignore_conflicts=True
        )
        attached += _tags_link(workspace, contact, names)
    return [name for name in names if name in set(attached)]


def _tags_link(workspace: Workspace, contact: Contact, names: list[str]) -> list[str]:
    through = Contact.tags.through._meta.db_table
    tag_table = Tag._meta.db_table
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through} (contact_id, tag_id) "  # noqa: S608 - table names only
            f"SELECT %s, id FROM {tag_table} WHERE workspace_id = %s AND name IN ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING tag_id",
            [contact.pk, workspace.pk, *names],
        )
        tag_ids = [row[0] for row in cursor.fetchall()]
    if not tag_ids:
        return []
    return (
        list(Tag.objects.filter(pk__in=tag_ids).values_list("name", flat=True))
        if len(tag_ids) != len(names)
        else list(names)
    )


def _tags_linked_before(attached: list[str], names: list[str], contact: Contact) -> int:
    """How many of ``names`` the contact already had (only asked when some were missing)."""
    rest = [name for name in names if name not in set(attached)]
    if not rest:
        return 0
    return contact.tags.filter(name__in=rest).count()


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


def _after_commit_find_duplicates(contact: Contact) -> None:
    from leadflow.contacts.tasks import contact_find_duplicates

    task_schedule(contact_find_duplicates, contact.workspace_id, contact.pk)


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
    find_duplicates: bool = True,
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
    the same statement as the upsert's own; ``find_duplicates=False`` leaves the duplicate
    search to the caller's own follow-up task.
    """
    definitions = list(CustomField.objects.filter(workspace=workspace))
    clean = contact_input_clean(
        workspace=workspace, data=data, partial=True, custom_fields=definitions
    )
    if not clean.get("email") and not clean.get("phone"):
        raise ValidationFailed([FieldError("email", "An email or a phone number is required.")])
    _member_or_error(workspace, clean.get("owner_id"), "owner_id")
    _company_or_error(workspace, clean.get("company_id"))
    email, phone = clean.get("email"), clean.get("phone")
    contact = _find_existing(workspace, email, phone)
    created = False
    if contact is None:
        missing = required_custom_fields_missing(definitions, clean.get("custom_fields") or {})
        if missing:
            raise ValidationFailed(missing)
        initial = contact_input_clean(
            workspace=workspace, data=on_create or {}, partial=True, custom_fields=definitions
        )
        contact = Contact(workspace=workspace)
        changes = contact_values_apply(contact, {**initial, **clean})
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
        tags = _tags_add(workspace, contact, clean.get("tags", []))
        pending.append(
            (activity_kind, {**(activity_data or {}), **({"tags": tags} if tags else {})})
        )
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
        if "company_id" not in clean and not contact.company_id:
            _company_resolve(workspace, contact, clean)
            if contact.company_id:
                changes["company_id"] = [None, contact.company_id]
        tags = _tags_add(workspace, contact, clean.get("tags", []))
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
            pending.append((ActivityKind.STAGE_CHANGED, {"from": before, "to": after}))
    pending += also_record or []
    now = timezone.now()
    Activity.objects.bulk_create(
        [
            Activity(
                workspace=workspace,
                contact=contact,
                kind=kind,
                occurred_at=now,
                actor_user_id=actor.user_id,
                actor_api_key_id=actor.api_key_id,
                actor_label=actor.label[:200],
                data=payload,
            )
            for kind, payload in pending
        ]
    )
    if actor.user or actor.api_key:  # public capture (system actor) is not audited per lead
        audit_record(
            workspace=workspace,
            actor=actor,
            obj=contact,
            action="contact.created" if created else "contact.updated",
            changes=changes_jsonable(changes) if not created else {},
        )
    if find_duplicates:
        _after_commit_find_duplicates(contact)
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


def changes_jsonable(changes: dict[str, list]) -> dict[str, list]:
    """{field: [old, new]} with every value JSON can hold as it is, the rest as text."""
    return {
        key: [
            value
            if isinstance(value, str | int | float | bool | list | dict | None)
            else str(value)
            for value in pair
        ]
        for key, pair in changes.items()
    }


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
    _member_or_error(workspace, clean.get("owner_id"), "owner_id")
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
    tag_changes = {}
    if "tags" in clean:
        tag_changes = _tags_replace(workspace, contact, clean["tags"])
    if changes or tag_changes:
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=ActivityKind.CONTACT_UPDATED,
            actor=actor,
            data={"changes": changes_jsonable(changes), **tag_changes},
        )
        if "lifecycle_stage" in changes:
            before, after = changes["lifecycle_stage"]
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=ActivityKind.STAGE_CHANGED,
                actor=actor,
                data={
                    "from": before,
                    "to": after,
                    "direction": LifecycleStage.direction(before, after),
                },
            )
        if "owner_id" in changes:
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=ActivityKind.OWNER_CHANGED,
                actor=actor,
                data={"from": changes["owner_id"][0], "to": changes["owner_id"][1]},
            )
        audit_record(
            workspace=workspace,
            actor=actor,
            action="contact.updated",
            obj=contact,
            changes={**changes_jsonable(changes), **tag_changes},
        )
    if changes:
        _after_commit_find_duplicates(contact)
    return contact


def _tags_replace(workspace: Workspace, contact: Contact, names: list[str]) -> dict:
    current = set(contact.tags.values_list("name", flat=True))
    wanted = set(names)
    added = _tags_add(workspace, contact, sorted(wanted - current))
    removed = sorted(current - wanted)
    if removed:
        contact.tags.remove(*Tag.objects.filter(workspace=workspace, name__in=removed))
    result = {}
    if added:
        result["tags_added"] = added
    if removed:
        result["tags_removed"] = removed
    return result


@transaction.atomic
def contact_delete(*, workspace: Workspace, contact_id: int, actor: Actor) -> None:
    """Delete a contact and its timeline; the audit entry keeps who deleted whom."""
    contact = contact_for_write(workspace, contact_id, actor)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="contact.deleted",
        obj=contact,
        changes={"email": contact.email, "phone": contact.phone},
    )
    contact.delete()


@transaction.atomic
def note_add(*, workspace: Workspace, contact_id: int, body: str, actor: Actor) -> Activity:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed([FieldError("body", "A note needs some text.")])
    if len(body) > 10_000:
        raise ValidationFailed([FieldError("body", "At most 10,000 characters.")])
    contact = contact_for_write(workspace, contact_id, actor)
    return activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.NOTE_ADDED,
        actor=actor,
        data={"body": body},
    )


@transaction.atomic
def contact_merge(
    *,
    workspace: Workspace,
    primary_id: int,
    secondary_id: int,
    actor: Actor,
    choices: Mapping[str, str] | None = None,
) -> Contact:
    """Merge ``secondary`` into ``primary``: nothing is lost.

    Every activity, tag and custom field moves to the primary; for each field the value
    of ``contact_merge_defaults`` is kept (never a downgrade: the furthest stage, the
    strongest consent, a value over an empty one) unless ``choices`` names the side
    ("primary" or "secondary") per field. The secondary is deleted and the merge is
    recorded on the primary's timeline with a snapshot of the secondary.
    """
    if primary_id == secondary_id:
        raise ValidationFailed([FieldError("secondary_id", "Cannot merge a contact into itself.")])
    choices = dict(choices or {})
    errors = [
        FieldError(f"choices.{key}", "Unknown field.")
        for key in choices
        if key not in MERGE_FIELDS and not key.startswith("custom_fields.")
    ]
    errors += [
        FieldError(f"choices.{key}", "Choose 'primary' or 'secondary'.")
        for key, side in choices.items()
        if side not in ("primary", "secondary")
    ]
    if errors:
        raise ValidationFailed(errors)
    first, second = sorted([primary_id, secondary_id])  # lock in a consistent order
    contact_for_write(workspace, first, actor)
    contact_for_write(workspace, second, actor)
    primary = Contact.objects.get(pk=primary_id)
    secondary = Contact.objects.get(pk=secondary_id)
    newer = primary if primary.updated_at >= secondary.updated_at else secondary
    sides = {**contact_merge_defaults(primary, secondary), **choices}

    def pick(name: str, a: Any, b: Any) -> Any:
        return b if sides.get(name) == "secondary" else a

    snapshot = {name: getattr(secondary, name) for name in MERGE_FIELDS}
    snapshot.update(
        id=secondary.pk,
        custom_fields=secondary.custom_fields,
        created_at=secondary.created_at.isoformat(),
    )
    values = {
        name: pick(name, getattr(primary, name), getattr(secondary, name)) for name in MERGE_FIELDS
    }
    custom = {}
    for key in set(primary.custom_fields) | set(secondary.custom_fields):
        custom[key] = pick(
            f"custom_fields.{key}", primary.custom_fields.get(key), secondary.custom_fields.get(key)
        )
    older = primary if primary.created_at <= secondary.created_at else secondary
    for short in ("source", "medium", "campaign", "channel"):
        values[f"first_touch_{short}"] = getattr(older, f"first_touch_{short}") or getattr(
            newer, f"first_touch_{short}"
        )
    moved = Activity.objects.filter(contact=secondary).update(contact=primary)
    _references_move(workspace, secondary.pk, primary.pk)
    primary.tags.add(*secondary.tags.all())
    DuplicateCandidate.objects.filter(Q(contact=secondary) | Q(other=secondary)).delete()
    secondary_label = str(secondary)
    secondary.delete()
    changes = {}
    for name, value in values.items():
        if getattr(primary, name) != value:
            changes[name] = [getattr(primary, name), value]
            setattr(primary, name, value)
    primary.custom_fields = {key: value for key, value in custom.items() if value is not None}
    primary.created_at = older.created_at
    primary.updated_at = timezone.now()
    primary.save()
    activity_record(
        workspace=workspace,
        contact=primary,
        kind=ActivityKind.CONTACT_MERGED,
        actor=actor,
        data={
            "merged": changes_jsonable({k: [v] for k, v in snapshot.items()}),
            "merged_label": secondary_label,
            "changes": changes_jsonable(changes),
            "activities_moved": moved,
        },
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="contact.merged",
        obj=primary,
        changes={"merged_id": secondary_id, "merged_label": secondary_label},
    )
    return primary


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _merge_side(name: str, mine: Any, theirs: Any, newer_is_primary: bool) -> str:
    if _is_empty(theirs) or mine == theirs:
        return "primary"
    if _is_empty(mine):
        return "secondary"
    if name == "lifecycle_stage":
        return "primary" if LifecycleStage.furthest(mine, theirs) == mine else "secondary"
    if name == "consent_status":
        return "primary" if ConsentStatus.strongest(mine, theirs) == mine else "secondary"
    if name == "temperature":
        return "primary" if Temperature.hottest(mine, theirs) == mine else "secondary"
    return "primary" if newer_is_primary else "secondary"


def contact_merge_defaults(primary: Contact, secondary: Contact) -> dict[str, str]:
    """For each field a merge reconciles (``MERGE_FIELDS`` and every custom field), the
    side whose value it keeps unless told otherwise: "primary" or "secondary".

    Guarantees, so a merge never silently downgrades a lead: the furthest lifecycle stage
    (``LifecycleStage.furthest``), the strongest recorded consent
    (``ConsentStatus.strongest``: a withdrawal is never undone), the hotter temperature
    (``Temperature.hottest``), a value over an empty
    one; otherwise the value of the contact updated more recently. The merge page
    preselects exactly these, and the API merge uses them when it is given no choice.
    """
    newer_is_primary = primary.updated_at >= secondary.updated_at
    pairs = [(name, getattr(primary, name), getattr(secondary, name)) for name in MERGE_FIELDS]
    for key in sorted(set(primary.custom_fields) | set(secondary.custom_fields)):
        pairs.append(
            (
                f"custom_fields.{key}",
                primary.custom_fields.get(key),
                secondary.custom_fields.get(key),
            )
        )
    return {name: _merge_side(name, mine, theirs, newer_is_primary) for name, mine, theirs in pairs}


# Other apps' rows that refer to a contact by a plain id (no foreign key), e.g. tracking
# events: each app adds a function(workspace, from_id, to_id) in its AppConfig.ready().
MERGE_HOOKS: list[Callable[[Workspace, int, int], None]] = []

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


def _references_move(workspace: Workspace, from_id: int, to_id: int) -> None:
    """Point every row that refers to one contact at another (set-based): submissions,
    consent records, visitors, visits... whatever app they belong to, so a merge loses
    nothing that the deletion of the merged contact would otherwise take with it."""
    for relation in Contact._meta.related_objects:
        if not relation.one_to_many or relation.related_model in (Activity, DuplicateCandidate):
            continue
        name = relation.field.name
        relation.related_model._base_manager.filter(**{name: from_id}).update(**{name: to_id})
    for hook in MERGE_HOOKS:
        hook(workspace, from_id, to_id)


# --- bulk actions --------------------------------------------------------------------------

BULK_ACTIONS = ("tag", "untag", "assign_owner", "set_stage", "delete")


@transaction.atomic
def contacts_bulk_action(
    *, workspace: Workspace, contact_ids: list[int], action: str, value: Any, actor: Actor
) -> int:
    """Apply one action to many contacts with set-based SQL; returns how many were touched.

    ``set_stage`` is an explicit edit: any stage, each contact's ``stage.changed`` saying
    where from and in which direction."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed([FieldError("action", f"Choose one of: {', '.join(BULK_ACTIONS)}.")])
    queryset = Contact.objects.filter(workspace=workspace, pk__in=contact_ids)
    if actor.sees_only_own_leads:
        queryset = queryset.filter(selectors.own_leads_condition(workspace, actor))
    ids = list(queryset.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    kind, data = ActivityKind.CONTACT_UPDATED, {}
    per_contact: dict[int, dict] = {}
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
            kind, data = ActivityKind.TAG_ADDED, {"tag": name}
        else:
            through.objects.filter(contact_id__in=ids, tag=tag).delete()
            kind, data = ActivityKind.TAG_REMOVED, {"tag": name}
    elif action == "assign_owner":
        owner_id = int(value) if value not in (None, "") else None
        _member_or_error(workspace, owner_id, "value")
        Contact.objects.filter(pk__in=ids).update(owner_id=owner_id, updated_at=now)
        kind, data = ActivityKind.OWNER_CHANGED, {"to": owner_id}
    elif action == "set_stage":
        if value not in LifecycleStage.values:
            raise ValidationFailed([FieldError("value", "Choose a lifecycle stage.")])
        before = dict(Contact.objects.filter(pk__in=ids).values_list("pk", "lifecycle_stage"))
        Contact.objects.filter(pk__in=ids).update(lifecycle_stage=value, updated_at=now)
        kind, data = ActivityKind.STAGE_CHANGED, {"to": value}
        per_contact = {
            pk: {"from": stage, "direction": LifecycleStage.direction(stage, value)}
            for pk, stage in before.items()
        }
    else:
        audit_record(
            workspace=workspace, actor=actor, action="contact.bulk_deleted", changes={"ids": ids}
        )
        Contact.objects.filter(pk__in=ids).delete()
        return len(ids)
    Activity.objects.bulk_create(
        [
            Activity(
                workspace=workspace,
                contact_id=pk,
                kind=kind,
                occurred_at=now,
                actor_user_id=actor.user_id,
                actor_api_key_id=actor.api_key_id,
                actor_label=actor.label[:200],
                data={**per_contact.get(pk, {}), **data, "bulk": True},
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


# --- duplicates ----------------------------------------------------------------------------


def duplicates_find_for(*, workspace: Workspace, contact_id: int) -> int:
    """List possible duplicates of a contact for review: same name and company, or the same
    phone under another email. Never merges. Safe to run twice. Returns pairs added."""
    contact = Contact.objects.filter(workspace=workspace, pk=contact_id).first()
    if contact is None:
        return 0
    others = Contact.objects.filter(workspace=workspace).exclude(pk=contact.pk)
    found: list[tuple[int, str]] = []
    if contact.first_name and contact.last_name and contact.company_id:
        for pk in others.filter(
            first_name__iexact=contact.first_name,
            last_name__iexact=contact.last_name,
            company_id=contact.company_id,
        ).values_list("pk", flat=True)[:20]:
            found.append((pk, "same name and company"))
    if contact.phone:
        for pk in others.filter(phone=contact.phone).values_list("pk", flat=True)[:20]:
            found.append((pk, "same phone, different email"))
    rows = [
        DuplicateCandidate(
            workspace=workspace,
            contact_id=min(pk, contact.pk),
            other_id=max(pk, contact.pk),
            reason=reason,
        )
        for pk, reason in found
    ]
    # Count only this contact's pairs: a workspace-wide COUNT would grow with every pair.
    pairs = DuplicateCandidate.objects.filter(Q(contact=contact) | Q(other=contact))
    before = pairs.count()
    DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)
    return pairs.count() - before


DUPLICATES_PER_CONTACT = 20


def duplicates_find_among(*, workspace: Workspace, contact_ids: list[int]) -> int:
    """``duplicates_find_for`` for many contacts at once (an import's), with two queries
    for the lot instead of two per contact: the same phone under another contact, and the
    same first and last name (any case) at the same company. Returns pairs added."""
    from django.db.models.functions import Lower

    contacts = list(
        Contact.objects.filter(workspace=workspace, pk__in=contact_ids).values_list(
            "pk", "phone", Lower("first_name"), Lower("last_name"), "company_id"
        )
    )
    found: set[tuple[int, int, str]] = set()

    def pair(one: int, other: int, reason: str) -> None:
        if one != other:
            found.add((min(one, other), max(one, other), reason))

    phones = {phone for _, phone, _, _, _ in contacts if phone}
    by_phone: dict[str, list[int]] = {}
    if phones:
        for pk, phone in Contact.objects.filter(workspace=workspace, phone__in=phones).values_list(
            "pk", "phone"
        ):
            by_phone.setdefault(phone, []).append(pk)
    named = [row for row in contacts if row[2] and row[3] and row[4]]
    by_name: dict[tuple, list[int]] = {}
    if named:
        for pk, first, last, company_id in (
            Contact.objects.annotate(first=Lower("first_name"), last=Lower("last_name"))
            .filter(
                workspace=workspace,
                company_id__in={row[4] for row in named},
                first__in={row[2] for row in named},
                last__in={row[3] for row in named},
            )
            .values_list("pk", "first", "last", "company_id")
        ):
            by_name.setdefault((first, last, company_id), []).append(pk)
    for pk, phone, first, last, company_id in contacts:
        for other in by_phone.get(phone, [])[: DUPLICATES_PER_CONTACT + 1] if phone else []:
            pair(pk, other, "same phone, different email")
        for other in by_name.get((first, last, company_id), [])[: DUPLICATES_PER_CONTACT + 1]:
            pair(pk, other, "same name and company")
    pairs = DuplicateCandidate.objects.filter(
        Q(contact_id__in=contact_ids) | Q(other_id__in=contact_ids)
    )
    before = pairs.count()
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(workspace=workspace, contact_id=one, other_id=other, reason=reason)
            for one, other, reason in sorted(found)
        ],
        ignore_conflicts=True,
    )
    return pairs.count() - before


@transaction.atomic
def duplicate_dismiss(*, workspace: Workspace, candidate_id: int, actor: Actor) -> None:
    updated = DuplicateCandidate.objects.filter(
        workspace=workspace, pk=candidate_id, status=DuplicateStatus.OPEN
    ).update(status=DuplicateStatus.DISMISSED)
    if not updated:
        raise NotFound("No such open duplicate pair.")
    audit_record(
        workspace=workspace,
        actor=actor,
        action="duplicate.dismissed",
        changes={"candidate_id": candidate_id},
    )


# --- custom fields -------------------------------------------------------------------------


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
        from leadflow.core.patterns import pattern_problem

        problem = pattern_problem(clean["pattern"])
        if problem:
            errors.append(FieldError("pattern", problem))
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def custom_field_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> CustomField:
    clean = _custom_field_clean(data, partial=False)
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


# --- saved views ---------------------------------------------------------------------------


@transaction.atomic
def saved_view_save(*, workspace: Workspace, actor: Actor, name: str, query: str) -> SavedView:
    name = name.strip()[:100]
    if not name:
        raise ValidationFailed([FieldError("name", "Name the view.")])
    view, _ = SavedView.objects.update_or_create(
        workspace=workspace, user=actor.user, name=name, defaults={"query": query[:2000]}
    )
    return view


@transaction.atomic
def saved_view_delete(*, workspace: Workspace, actor: Actor, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(workspace=workspace, user=actor.user, pk=view_id).delete()
    if not deleted:
        raise NotFound("No such saved view.")


# --- lifecycle and consent, used by capture and later by scoring -------------------------


def contact_stage_promote(
    *,
    workspace: Workspace,
    contact: Contact,
    stage: str,
    actor: Actor,
    reason: str = "",
) -> bool:
    """Move a known contact to ``stage`` because of a new submission (a form, a lead
    source), as far as ``LifecycleStage.submission_moves`` allows: forward inside the
    funnel only (a customer who fills a form stays a customer; a nurtured or disqualified
    contact stays parked). Records ``stage.changed`` with the reason. Returns True if moved."""
    current = contact.lifecycle_stage
    if not LifecycleStage.submission_moves(current, stage):
        return False
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=stage, updated_at=timezone.now())
    contact.lifecycle_stage = stage
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.STAGE_CHANGED,
        actor=actor,
        data={"from": current, "to": stage, "reason": reason},
    )
    return True


def contact_consent_set(
    *, workspace: Workspace, contact: Contact, status: str, actor: Actor
) -> None:
    """Record a change of the contact's consent status on its timeline."""
    if contact.consent_status == status:
        return
    previous = contact.consent_status
    Contact.objects.filter(pk=contact.pk).update(consent_status=status, updated_at=timezone.now())
    contact.consent_status = status
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.CONSENT_CHANGED,
        actor=actor,
        data={"from": previous, "to": status},
    )


def tags_ensure(*, workspace: Workspace, names: list[str]) -> None:
    """Create the named tags when missing (a form's tags exist before its first lead)."""
    names = list(dict.fromkeys(name.strip()[:60] for name in names if name.strip()))
    if names:
        Tag.objects.bulk_create(
            [Tag(workspace=workspace, name=name) for name in names], ignore_conflicts=True
        )
