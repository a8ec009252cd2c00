"""Small template helpers for LeadFlow pages. None of them marks anything safe."""

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` for a key held in a variable; empty when missing."""
    if isinstance(mapping, Mapping):
        return mapping.get(key, mapping.get(str(key), ""))
    return ""


@register.filter
def as_str(value: Any) -> str:
    return "" if value is None else str(value)


@register.filter
def initials(text: Any) -> str:
    """Up to two initials for an avatar ("Ann Lee" → "AL", "ann@x.com" → "A")."""
    words = [word for word in str(text or "").replace("@", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.simple_tag(takes_context=True)
def input_id(context) -> str:
    """The id of the included input: ``id`` when the include passes one, else ``id_<name>``;
    outside an include that names its input (a hand-written field in a page, a card in a
    loop), a new id each time it is asked in the page, so two labels never share one."""
    if context.get("id"):
        return str(context["id"])
    if context.get("name"):
        return f"id_{context['name']}"
    # The page's own count, in the outermost render context (includes get their own).
    counts = context.render_context.dicts[0]
    counts["leadflow_input_ids"] = counts.get("leadflow_input_ids", 0) + 1
    return f"id_field_{counts['leadflow_input_ids']}"


SHORT_STAGES = {"mql": "MQL", "sql": "SQL"}


@register.filter
def stage_short(contact: Any) -> str:
    """A lifecycle stage short enough for a table cell ("MQL" rather than its full name)."""
    stage = getattr(contact, "lifecycle_stage", "")
    return SHORT_STAGES.get(stage) or contact.get_lifecycle_stage_display()
