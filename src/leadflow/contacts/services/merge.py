"""Merging two contacts into one, and the values a merge keeps by default."""

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.consent import consent_latest_of
from leadflow.contacts.models import (
    ADDRESS_FIELDS,
    MARKETING_PURPOSE,
    Activity,
    ActivityKind,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
    LifecycleStage,
    Temperature,
)
from leadflow.contacts.services.activities import activity_record, changes_jsonable
from leadflow.contacts.services.consent import (
    ConsentGiven,
    consent_record,
    consent_summary_derive,
)
from leadflow.contacts.services.contacts import contact_for_write
from leadflow.contacts.services.lifecycle import stage_change_apply
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

# Fields a merge reconciles (see ``contact_merge_defaults`` for the value kept by default).
MERGE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "company_id",
    "country",
    *ADDRESS_FIELDS,
    "date_of_birth",
    "owner_id",
    "lifecycle_stage",
    "temperature",
    "consent_status",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "last_touch_channel",
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
    chosen_consent = values.pop("consent_status")
    moved = Activity.objects.filter(contact=secondary).update(contact=primary)
    _references_move(workspace, secondary.pk, primary.pk)
    primary.tags.add(*secondary.tags.all())
    secondary_label = str(secondary)
    secondary.delete()
    changes = {}
    for name, value in values.items():
        if getattr(primary, name) != value:
            changes[name] = [getattr(primary, name), value]
            setattr(primary, name, value)
    primary.custom_fields = {key: value for key, value in custom.items() if value is not None}
    primary.created_at = older.created_at
    _stage_history_merge(primary, secondary, changes)
    primary.updated_at = timezone.now()
    primary.save()
    _consent_settle(workspace, primary, chosen_consent, actor, changes, secondary_label)
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


def _consent_settle(
    workspace: Workspace,
    primary: Contact,
    chosen: str,
    actor: Actor,
    changes: dict,
    secondary_label: str,
) -> None:
    """Both ledgers are the primary's now (``_references_move`` moved the secondary's rows).
    Its marketing consent is the one the merge keeps (``ConsentStatus.strongest`` unless
    chosen): recorded as a row of its own ("merge") when the combined ledger's latest row
    says otherwise, so the derived status and the merge's choice agree. "unknown" cannot
    be recorded: the combined ledger's latest row then stands."""
    before = primary.consent_status
    latest = consent_latest_of(workspace.pk, [(primary.pk, MARKETING_PURPOSE)]).get(
        (primary.pk, MARKETING_PURPOSE), ConsentStatus.UNKNOWN
    )
    if chosen in ConsentState.values and chosen != latest:
        consent_record(
            workspace=workspace,
            contact=primary,
            given=ConsentGiven(
                purpose=MARKETING_PURPOSE,
                status=chosen,
                source=ConsentSource.MERGE,
                note=f"Kept by the merge of {secondary_label}"[:500],
            ),
            actor=actor,
        )
    else:
        consent_summary_derive(workspace_id=workspace.pk, contact_ids=[primary.pk])
        primary.refresh_from_db(fields=["consent_status"])
    if primary.consent_status != before:
        changes["consent_status"] = [before, primary.consent_status]


def _stage_history_merge(primary: Contact, secondary: Contact, changes: dict) -> None:
    """Keep the stage's history with the stage kept: the secondary's ``stage_changed_at``
    when its stage won (now if it had none), a known outcome over none, and the outcome
    the kept stage means (``stage_change_apply``)."""
    if not primary.outcome and secondary.outcome:
        primary.outcome, primary.outcome_at = secondary.outcome, secondary.outcome_at
    if "lifecycle_stage" in changes:
        before, after = changes["lifecycle_stage"]
        now = timezone.now()
        stage_change_apply(primary, before, after, now)
        primary.stage_changed_at = secondary.stage_changed_at or now


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


def _references_move(workspace: Workspace, from_id: int, to_id: int) -> None:
    """Point every row that refers to one contact at another (set-based): submissions,
    consent records, visitors, visits... whatever app they belong to, so a merge loses
    nothing that the deletion of the merged contact would otherwise take with it."""
    for relation in Contact._meta.related_objects:
        model = relation.related_model
        if not relation.one_to_many or model is Activity:
            continue
        if not getattr(model, "contact_merge_moves", True):  # rows that go with the contact
            continue
        name = relation.field.name
        relation.related_model._base_manager.filter(**{name: from_id}).update(**{name: to_id})
    for hook in MERGE_HOOKS:
        hook(workspace, from_id, to_id)
