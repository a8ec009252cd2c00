"""Settings → Chat policy: how long transcripts are kept, how many chats a person holds at
once, and the knowledge base's thresholds when the workspace overrides the model's
calibrated ones (docs/chat/retention.md, docs/chat/knowledge-base.md).

Kept apart from the widget's settings service (``services.settings``): both change the one
``ChatSettings`` row of the workspace, each only its own fields, under the row's lock.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.chat.knowledge import THRESHOLDS, thresholds_overridden
from leadflow.chat.models import ChatSettings
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, PermissionDenied, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

RETENTION_MAX = 3650  # ten years
CAPACITY_MAX = 50
MARGIN_MAX = 0.5
# (field, lowest, highest) of the whole numbers.
WHOLE = (
    ("retention_days", 1, RETENTION_MAX),
    ("anonymous_retention_days", 1, RETENTION_MAX),
    ("agent_capacity", 1, CAPACITY_MAX),
)
# (field, highest) of the thresholds: from 0, or None for the model's calibrated value.
FRACTIONS = (("kb_answer_floor", 1.0), ("kb_margin", MARGIN_MAX), ("kb_suggest_floor", 1.0))
POLICY_FIELDS = tuple(name for name, *_ in WHOLE) + tuple(name for name, _ in FRACTIONS)
MANAGE = "manage_settings"


def chat_policy(settings: ChatSettings) -> dict[str, Any]:
    """The policy fields of ``settings`` (saved or the defaults)."""
    return {name: getattr(settings, name) for name in POLICY_FIELDS}


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 7:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _fraction(value: Any, high: float) -> float | str | None:
    """The threshold as a float, None for "the model's value", or "bad"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return "bad"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "bad"
    if not 0.0 <= float(value) <= high:  # NaN fails here too
        return "bad"
    return float(value)


def chat_policy_clean(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """``current`` with the given fields of ``data`` changed, checked: ValidationFailed names
    every bad field (an unknown one, a number out of its range, a suggestion floor above the
    answer floor in force)."""
    errors = [FieldError(name, "Unknown field.") for name in data if name not in POLICY_FIELDS]
    clean = dict(current)
    for name, low, high in WHOLE:
        if name in data:
            value = _whole(data[name], low, high)
            if value is None:
                errors.append(FieldError(name, f"A whole number from {low} to {high}."))
            else:
                clean[name] = value
    for name, high in FRACTIONS:
        if name in data:
            value = _fraction(data[name], high)
            if value == "bad":
                errors.append(
                    FieldError(name, f"A number from 0 to {high:g}, or empty for the model's.")
                )
            else:
                clean[name] = value
    if not any(error.field.startswith("kb_") for error in errors):
        # The suggestion band lies below the answer band, whichever ranking answers.
        for calibrated in THRESHOLDS.values():
            bands, _ = thresholds_overridden(calibrated, clean)
            if bands.suggest > bands.answer:
                field = "kb_suggest_floor" if clean["kb_suggest_floor"] is not None else None
                field = field or "kb_answer_floor"
                errors.append(
                    FieldError(
                        field,
                        f"The suggestion floor ({bands.suggest:g}) must not be above the "
                        f"answer floor ({bands.answer:g}).",
                    )
                )
                break
    if errors:
        raise ValidationFailed(errors)
    return clean


def _locked_row(workspace: Workspace) -> ChatSettings:
    """The workspace's settings row, locked; made (with the defaults) on first save."""
    row = ChatSettings.objects.select_for_update().filter(workspace=workspace).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            ChatSettings.objects.create(workspace=workspace)
    except IntegrityError:  # made meanwhile by another save
        pass
    return ChatSettings.objects.select_for_update().get(workspace=workspace)


@transaction.atomic
def chat_policy_update(workspace: Workspace, data: dict[str, Any], actor: Actor) -> ChatSettings:
    """Change the policy fields given in ``data`` (the others stay; a threshold given as
    None goes back to the model's calibrated value). Needs ``manage_settings`` (a member)
    or the settings scope (an API key, checked by the endpoint). Audited with what changed."""
    if actor.membership is not None and not actor.membership.can(MANAGE):
        raise PermissionDenied("Your role may not change the chat policy.")
    row = _locked_row(workspace)
    current = chat_policy(row)
    clean = chat_policy_clean(data, current)
    changes = {name: [current[name], clean[name]] for name in clean if clean[name] != current[name]}
    if not changes:
        return row
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_at = timezone.now()
    row.save(update_fields=[*changes, "updated_at"])
    audit_record(
        workspace=workspace, actor=actor, action="chat.policy_updated", obj=row, changes=changes
    )
    return row
