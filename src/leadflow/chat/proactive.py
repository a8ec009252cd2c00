"""A flow's proactive start: the launcher opens the chat by itself with a message when one
of its triggers fires (docs/chat/widget.md).

``{"enabled", "message", "delay_seconds", "scroll_percent", "exit_intent",
"once_per_days"}``: after ``delay_seconds`` on the page, past ``scroll_percent`` of it, or
when the pointer leaves through the top (``exit_intent``), whichever comes first; shown to a
visitor at most once per ``once_per_days`` (0: on every page view), remembered in the
visitor's browser. Only the browser runs it: the server checks and stores it.
"""

from typing import Any

from leadflow.core.errors import FieldError, ValidationFailed

PROACTIVE_KEYS = (
    "enabled",
    "message",
    "delay_seconds",
    "scroll_percent",
    "exit_intent",
    "once_per_days",
)
MAX_MESSAGE = 300
MAX_DELAY = 3600
MAX_DAYS = 365


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def proactive_clean(value: Any, *, prefix: str = "proactive") -> dict[str, Any]:
    """The proactive start as stored, or ValidationFailed naming each bad field
    (``proactive.delay_seconds``). Disabled, it keeps what was given (to switch on later)."""
    if not isinstance(value, dict):
        raise ValidationFailed([FieldError(prefix, "An object (see docs/chat/widget.md).")])
    errors = [FieldError(f"{prefix}.{key}"[:80], "Unknown field.") for key in value
              if key not in PROACTIVE_KEYS]  # fmt: skip
    clean: dict[str, Any] = {
        "enabled": False,
        "message": "",
        "delay_seconds": None,
        "scroll_percent": None,
        "exit_intent": False,
        "once_per_days": 1,
    }
    for key in ("enabled", "exit_intent"):
        if key in value:
            if isinstance(value[key], bool):
                clean[key] = value[key]
            else:
                errors.append(FieldError(f"{prefix}.{key}", "true or false."))
    message = value.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE or "\x00" in message:
        errors.append(FieldError(f"{prefix}.message", f"At most {MAX_MESSAGE} characters."))
    else:
        clean["message"] = message.strip()
    bounds = {"delay_seconds": (0, MAX_DELAY), "scroll_percent": (1, 100)}
    for key, (low, high) in bounds.items():
        given = value.get(key)
        if given is None or given == "":
            continue
        if _whole(given, low, high):
            clean[key] = given
        else:
            errors.append(FieldError(f"{prefix}.{key}", f"A whole number from {low} to {high}."))
    if "once_per_days" in value:
        if _whole(value["once_per_days"], 0, MAX_DAYS):
            clean["once_per_days"] = value["once_per_days"]
        else:
            errors.append(
                FieldError(f"{prefix}.once_per_days", f"A whole number from 0 to {MAX_DAYS}.")
            )
    if clean["enabled"] and not errors:
        if not clean["message"]:
            errors.append(FieldError(f"{prefix}.message", "What the chat says when it opens."))
        triggers = (clean["delay_seconds"], clean["scroll_percent"], clean["exit_intent"] or None)
        if all(trigger is None for trigger in triggers):
            errors.append(
                FieldError(prefix, "Choose a trigger: a delay, a scroll depth or exit intent.")
            )
    if errors:
        raise ValidationFailed(errors)
    return clean
