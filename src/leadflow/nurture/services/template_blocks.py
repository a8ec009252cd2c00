"""The block editor's template: a list of blocks (header, text, image, button, columns,
divider, spacer, footer) checked here field by field and written out as MJML, which
``template_sources`` compiles to email-safe HTML once, on save.

Guarantees: ``blocks_check`` returns clean blocks or raises one ValidationFailed naming
every bad field by its path (``blocks[2].href``, ``blocks[4].columns[1][0].src``); rich
text keeps only paragraphs, line breaks, bold, italic and links (nh3, the Ammonia
sanitiser); every other value is escaped where it is written; personalisation
(``{{ contact.first_name|default:"there" }}``) passes through to the sandbox and each field
compiles there on its own. ``blocks_mjml`` is a pure function of the clean blocks.
"""

import html
import re
from typing import Any

import nh3

from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.nurture.services.rendering import compile_field

MAX_BLOCKS = 60
MAX_COLUMN_BLOCKS = 6
TEXT_MAX = 20_000
LINE_MAX = 300
URL_MAX = 2_000
RICH_TAGS = {"p", "br", "strong", "b", "em", "i", "a"}
URL_SCHEMES = {"http", "https", "mailto"}
COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")
TEMPLATE_PART = re.compile(r"({{.*?}}|{%.*?%})", re.S)
ALIGNS = ("left", "center", "right")
COLUMN_TYPES = ("text", "image", "button")

# Each type's fields: name -> (kind, required, default). Kinds: line (plain text), rich
# (limited HTML), url, colour, align, int:lo:hi.
FIELDS: dict[str, dict[str, tuple[str, bool, Any]]] = {
    "header": {
        "text": ("line", True, ""),
        "logo_src": ("url", False, ""),
        "logo_alt": ("line", False, ""),
        "align": ("align", False, "center"),
        "background": ("colour", False, "#ffffff"),
        "color": ("colour", False, "#111827"),
    },
    "text": {"text": ("rich", True, "")},
    "image": {
        "src": ("url", True, ""),
        "alt": ("line", False, ""),
        "href": ("url", False, ""),
        "width": ("int:40:600", False, 600),
    },
    "button": {
        "label": ("line", True, ""),
        "href": ("url", True, ""),
        "align": ("align", False, "center"),
        "background": ("colour", False, "#2563eb"),
        "color": ("colour", False, "#ffffff"),
    },
    "columns": {},  # checked apart: two lists of text, image and button blocks
    "divider": {"color": ("colour", False, "#e5e7eb")},
    "spacer": {"height": ("int:4:200", False, 24)},
    "footer": {
        "text": ("rich", False, ""),
        "unsubscribe_label": ("line", False, "Unsubscribe"),
    },
}
TYPES = tuple(FIELDS)


def rich_text_clean(source: str) -> str:
    """Limited rich text: plain lines become paragraphs (a blank line between them) and
    line breaks; only ``RICH_TAGS`` survive, links only to http(s) and mailto."""
    source = source.strip()
    if source and "<p" not in source.lower():
        paragraphs = re.split(r"\n\s*\n", source)
        source = "".join(f"<p>{part.strip().replace(chr(10), '<br>')}</p>" for part in paragraphs)
    return nh3.clean(
        source,
        tags=RICH_TAGS,
        attributes={"a": {"href"}},
        url_schemes=URL_SCHEMES,
        link_rel=None,
    )


def _url_ok(value: str) -> bool:
    if TEMPLATE_PART.fullmatch(value):
        return True  # {{ offer.url }}: rendered with autoescape at send time
    lower = value.lower()
    return lower.startswith(("https://", "http://", "mailto:")) and not any(
        character in value for character in ' "<>\n\r\t'
    )


def _value(path: str, kind: str, raw: Any, errors: list[FieldError]) -> Any:
    if kind.startswith("int:"):
        _, low, high = kind.split(":")
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            errors.append(FieldError(path, f"A whole number from {low} to {high}."))
            return None
        text = str(raw).strip()
        if not text.isdigit() or not int(low) <= int(text) <= int(high):
            errors.append(FieldError(path, f"A whole number from {low} to {high}."))
            return None
        return int(text)
    if not isinstance(raw, str):
        errors.append(FieldError(path, "Text expected."))
        return None
    value = raw.strip()
    limit = {"rich": TEXT_MAX, "url": URL_MAX}.get(kind, LINE_MAX)
    if len(value) > limit:
        errors.append(FieldError(path, f"At most {limit} characters."))
        return None
    if "\x00" in value:
        errors.append(FieldError(path, "Contains a NUL character."))
        return None
    if kind == "colour" and value and not COLOUR.fullmatch(value):
        errors.append(FieldError(path, "A colour like #2563eb."))
        return None
    if kind == "align" and value and value not in ALIGNS:
        errors.append(FieldError(path, "One of: left, center, right."))
        return None
    if kind == "url" and value and not _url_ok(value):
        errors.append(FieldError(path, "An address starting with https://, http:// or mailto:."))
        return None
    if kind == "rich":
        value = rich_text_clean(value)
    if kind != "rich":
        for part in TEMPLATE_PART.findall(value):
            if '"' in part:
                errors.append(FieldError(path, "Use single quotes inside {{ }} in this field."))
                return None
    try:
        compile_field(path, value)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
        return None
    return value


def _block(path: str, raw: Any, errors: list[FieldError], *, allowed: tuple) -> dict | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "A block (an object with a type) expected."))
        return None
    kind = raw.get("type")
    if kind not in allowed:
        errors.append(FieldError(f"{path}.type", f"One of: {', '.join(allowed)}."))
        return None
    fields = FIELDS[kind]
    clean: dict[str, Any] = {"type": kind}
    for key in raw:
        if key != "type" and key not in fields and not (kind == "columns" and key == "columns"):
            errors.append(FieldError(f"{path}.{key}", "Unknown field for this block."))
    for name, (field_kind, required, default) in fields.items():
        given = raw.get(name)
        if given is None or given == "":
            if required:
                errors.append(FieldError(f"{path}.{name}", "Required."))
            clean[name] = default
            continue
        value = _value(f"{path}.{name}", field_kind, given, errors)
        clean[name] = default if value in (None, "") else value
    if kind == "columns":
        clean["columns"] = _columns(f"{path}.columns", raw.get("columns"), errors)
    return clean


def _columns(path: str, raw: Any, errors: list[FieldError]) -> list[list[dict]]:
    if not isinstance(raw, list) or len(raw) != 2:
        errors.append(FieldError(path, "Two columns (two lists of blocks)."))
        return [[], []]
    columns = []
    for number, column in enumerate(raw):
        here = f"{path}[{number}]"
        if not isinstance(column, list) or len(column) > MAX_COLUMN_BLOCKS:
            errors.append(FieldError(here, f"A list of at most {MAX_COLUMN_BLOCKS} blocks."))
            columns.append([])
            continue
        inner = [
            _block(f"{here}[{index}]", item, errors, allowed=COLUMN_TYPES)
            for index, item in enumerate(column)
        ]
        columns.append([block for block in inner if block is not None])
    return columns


def blocks_check(raw: Any) -> list[dict]:
    """The clean blocks, or a ValidationFailed naming every bad field."""
    if not isinstance(raw, list):
        raise ValidationFailed([FieldError("blocks", "A list of blocks.")])
    if not raw:
        raise ValidationFailed([FieldError("blocks", "Add at least one block.")])
    if len(raw) > MAX_BLOCKS:
        raise ValidationFailed([FieldError("blocks", f"At most {MAX_BLOCKS} blocks.")])
    errors: list[FieldError] = []
    clean = [_block(f"blocks[{i}]", item, errors, allowed=TYPES) for i, item in enumerate(raw)]
    if errors:
        raise ValidationFailed(errors)
    return [block for block in clean if block is not None]


# --- MJML --------------------------------------------------------------------------------


def _escaped(value: Any) -> str:
    """Text or an attribute value for MJML: literal parts escaped, personalisation kept
    as it is (it is rendered, escaped, at send time)."""
    parts = TEMPLATE_PART.split(str(value))
    return "".join(part if index % 2 else html.escape(part) for index, part in enumerate(parts))


def _attributes(**attributes: Any) -> str:
    return "".join(
        f' {name.replace("_", "-")}="{_escaped(value)}"'
        for name, value in attributes.items()
        if value not in ("", None)
    )


def _element(block: dict) -> str:
    kind = block["type"]
    if kind == "text":
        return f"<mj-text>{block['text']}</mj-text>"
    if kind == "image":
        attributes = _attributes(
            src=block["src"], alt=block["alt"], href=block["href"], width=f"{block['width']}px"
        )
        return f"<mj-image{attributes} />"
    if kind == "button":
        attributes = _attributes(
            href=block["href"],
            align=block["align"],
            background_color=block["background"],
            color=block["color"],
            font_weight="bold",
            border_radius="6px",
        )
        return f"<mj-button{attributes}>{_escaped(block['label'])}</mj-button>"
    raise ValueError(kind)


def _section(inner: str, *, background: str = "#ffffff", padding: str = "8px 0") -> str:
    return f'<mj-section background-color="{background}" padding="{padding}">{inner}</mj-section>'


def _block_mjml(block: dict) -> str:
    kind = block["type"]
    if kind == "header":
        logo = ""
        if block["logo_src"]:
            logo = f"<mj-image{_attributes(src=block['logo_src'], alt=block['logo_alt'])}"
            logo += f' width="120px" align="{block["align"]}" />'
        heading = _attributes(
            align=block["align"], color=block["color"], font_size="26px", font_weight="bold"
        )
        text = f"<mj-text{heading}>{_escaped(block['text'])}</mj-text>"
        return _section(
            f"<mj-column>{logo}{text}</mj-column>",
            background=block["background"],
            padding="24px 0",
        )
    if kind == "columns":
        columns = "".join(
            "<mj-column>" + "".join(_element(inner) for inner in column) + "</mj-column>"
            for column in block["columns"]
        )
        return _section(columns)
    if kind == "divider":
        divider = f'<mj-divider border-width="1px" border-color="{block["color"]}" />'
        return _section(f"<mj-column>{divider}</mj-column>", padding="0")
    if kind == "spacer":
        spacer = f'<mj-spacer height="{block["height"]}px" />'
        return _section(f"<mj-column>{spacer}</mj-column>", padding="0")
    if kind == "footer":
        link = f'<a href="{{{{ unsubscribe_url }}}}">{_escaped(block["unsubscribe_label"])}</a>'
        text = (
            '<mj-text align="center" font-size="12px" color="#6b7280">'
            f"{block['text']}<p>{link}</p></mj-text>"
        )
        return _section(f"<mj-column>{text}</mj-column>", background="#f3f4f6")
    return _section(f"<mj-column>{_element(block)}</mj-column>")


def blocks_mjml(blocks: list[dict]) -> str:
    """The MJML document of clean blocks."""
    body = "".join(_block_mjml(block) for block in blocks)
    return (
        "<mjml><mj-head><mj-attributes>"
        '<mj-all font-family="Helvetica, Arial, sans-serif" />'
        '<mj-text font-size="16px" line-height="1.5" color="#1f2937" />'
        "</mj-attributes></mj-head>"
        f'<mj-body background-color="#f3f4f6" width="600px">{body}</mj-body></mjml>'
    )
