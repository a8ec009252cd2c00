"""The section blocks a landing page is built from, their validation and the starting
templates. Every value is plain text (escaped when rendered) or a checked http(s) URL;
there is no HTML from marketers, so nothing needs sanitising.

A block is a dict with ``type`` and the keys of its kind (``BLOCK_KINDS``); list-valued
keys hold dicts with the item keys. ``blocks_clean`` names every bad value by its path
(``blocks[2].items[0].title``) in one ValidationFailed.
"""

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from leadflow.core.errors import FieldError, ValidationFailed

MAX_BLOCKS = 20
MAX_ITEMS = 12

# kind: {key: ("text", max length) | ("url",) | ("int",) | ("image",) | ("datetime",)
#        | ("items", {...})}; "image" is the id of an uploaded image (``PageImage``), which
# the service checks is the workspace's.
BLOCK_KINDS: dict[str, dict[str, tuple]] = {
    "hero": {
        "heading": ("text", 200),
        "text": ("text", 1000),
        "cta_label": ("text", 60),
        "image_id": ("image",),
        "image_url": ("url",),
        "image_alt": ("text", 200),
        "image_width": ("int",),
        "image_height": ("int",),
    },
    "benefits": {
        "heading": ("text", 200),
        "items": ("items", {"title": ("text", 120), "text": ("text", 500)}),
    },
    "testimonials": {
        "heading": ("text", 200),
        "items": (
            "items",
            {"quote": ("text", 1000), "name": ("text", 120), "role": ("text", 120)},
        ),
    },
    "form": {"heading": ("text", 200), "text": ("text", 1000)},
    "faq": {
        "heading": ("text", 200),
        "items": ("items", {"question": ("text", 300), "answer": ("text", 2000)}),
    },
    "countdown": {
        "heading": ("text", 200),
        "ends_at": ("datetime",),
        "expired_text": ("text", 200),
    },
    "footer": {
        "text": ("text", 500),
        "items": ("items", {"label": ("text", 100), "url": ("url",)}),
    },
}
BLOCK_NAMES = {
    "hero": "Hero",
    "benefits": "Benefits",
    "testimonials": "Testimonials",
    "form": "Form",
    "faq": "Questions and answers",
    "countdown": "Countdown",
    "footer": "Footer",
}
REQUIRED = {"hero": "heading", "countdown": "ends_at"}


def url_clean(value: str) -> str | None:
    """An absolute http(s) URL, or None (javascript:, data: and relative links are refused)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(value) > 2000:
        return None
    return value


def _value_clean(spec: tuple, value: Any, path: str, errors: list[FieldError]) -> Any:
    kind = spec[0]
    if value is None or value == "":
        return "" if kind in {"text", "url", "datetime"} else None
    if kind == "text":
        if not isinstance(value, str):
            errors.append(FieldError(path, "Must be text."))
            return ""
        if len(value) > spec[1]:
            errors.append(FieldError(path, f"At most {spec[1]} characters."))
        return value.strip()
    if kind == "url":
        if not isinstance(value, str) or url_clean(value.strip()) is None:
            errors.append(FieldError(path, "An http:// or https:// address."))
            return ""
        return value.strip()
    if kind == "image":
        try:
            number = int(value)
            if isinstance(value, bool) or not 1 <= number <= 2**62:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            errors.append(FieldError(path, "The id of an uploaded image."))
            return None
        return number
    if kind == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors.append(FieldError(path, "A whole number of pixels."))
            return None
        if not 1 <= number <= 10000:
            errors.append(FieldError(path, "Between 1 and 10000."))
        return number
    if kind == "datetime":
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            errors.append(FieldError(path, "A date and time (2026-12-31T18:00)."))
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat()
    return None


def blocks_clean(raw: Any) -> list[dict[str, Any]]:
    """The blocks, checked and normalised; every problem named by its path."""
    if not isinstance(raw, list):
        raise ValidationFailed([FieldError("blocks", "A list of blocks.")])
    if len(raw) > MAX_BLOCKS:
        raise ValidationFailed([FieldError("blocks", f"At most {MAX_BLOCKS} blocks.")])
    errors: list[FieldError] = []
    clean: list[dict[str, Any]] = []
    forms = 0
    for index, block in enumerate(raw):
        path = f"blocks[{index}]"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_KINDS:
            errors.append(FieldError(f"{path}.type", "One of " + ", ".join(BLOCK_KINDS) + "."))
            continue
        kind = block["type"]
        forms += kind == "form"
        spec = BLOCK_KINDS[kind]
        errors += [
            FieldError(f"{path}.{key}", "Unknown setting.")
            for key in block
            if key != "type" and key not in spec
        ]
        out: dict[str, Any] = {"type": kind}
        for key, rule in spec.items():
            if rule[0] == "items":
                out[key] = _items_clean(rule[1], block.get(key), f"{path}.{key}", errors)
            else:
                out[key] = _value_clean(rule, block.get(key), f"{path}.{key}", errors)
        if kind in REQUIRED and not out[REQUIRED[kind]]:
            errors.append(FieldError(f"{path}.{REQUIRED[kind]}", "Required."))
        if "image_id" in spec and out["image_id"] and out["image_url"]:
            errors.append(
                FieldError(f"{path}.image_url", "Choose an uploaded image or give an address.")
            )
        elif (
            "image_url" in spec
            and out["image_url"]
            and not (out["image_width"] and out["image_height"])
        ):
            # Sized images keep the page from shifting while they load (an uploaded image's
            # size is known).
            errors.append(FieldError(f"{path}.image_width", "Give the image's width and height."))
        clean.append(out)
    if forms > 1:
        errors.append(FieldError("blocks", "A page holds one form block."))
    if errors:
        raise ValidationFailed(errors)
    return clean


def _items_clean(spec: dict, raw: Any, path: str, errors: list[FieldError]) -> list[dict]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        errors.append(FieldError(path, "A list."))
        return []
    if len(raw) > MAX_ITEMS:
        errors.append(FieldError(path, f"At most {MAX_ITEMS} items."))
        raw = raw[:MAX_ITEMS]
    items = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append(FieldError(f"{path}[{index}]", "An object."))
            continue
        errors += [
            FieldError(f"{path}[{index}].{key}", "Unknown setting.")
            for key in item
            if key not in spec
        ]
        items.append(
            {
                key: _value_clean(rule, item.get(key), f"{path}[{index}].{key}", errors)
                for key, rule in spec.items()
            }
        )
    return items


def image_ids(blocks: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(block index, image id) of every uploaded image the blocks show."""
    return [
        (index, block["image_id"]) for index, block in enumerate(blocks) if block.get("image_id")
    ]


def block_new(kind: str) -> dict[str, Any]:
    """An empty block of a kind, as the editor adds it."""
    return blocks_clean(
        [
            {
                "type": kind,
                **({"heading": "Your headline"} if kind == "hero" else {}),
                **({"ends_at": "2030-01-01T00:00:00+00:00"} if kind == "countdown" else {}),
            }
        ]
    )[0]


_FOOTER = {"type": "footer", "text": "© Your company", "items": []}
STARTERS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "lead-magnet": (
        "Free download (e-book, checklist)",
        [
            {
                "type": "hero",
                "heading": "Get the free guide",
                "text": "Everything you need to know, in 20 pages.",
                "cta_label": "Send it to me",
            },
            {
                "type": "benefits",
                "heading": "What you will learn",
                "items": [
                    {"title": "Where to start", "text": "The first three steps."},
                    {"title": "What to avoid", "text": "The mistakes that cost the most."},
                    {"title": "How to measure", "text": "The numbers that matter."},
                ],
            },
            {"type": "form", "heading": "Where should we send it?", "text": ""},
            {
                "type": "faq",
                "heading": "Questions",
                "items": [{"question": "Is it free?", "answer": "Yes, and it stays free."}],
            },
            _FOOTER,
        ],
    ),
    "webinar": (
        "Webinar or event sign-up",
        [
            {"type": "hero", "heading": "Join the live session", "text": "45 minutes, with Q&A."},
            {
                "type": "countdown",
                "heading": "Starts in",
                "ends_at": "2030-01-01T17:00:00+00:00",
                "expired_text": "The session has started.",
            },
            {"type": "form", "heading": "Save your seat", "text": ""},
            {
                "type": "testimonials",
                "heading": "What attendees said",
                "items": [{"quote": "Clear and useful.", "name": "A. Customer", "role": ""}],
            },
            _FOOTER,
        ],
    ),
    "demo": (
        "Book a demo",
        [
            {"type": "hero", "heading": "See it in 20 minutes", "text": "A demo for your team."},
            {
                "type": "testimonials",
                "heading": "Teams like yours",
                "items": [
                    {
                        "quote": "We answer leads in minutes now.",
                        "name": "J. Doe",
                        "role": "Head of sales",
                    }
                ],
            },
            {"type": "form", "heading": "Book your demo", "text": ""},
            _FOOTER,
        ],
    ),
    "blank": ("Blank", [{"type": "hero", "heading": "Your headline"}, {"type": "form"}]),
}
