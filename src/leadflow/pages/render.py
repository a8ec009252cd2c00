"""A page variant as HTML: rendered once per publish (stored, then served as it is), for the
editor's preview, and again only for a form sent without script that failed validation.

The stored HTML holds ``TOKEN_MARK`` where the form's time token goes: the public view puts
a fresh token there on every view (the anti-spam time trap needs the time of this view).

Uploaded images are linked relative to the page (``../images/<hash>.<ext>``), so a page
shown under a customer's own domain through a reverse proxy loads them through the same
path; the social image (read by other sites' crawlers) is absolute. Every ``<img>`` carries
its width and height (no layout shift); the first section's image loads first, the others
lazily.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from leadflow.capture.antispam import HONEYPOT_FIELD
from leadflow.capture.models import Form
from leadflow.capture.public_input import fields_shown
from leadflow.pages.blocks import image_ids
from leadflow.pages.models import Brand, Page, PageImage, Variant
from leadflow.pages.selectors import images_by_id

TOKEN_MARK = "__lf_time_token__"


@dataclass(frozen=True)
class Shown:
    """An image as a page shows it."""

    src: str
    width: int | None
    height: int | None
    alt: str = ""
    content_type: str = ""


def image_path(workspace_slug: str, image: PageImage) -> str:
    """The image's public path on LeadFlow's own address."""
    return f"/lp/{workspace_slug}/images/{image.file_name}"


def page_images(page: Page, variants: list[Variant], brand: Brand) -> dict[int, PageImage]:
    """The uploaded images the variants, the page and the brand name, read in one query."""
    ids = {image_id for v in variants for _, image_id in image_ids(v.blocks)}
    ids |= {i for i in (page.social_image_id, brand.favicon_image_id) if i}
    return images_by_id(page.workspace_id, ids)


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
    images: dict[int, PageImage] | None = None,
) -> str:
    """The whole document of one variant. ``preview`` leaves out every script (the editor
    shows it in a sandboxed frame) and the tracker, and links images absolutely (the frame
    has the editor's address). ``images`` are the uploaded images by id (read when None);
    one that is missing is not shown."""
    if images is None:
        images = page_images(page, [variant], brand)
    workspace_slug = page.workspace.slug
    absolute = f"{base_url}/lp/{workspace_slug}/images/"
    relative = absolute if preview else "../images/"
    fields, other_errors = fields_shown(form.fields if form else [], errors, values)
    blocks = [_shown(block, index, images, relative) for index, block in enumerate(variant.blocks)]
    social = images.get(page.social_image_id) if page.social_image_id else None
    favicon = images.get(brand.favicon_image_id) if brand.favicon_image_id else None
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
            "social": (
                _image(social, absolute, social.alt)
                if social
                else (Shown(page.social_image_url, None, None) if page.social_image_url else None)
            ),
            "favicon": (
                _image(favicon, relative, "")
                if favicon
                else (Shown(brand.favicon_url, None, None) if brand.favicon_url else None)
            ),
        },
    )


def _image(image: PageImage, prefix: str, alt: str) -> Shown:
    return Shown(prefix + image.file_name, image.width, image.height, alt, image.content_type)


def _shown(
    block: dict[str, Any], index: int, images: dict[int, PageImage], prefix: str
) -> dict[str, Any]:
    """A block with what its template shows besides the stored values: the countdown's end
    as text; its image (``img``: src, width, height, alt; ``lazy`` below the first
    section)."""
    shown = dict(block)
    if block["type"] == "countdown" and block.get("ends_at"):
        moment = dt.datetime.fromisoformat(block["ends_at"])
        shown["ends_label"] = moment.strftime("%-d %b %Y, %H:%M UTC")
    image = images.get(block.get("image_id") or 0)
    if image is not None:
        shown["img"] = _image(image, prefix, block.get("image_alt") or image.alt)
    elif block.get("image_url") and not block.get("image_id"):
        shown["img"] = Shown(
            block["image_url"],
            block.get("image_width"),
            block.get("image_height"),
            block.get("image_alt") or "",
        )
    shown["lazy"] = index > 0
    return shown
