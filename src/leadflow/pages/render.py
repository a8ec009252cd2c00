"""A page variant as HTML: rendered once per publish (stored, then served as it is), for the
editor's preview, and again only for a form sent without script that failed validation.

The stored HTML holds ``TOKEN_MARK`` where the form's time token goes: the public view puts
a fresh token there on every view (the anti-spam time trap needs the time of this view).
"""

import datetime as dt
from typing import Any

from django.template.loader import render_to_string

from leadflow.capture.antispam import HONEYPOT_FIELD
from leadflow.capture.models import Form
from leadflow.capture.public_input import fields_shown
from leadflow.pages.models import Brand, Page, Variant

TOKEN_MARK = "__lf_time_token__"


def page_html(
    *,
    page: Page,
    variant: Variant,
    form: Form | None,
    brand: Brand,
    base_url: str,
    tracker_key: str,
    preview: bool = False,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    token: str = TOKEN_MARK,
) -> str:
    """The whole document of one variant. ``preview`` leaves out every script (the editor
    shows it in a sandboxed frame) and the tracker."""
    fields, other_errors = fields_shown(form.fields if form else [], errors, values)
    blocks = [_shown(block) for block in variant.blocks]
    return render_to_string(
        "pages/page.html",
        {
            "page": page,
            "variant": variant,
            "blocks": blocks,
            "form": form,
            "fields": fields,
            "other_errors": other_errors,
            "honeypot": HONEYPOT_FIELD,
            "brand": brand,
            "base_url": base_url,
            "tracker_key": tracker_key,
            "preview": preview,
            "token": token,
            "wait_ms": (form.min_fill_seconds * 1000 + 250) if form else 0,
            "form_anchor": any(block["type"] == "form" for block in blocks),
        },
    )


def _shown(block: dict[str, Any]) -> dict[str, Any]:
    """A block with what its template shows besides the stored values."""
    if block["type"] == "countdown" and block.get("ends_at"):
        moment = dt.datetime.fromisoformat(block["ends_at"])
        return {**block, "ends_label": moment.strftime("%-d %b %Y, %H:%M UTC")}
    return block
