"""The flow editor's "Proactive start" fieldset (``Flow.proactive``, checked by
``chat.proactive.proactive_clean``): the stored value as the form's inputs, and the posted
inputs as the value the service checks (numbers parsed where they parse, else left as text
so the service names the field)."""

import re
from typing import Any

from django.http import QueryDict

NUMBERS = {"delay_seconds": "proactive_delay", "scroll_percent": "proactive_scroll"}
NUMBERS |= {"once_per_days": "proactive_days"}


def proactive_values(flow) -> dict[str, Any]:
    """The fieldset's inputs for ``flow`` (None: a new flow)."""
    stored = (flow.proactive if flow is not None else None) or {}
    values = {
        "proactive_enabled": bool(stored.get("enabled")),
        "proactive_message": stored.get("message", ""),
        "proactive_exit": bool(stored.get("exit_intent")),
    }
    for key, name in NUMBERS.items():
        value = stored.get(key, 1 if key == "once_per_days" else None)
        values[name] = "" if value is None else value
    return values


def proactive_posted(post: QueryDict) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the value for the service, the inputs to show again)."""
    shown = proactive_values(None) | {
        "proactive_enabled": post.get("proactive_enabled") == "on",
        "proactive_message": post.get("proactive_message", ""),
        "proactive_exit": post.get("proactive_exit") == "on",
    }
    value: dict[str, Any] = {
        "enabled": shown["proactive_enabled"],
        "message": shown["proactive_message"],
        "exit_intent": shown["proactive_exit"],
    }
    for key, name in NUMBERS.items():
        raw = post.get(name, "").strip()
        shown[name] = raw
        if raw:
            value[key] = int(raw) if re.fullmatch(r"-?\d{1,6}", raw) else raw
    return value, shown
