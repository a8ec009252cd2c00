"""What a member writes about a pop-up's triggers, targeting and frequency, checked and
completed with defaults, and the one pattern language of its rules.

Patterns (page addresses, UTM values) are globs: ``*`` stands for any run of characters,
everything else is itself, case ignored. ``glob_match`` runs in time proportional to the
pattern times the text at worst (no backtracking explosion); ``popups.js`` has the same
matcher for page addresses, which only the browser sees.
"""

from typing import Any

from leadflow.contacts.conditions import (
    ConditionContext,
    conditions_validate,
    tree_from_json,
    tree_to_json,
)
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.patterns import glob_match
from leadflow.tracking.models import Channel

DEVICES = ("desktop", "tablet", "mobile")
VISITORS = ("all", "new", "returning")
AUDIENCES = ("everyone", "anonymous", "known")
CHANNELS = tuple(choice.value for choice in Channel)
MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 200
MAX_SECONDS = 3600
MAX_DAYS = 3650

TRIGGER_DEFAULTS: dict[str, Any] = {
    "time_seconds": None,
    "scroll_percent": None,
    "exit_intent": False,
    "inactivity_seconds": None,
    "click_selector": "",
}
TARGETING_DEFAULTS: dict[str, Any] = {
    "include": [],
    "exclude": [],
    "devices": list(DEVICES),
    "visitors": "all",
    "utm_source": [],
    "utm_medium": [],
    "utm_campaign": [],
    "channels": [],
    "audience": "everyone",
    "conditions": None,
}
FREQUENCY_DEFAULTS: dict[str, Any] = {
    "once_per_session": True,
    "every_days": None,
    "closed_days": 7,
    "stop_after_convert": True,
}


def any_glob(patterns: list[str], text: str) -> bool:
    return any(glob_match(pattern, text) for pattern in patterns)


def _number(
    value: Any, path: str, errors: list[FieldError], *, low: float, high: float, whole: bool
) -> float | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(FieldError(path, "Must be a number."))
        return None
    if whole and value != int(value):
        errors.append(FieldError(path, "Must be a whole number."))
        return None
    if not low <= value <= high:
        errors.append(FieldError(path, f"Must be between {low:g} and {high:g}."))
        return None
    return int(value) if whole else float(value)


def _flag(value: Any, path: str, errors: list[FieldError]) -> bool:
    if not isinstance(value, bool):
        errors.append(FieldError(path, "Must be true or false."))
        return False
    return value


def _text(value: Any, path: str, errors: list[FieldError], limit: int) -> str:
    if not isinstance(value, str):
        errors.append(FieldError(path, "Must be text."))
        return ""
    if "\x00" in value:
        errors.append(FieldError(path, "May not contain a NUL character."))
        return ""
    if len(value) > limit:
        errors.append(FieldError(path, f"At most {limit} characters."))
        return ""
    return value.strip()


def _patterns(value: Any, path: str, errors: list[FieldError]) -> list[str]:
    if not isinstance(value, list):
        errors.append(FieldError(path, "Must be a list of patterns."))
        return []
    if len(value) > MAX_PATTERNS:
        errors.append(FieldError(path, f"At most {MAX_PATTERNS} patterns."))
        return []
    clean = []
    for index, item in enumerate(value):
        text = _text(item, f"{path}[{index}]", errors, MAX_PATTERN_LENGTH)
        if text:
            clean.append(text)
    return clean


def _choices(value: Any, path: str, errors: list[FieldError], allowed: tuple) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.append(FieldError(path, "Must be a list."))
        return []
    unknown = [item for item in value if item not in allowed]
    if unknown:
        errors.append(FieldError(path, f"Use any of: {', '.join(allowed)}."))
        return []
    return [item for item in allowed if item in value]


def _known(data: Any, path: str, defaults: dict, errors: list[FieldError]) -> dict:
    if not isinstance(data, dict):
        errors.append(FieldError(path, "Must be an object."))
        return {}
    for key in data:
        if key not in defaults:
            errors.append(FieldError(f"{path}.{key}", "Unknown setting."))
    return {**defaults, **{key: value for key, value in data.items() if key in defaults}}


def triggers_clean(data: Any, errors: list[FieldError], path: str = "triggers") -> dict:
    """Any trigger set shows the pop-up (the first to fire); at least one is needed."""
    raw = _known(data, path, TRIGGER_DEFAULTS, errors)
    if not raw:
        return dict(TRIGGER_DEFAULTS)
    clean = {
        "time_seconds": _number(
            raw["time_seconds"],
            f"{path}.time_seconds",
            errors,
            low=0,
            high=MAX_SECONDS,
            whole=False,
        ),
        "scroll_percent": _number(
            raw["scroll_percent"], f"{path}.scroll_percent", errors, low=1, high=100, whole=True
        ),
        "exit_intent": _flag(raw["exit_intent"], f"{path}.exit_intent", errors),
        "inactivity_seconds": _number(
            raw["inactivity_seconds"],
            f"{path}.inactivity_seconds",
            errors,
            low=0.1,
            high=MAX_SECONDS,
            whole=False,
        ),
        "click_selector": _text(
            raw["click_selector"], f"{path}.click_selector", errors, MAX_PATTERN_LENGTH
        ),
    }
    if (
        not errors
        and clean["time_seconds"] is None
        and clean["scroll_percent"] is None
        and not clean["exit_intent"]
        and clean["inactivity_seconds"] is None
        and not clean["click_selector"]
    ):
        errors.append(
            FieldError(path, "Choose at least one trigger (time 0 shows it when the page opens).")
        )
    return clean


def targeting_clean(
    data: Any, errors: list[FieldError], workspace: Workspace, path: str = "targeting"
) -> dict:
    """Who sees it: page patterns, devices, new or returning visitors, the visit's source,
    and for identified visitors the condition language (checked here, run server side)."""
    raw = _known(data, path, TARGETING_DEFAULTS, errors)
    if not raw:
        return dict(TARGETING_DEFAULTS)
    clean: dict[str, Any] = {
        key: _patterns(raw[key], f"{path}.{key}", errors)
        for key in ("include", "exclude", "utm_source", "utm_medium", "utm_campaign")
    }
    clean["devices"] = _choices(raw["devices"], f"{path}.devices", errors, DEVICES)
    if not clean["devices"] and not any(error.field == f"{path}.devices" for error in errors):
        errors.append(FieldError(f"{path}.devices", "Choose at least one device."))
    clean["channels"] = _choices(raw["channels"], f"{path}.channels", errors, CHANNELS)
    for key, allowed in (("visitors", VISITORS), ("audience", AUDIENCES)):
        if raw[key] not in allowed:
            errors.append(FieldError(f"{path}.{key}", f"Use one of: {', '.join(allowed)}."))
        clean[key] = raw[key] if raw[key] in allowed else TARGETING_DEFAULTS[key]
    clean["conditions"] = None
    if raw["conditions"] not in (None, {}, ""):
        try:
            node = tree_from_json(raw["conditions"], f"{path}.conditions")
            node = conditions_validate(node, ConditionContext(workspace), f"{path}.conditions")
        except ValidationFailed as failure:
            errors.extend(failure.errors)
        else:
            clean["conditions"] = tree_to_json(node)
    return clean


def frequency_clean(data: Any, errors: list[FieldError], path: str = "frequency") -> dict:
    raw = _known(data, path, FREQUENCY_DEFAULTS, errors)
    if not raw:
        return dict(FREQUENCY_DEFAULTS)
    return {
        "once_per_session": _flag(raw["once_per_session"], f"{path}.once_per_session", errors),
        "every_days": _number(
            raw["every_days"], f"{path}.every_days", errors, low=1, high=MAX_DAYS, whole=True
        ),
        "closed_days": _number(
            raw["closed_days"], f"{path}.closed_days", errors, low=1, high=MAX_DAYS, whole=True
        ),
        "stop_after_convert": _flag(
            raw["stop_after_convert"], f"{path}.stop_after_convert", errors
        ),
    }
