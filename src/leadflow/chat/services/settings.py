"""Writes for a workspace's chat settings (``ChatSettings``, one row per workspace).

``chat_settings_update`` checks every given field (ValidationFailed naming each bad one,
nothing saved), creates the row on first save and changes only the fields given, in one
transaction with its audit entry. Each field is checked by its cleaner in
``SETTINGS_CLEANERS``: the widget's look and consent are here; other parts of the chat
(capacity, retention, knowledge thresholds) add theirs to the same table.
"""

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from leadflow.chat.models import ChatSettings, LauncherPosition
from leadflow.core.actors import Actor
from leadflow.core.cache import forget
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# The namespace of the per-process cache of what the widget is told (chat.widget).
WIDGET_CACHE = "chat-widget-settings"


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false.")
    return value


def _text(limit: int, *, required: bool = False, what: str = "") -> Callable[[Any], str]:
    def clean(value: Any) -> str:
        if not isinstance(value, str) or "\x00" in value or len(value.strip()) > limit:
            raise ValueError(f"Text of at most {limit} characters.")
        if required and not value.strip():
            raise ValueError(what or "Required.")
        return value.strip()

    return clean


def _colour(value: Any) -> str:
    if not isinstance(value, str) or not HEX_COLOUR.fullmatch(value.strip()):
        raise ValueError("A colour as #rrggbb (#1f6feb).")
    return value.strip().lower()


def _position(value: Any) -> str:
    if value not in LauncherPosition.values:
        raise ValueError(f"One of: {', '.join(LauncherPosition.values)}.")
    return value


def _web_address(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 2000:
        raise ValueError("A web address (https://...).")
    try:
        URLValidator(schemes=["http", "https"])(value.strip())
    except ValidationError:
        raise ValueError("A web address (https://...).") from None
    return value.strip()


# Field -> its cleaner (raises ValueError with the message to show). Other parts of the chat
# register their fields here (in their own module, imported by ``chat.services``).
SETTINGS_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "enabled": _flag,
    "launcher_label": _text(60, required=True, what="What the launcher button says."),
    "colour": _colour,
    "position": _position,
    "greeting": _text(300),
    "consent_required": _flag,
    "consent_text": _text(2000),
    "privacy_url": _web_address,
    "offline_message": _text(1000, required=True, what="What the widget says when nobody is in."),
}
WIDGET_FIELDS = tuple(SETTINGS_CLEANERS)


def _checked(settings: ChatSettings) -> list[FieldError]:
    """The rules across fields, on the settings as they would be saved."""
    if settings.consent_required and not settings.consent_text.strip():
        return [FieldError("consent_text", "The notice the visitor accepts before chatting.")]
    return []


def chat_settings_update(
    *, workspace: Workspace, actor: Actor, changes: dict[str, Any]
) -> ChatSettings:
    """Change the given fields of the workspace's chat settings (see the module docstring)."""
    if not isinstance(changes, dict):
        raise ValidationFailed([FieldError("body", "An object.")])
    errors = [FieldError(str(key)[:80], "Unknown field.") for key in changes
              if key not in SETTINGS_CLEANERS]  # fmt: skip
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in SETTINGS_CLEANERS:
            try:
                clean[key] = SETTINGS_CLEANERS[key](value)
            except ValueError as error:
                errors.append(FieldError(key, str(error)))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        settings, _ = ChatSettings.objects.select_for_update().get_or_create(workspace=workspace)
        changed = {key: True for key, value in clean.items() if getattr(settings, key) != value}
        for key, value in clean.items():
            setattr(settings, key, value)
        errors = _checked(settings)
        if errors:
            raise ValidationFailed(errors)
        settings.updated_at = timezone.now()
        settings.save()
        audit_record(
            workspace=workspace, actor=actor, action="chat_settings.updated", changes=changed
        )
        transaction.on_commit(lambda: forget(WIDGET_CACHE, workspace.pk))
    return settings
