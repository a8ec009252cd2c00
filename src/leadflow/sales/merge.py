"""Merge fields in a personal email's subject and body: a tiny, safe language.

Syntax (docs/sales/email.md):

- ``{{ first_name }}`` is replaced by the contact's first name (empty when it has none);
- ``{{ first_name | there }}`` uses ``there`` when the value is empty (the fallback is plain
  text up to the closing braces; surrounding quotes are dropped, so ``{{ first_name |
  "there" }}`` works too).

Guarantees: a template is never given to Django's template engine or any other evaluator.
Only the names in ``MERGE_FIELDS`` (plus ``custom.<key>`` for the workspace's custom
fields) are known; any other name inside double braces (``{{ contact.__class__ }}``,
``{{ settings.SECRET_KEY }}``) is an unknown merge field, refused when the template is saved
or the email is sent, and never looked up. Values come from a plain dict of strings built
here, so no attribute of any object is reached. Everything that is not a ``{{ ... }}``
merge field, ``{% load %}`` included, stays literal text. The merged text is plain text; the
HTML part of the email escapes all of it (``merged_html``).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape, linebreaks

# name -> label, in the order the compose page lists them.
MERGE_FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "phone": "Phone",
    "job_title": "Job title",
    "company_name": "Company name",
    "city": "City",
    "country": "Country",
    "sender_name": "Your name",
    "sender_first_name": "Your first name",
    "sender_email": "Your email",
    "workspace_name": "Workspace name",
}
CUSTOM_PREFIX = "custom."

# {{ name }} or {{ name | fallback }}; the fallback cannot hold a closing brace.
_MERGE_FIELD = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}")
MAX_FALLBACK_LENGTH = 200


@dataclass
class Merged:
    """A merged text, the fields that came out empty (no value and no fallback) and the
    names that are not merge fields (the text must not be sent while there are any)."""

    text: str
    empty_fields: list[str] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


def merge_field_names(text: str) -> list[str]:
    """Every merge field name used in ``text``, in order, each once."""
    return list(dict.fromkeys(match.group(1) for match in _MERGE_FIELD.finditer(text)))


def unknown_merge_fields(text: str, custom_keys: Iterable[str]) -> list[str]:
    """The names in ``text`` that are neither a merge field nor ``custom.<key>`` of one of
    ``custom_keys``."""
    known = set(MERGE_FIELDS) | {CUSTOM_PREFIX + key for key in custom_keys}
    return [name for name in merge_field_names(text) if name not in known]


def merge(text: str, values: Mapping[str, str]) -> Merged:
    """Replace each merge field of ``text`` with its value in ``values``, else its fallback,
    else nothing. A name missing from ``values`` is unknown (left out of the text)."""
    result = Merged(text="")

    def replace(match: re.Match) -> str:
        name, fallback = match.group(1), _unquote(match.group(2) or "")
        if name not in values:
            if name not in result.unknown_fields:
                result.unknown_fields.append(name)
            return ""
        value = values[name]
        if value:
            return value
        if not fallback and name not in result.empty_fields:
            result.empty_fields.append(name)
        return fallback[:MAX_FALLBACK_LENGTH]

    result.text = _MERGE_FIELD.sub(replace, text)
    return result


def merged_html(text: str) -> str:
    """The HTML part of a merged plain-text email: every character escaped, paragraphs and
    line breaks kept."""
    return linebreaks(escape(text))


def one_line(text: str) -> str:
    """A subject on one line: line breaks (a merged value could hold one) become spaces."""
    return " ".join(text.split())


def merge_values(
    *,
    contact: Any,
    custom_keys: Iterable[str],
    sender: Any | None,
    workspace_name: str,
) -> dict[str, str]:
    """The values of every merge field for this contact and sender, as plain strings: the
    only place a merge field meets a model, reading named fields and nothing else."""
    full_name = f"{contact.first_name} {contact.last_name}".strip()
    sender_name = (sender.display_name if sender else "") or ""
    values = {
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "full_name": full_name,
        "email": contact.email or "",
        "phone": contact.phone or "",
        "job_title": contact.job_title or "",
        "company_name": contact.company.name if contact.company_id else "",
        "city": contact.city or "",
        "country": contact.country or "",
        "sender_name": sender_name,
        "sender_first_name": sender_name.split(" ")[0],
        "sender_email": sender.email if sender else "",
        "workspace_name": workspace_name,
    }
    custom = contact.custom_fields or {}
    for key in custom_keys:
        values[CUSTOM_PREFIX + key] = _plain(custom.get(key))
    return values


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unquote(fallback: str) -> str:
    if len(fallback) >= 2 and fallback[0] == fallback[-1] and fallback[0] in "\"'":
        return fallback[1:-1]
    return fallback
