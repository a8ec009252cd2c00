"""Writes for pop-ups: create, change, delete (each audited), and the public counters."""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadflow.capture.models import Form
from leadflow.capture.popups.models import Popup, PopupContent, PopupStatus, PopupStyle
from leadflow.capture.popups.rules import frequency_clean, targeting_clean, triggers_clean
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record

TEXT_LIMITS = {"name": 200, "title": 200, "body": 2000, "link_url": 2000, "link_label": 100}
COUNTERS = {"view": "views", "close": "closes", "conversion": "conversions"}


def _choice(data: dict, key: str, choices: type, errors: list[FieldError]) -> None:
    if key in data and data[key] not in choices.values:
        errors.append(FieldError(key, f"Use one of: {', '.join(choices.values)}."))


def _clean(workspace: Workspace, data: dict[str, Any], popup: Popup | None) -> dict[str, Any]:
    """The given settings, checked; every problem named at once (``ValidationFailed``)."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if key not in data:
            continue
        value = data[key] if data[key] is not None else ""
        if not isinstance(value, str):
            errors.append(FieldError(key, "Must be text."))
        elif "\x00" in value:
            errors.append(FieldError(key, "May not contain a NUL character."))
        elif len(value) > limit:
            errors.append(FieldError(key, f"At most {limit} characters."))
        else:
            clean[key] = value.strip()
    for key, choices in (("status", PopupStatus), ("style", PopupStyle), ("content", PopupContent)):
        _choice(data, key, choices, errors)
        if key in data and data[key] in choices.values:
            clean[key] = data[key]
    if "mobile_full" in data:
        if isinstance(data["mobile_full"], bool):
            clean["mobile_full"] = data["mobile_full"]
        else:
            errors.append(FieldError("mobile_full", "Must be true or false."))
    if "form_id" in data:
        form_id = data["form_id"]
        if form_id is None:
            clean["form"] = None
        elif isinstance(form_id, bool) or not isinstance(form_id, int):
            errors.append(FieldError("form_id", "Must be a form's id."))
        else:
            form = Form.objects.filter(workspace=workspace, pk=form_id).first()
            if form is None:
                errors.append(FieldError("form_id", "No such form in this workspace."))
            clean["form"] = form
    if "triggers" in data or popup is None:
        clean["triggers"] = triggers_clean(data.get("triggers", {"time_seconds": 5}), errors)
    if "targeting" in data or popup is None:
        clean["targeting"] = targeting_clean(data.get("targeting", {}), errors, workspace)
    if "frequency" in data or popup is None:
        clean["frequency"] = frequency_clean(data.get("frequency", {}), errors)

    def final(key: str) -> Any:
        return clean[key] if key in clean else getattr(popup, key, None)

    if not errors:
        if not final("name"):
            errors.append(FieldError("name", "A pop-up needs a name."))
        if not final("title"):
            errors.append(FieldError("title", "A pop-up needs a title (its heading)."))
        content = final("content") or PopupContent.NOTICE
        if content == PopupContent.FORM and final("form") is None:
            errors.append(FieldError("form_id", "Choose the form the pop-up shows."))
        if content == PopupContent.LINK:
            url = final("link_url") or ""
            if not url.startswith(("https://", "http://", "/")):
                errors.append(FieldError("link_url", "A link starts with https://, http:// or /."))
            if not final("link_label"):
                errors.append(FieldError("link_label", "A link needs its text."))
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def popup_create(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> Popup:
    """A new pop-up (paused unless ``status`` says active); triggers default to 5 seconds
    on the page, targeting to every page and device, frequency to once per session and
    not for 7 days after a close, never again after a conversion."""
    clean = _clean(workspace, data, None)
    popup = Popup.objects.create(workspace=workspace, **clean)
    audit_record(workspace=workspace, actor=actor, action="popup.created", obj=popup)
    return popup


@transaction.atomic
def popup_update(
    *, workspace: Workspace, popup_id: int, data: dict[str, Any], actor: Actor
) -> Popup:
    """Change the given settings (a given ``triggers``, ``targeting`` or ``frequency``
    replaces that whole group, missing keys taking their defaults). Counters stay."""
    popup = Popup.objects.select_for_update().filter(workspace=workspace, pk=popup_id).first()
    if popup is None:
        raise NotFound("No such pop-up.")
    clean = _clean(workspace, data, popup)
    changed = [key for key, value in clean.items() if getattr(popup, key) != value]
    for key, value in clean.items():
        setattr(popup, key, value)
    popup.updated_at = timezone.now()
    popup.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="popup.updated",
        obj=popup,
        changes={key: "changed" for key in changed},
    )
    return popup


@transaction.atomic
def popup_delete(*, workspace: Workspace, popup_id: int, actor: Actor) -> None:
    popup = Popup.objects.filter(workspace=workspace, pk=popup_id).first()
    if popup is None:
        raise NotFound("No such pop-up.")
    audit_record(workspace=workspace, actor=actor, action="popup.deleted", obj=popup)
    popup.delete()


def popup_count(*, workspace_id: int, popup_id: int, kind: str) -> bool:
    """Add one view, close or conversion to an active pop-up of the workspace: one UPDATE
    with ``F()`` (no read, no lost increment). False when there is no such active pop-up."""
    column = COUNTERS[kind]
    return bool(
        Popup.objects.filter(
            workspace_id=workspace_id, pk=popup_id, status=PopupStatus.ACTIVE
        ).update(**{column: F(column) + 1})
    )
