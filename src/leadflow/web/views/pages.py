"""Landing pages in the app: the list (with the workspace's page brand), a new page from a
starting template, the editor (the variant's blocks with a live preview, the page's
settings, publishing, variants and their results with the significance test's verdict).

Page and variant ids are looked up inside the current workspace (another workspace's id
answers 404). Reading needs ``read``; changing pages needs ``manage_forms``; the brand needs
``manage_settings``. Writes go through ``pages.services``; blocks are validated by
``pages.blocks``, and a refused save shows each ``blocks[i].key`` error beside its input.

The block editor is a plain form (every block's settings as inputs, list items as lines of
"a | b" text), so it works without script; htmx posts it to the preview on every change.
Beside each image setting (a block's image, the social image, the favicon) a picker offers
the workspace's uploaded images and a file input: a file sent with the form is uploaded to
the library first (``pages.images``, its own transaction: a refused save keeps the image in
the library) and chosen; the address input stays for images hosted elsewhere.
"""

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.capture import selectors as capture_selectors
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.pages import images, selectors, services
from leadflow.pages.blocks import BLOCK_KINDS, BLOCK_NAMES, STARTERS, block_new, blocks_clean
from leadflow.pages.models import Page, Variant
from leadflow.pages.render import page_html
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_message
from leadflow.web.views.common import render_page

SECTION = {"section": "pages"}
MAX_POSTED_BLOCKS = 40
BLOCK_PATH = re.compile(r"^blocks\[(\d+)\]\.(\w+)")
LABELS = {
    "cta_label": "Button label (jumps to the form)",
    "image_id": "Uploaded image",
    "image_url": "Image address (an image hosted elsewhere)",
    "image_alt": "Image description (alt text; empty for a decorative image)",
    "image_width": "Image width (px; for an address)",
    "image_height": "Image height (px; for an address)",
    "ends_at": "Ends at",
    "expired_text": "Text once it has ended",
}
# The page's settings and a variant's share as the editor labels them, for the message of
# a refused publish or action (web.access: no field name from the code reaches a member).
PAGE_LABELS = {
    "name": "Name",
    "slug": "Address",
    "form_id": "Form",
    "seo_title": "Search title",
    "seo_description": "Search description",
    "social_image_url": "Social image address",
    "noindex": "Hide from search engines",
    "min_sample": "Views per variant before a winner",
    "confidence": "Confidence",
    "weight": "Share of visitors",
    "variant_id": "Variant",
    "copy_of": "Variant",
}
ITEM_LABELS = {
    "benefits": "Benefits",
    "testimonials": "Testimonials",
    "faq": "Questions",
    "footer": "Links",
}


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _uploaded(request: HttpRequest, name: str, field: str) -> int | None:
    """The id of the image sent in the file input ``name`` (uploaded to the library), or
    None when none was sent; a refused file raises ValidationFailed naming ``field``."""
    upload = request.FILES.get(name)
    if upload is None:
        return None
    image, _ = images.image_upload(
        workspace=request.workspace, upload=upload, actor=request.actor, field=field
    )
    return image.pk


# --- list, new page, brand ------------------------------------------------------------------


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def page_list(request: HttpRequest) -> HttpResponse:
    """Every page with its address, state and results; POST creates one (manage_forms)."""
    workspace = request.workspace
    errors: dict[str, list[str]] = {}
    values = {
        key: request.POST.get(key, "").strip() for key in ("name", "slug", "starter", "form_id")
    }
    status = 200
    if request.method == "POST":
        if not request.membership.can("manage_forms"):
            return HttpResponse(status=403)
        try:
            page = services.page_create(
                workspace=workspace,
                data={
                    "name": values["name"],
                    "slug": values["slug"],
                    **({"form_id": values["form_id"]} if values["form_id"] else {}),
                },
                starter=values["starter"] or "lead-magnet",
                actor=request.actor,
            )
        except ValidationFailed as failure:
            status = 422
            for error in failure.errors:
                errors.setdefault(error.field, []).append(error.message)
        else:
            messages.success(request, f"Created the page “{page.name}”.")
            return redirect("page_editor", workspace.slug, page.pk)
    pages = list(selectors.page_list(workspace))
    totals = selectors.page_totals(workspace, pages)
    rows = [
        {
            "page": page,
            "variants": totals[page.pk][0],
            "views": totals[page.pk][1],
            "conversions": totals[page.pk][2],
            "rate": 100 * totals[page.pk][2] / totals[page.pk][1] if totals[page.pk][1] else None,
        }
        for page in pages
    ]
    context = {
        **SECTION,
        "rows": rows,
        "values": values,
        "errors": errors,
        "starters": [(key, label) for key, (label, _) in STARTERS.items()],
        "forms": list(capture_selectors.form_list(workspace)),
        "brand": selectors.brand_get(workspace),
        "base": _base(request),
        "library": selectors.image_choices(workspace)
        if request.membership.can("manage_settings")
        else [],
        "accept": images.ACCEPT,
    }
    return render_page(request, "web/pages/list.html", context, status=status)


@workspace_view("manage_settings")
@require_POST
def brand_save(request: HttpRequest) -> HttpResponse:
    data: dict[str, Any] = {
        key: request.POST.get(key, "").strip()
        for key in (
            "primary_colour",
            "text_colour",
            "background_colour",
            "favicon_url",
            "favicon_image_id",
        )
    }
    uploaded = _uploaded(request, "favicon_file", "favicon_image_id")
    if uploaded:  # the uploaded image replaces an address
        data.update(favicon_image_id=uploaded, favicon_url="")
    services.brand_update(workspace=request.workspace, actor=request.actor, data=data)
    messages.success(request, "Saved the brand; pages show it from their next publish.")
    return redirect("page_list", request.workspace.slug)


# --- the editor ------------------------------------------------------------------------------


def _items_text(block: dict, key: str) -> str:
    item_keys = list(BLOCK_KINDS[block["type"]][key][1])
    return "\n".join(
        " | ".join(str(item.get(k) or "") for k in item_keys) for item in block.get(key) or []
    )


def _block_rows(
    blocks: list[dict],
    errors: dict[int, dict[str, list[str]]],
    library: list[tuple[int, str]] = (),  # type: ignore[assignment]
) -> list[dict]:
    """Each block as the editor shows it: its inputs (kind, value, limits, the library's
    images for an image picker) and errors."""
    rows = []
    for index, block in enumerate(blocks):
        inputs = []
        for key, rule in BLOCK_KINDS[block["type"]].items():
            kind = rule[0]
            if kind == "items":
                value = (
                    _items_text(block, key)
                    if isinstance(block.get(key), list)
                    else block.get(key, "")
                )
                help_text = "One per line: " + " | ".join(rule[1])
            elif kind == "datetime":
                value = str(block.get(key) or "")[:16]
                help_text = "In UTC."
            elif kind == "image":
                value = str(block.get(key) or "")
                help_text = (
                    "Choose one of the workspace's images, or upload one (saved with the section)."
                )
            else:
                value = "" if block.get(key) is None else block.get(key)
                help_text = ""
            inputs.append(
                {
                    "key": key,
                    "name": f"b{index}-{key}",
                    "label": ITEM_LABELS[block["type"]]
                    if kind == "items"
                    else LABELS.get(key, key.replace("_", " ").capitalize()),
                    "kind": "textarea"
                    if kind == "items" or (kind == "text" and rule[1] > 200)
                    else kind,
                    "limit": rule[1] if kind == "text" else None,
                    "value": value,
                    "help": help_text,
                    "errors": errors.get(index, {}).get(key, []),
                    "choices": library if kind == "image" else (),
                    "file_name": f"b{index}-{key.removesuffix('_id')}_file",
                }
            )
        rows.append(
            {
                "index": index,
                "type": block["type"],
                "name": BLOCK_NAMES[block["type"]],
                "inputs": inputs,
            }
        )
    return rows


def _posted_blocks(request: HttpRequest) -> list[dict[str, Any]]:
    """The blocks as the editor posted them (raw: ``blocks_clean`` checks them)."""
    try:
        count = min(int(request.POST.get("block_count", "0")), MAX_POSTED_BLOCKS)
    except ValueError:
        raise ValidationFailed([FieldError("block_count", "A number.")]) from None
    blocks = []
    for index in range(max(count, 0)):
        kind = request.POST.get(f"b{index}-type", "")
        if kind not in BLOCK_KINDS:
            blocks.append({"type": kind})
            continue
        block: dict[str, Any] = {"type": kind}
        for key, rule in BLOCK_KINDS[kind].items():
            raw = request.POST.get(f"b{index}-{key}", "")
            if rule[0] == "items":
                item_keys = list(rule[1])
                block[key] = [
                    dict(
                        zip(
                            item_keys,
                            [part.strip() for part in line.split("|", len(item_keys) - 1)]
                            + [""] * len(item_keys),
                            strict=False,
                        )
                    )
                    for line in raw.splitlines()
                    if line.strip()
                ]
            else:
                block[key] = raw.strip() or None
        blocks.append(block)
    return blocks


def _errors_by_block(
    failure: ValidationFailed,
) -> tuple[dict[int, dict[str, list[str]]], list[str]]:
    by_block: dict[int, dict[str, list[str]]] = {}
    other = []
    for error in failure.errors:
        found = BLOCK_PATH.match(error.field)
        if found:
            index, key = int(found.group(1)), found.group(2)
            detail = error.field[found.end() :]
            message = f"{detail.lstrip('.')}: {error.message}" if detail else error.message
            by_block.setdefault(index, {}).setdefault(key, []).append(message)
        else:
            other.append(error_message(error.field, error.message, PAGE_LABELS))
    return by_block, other


def _preview(request: HttpRequest, page: Page, variant: Variant) -> str:
    return page_html(
        page=page,
        variant=variant,
        form=page.form,
        brand=selectors.brand_get(request.workspace),
        base_url=_base(request),
        tracker_key="",
        preview=True,
        token="",
    )


def _editor(
    request: HttpRequest,
    page: Page,
    variant: Variant,
    *,
    blocks: list[dict] | None = None,
    block_errors: dict | None = None,
    other_errors: list[str] | None = None,
    settings_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    stats = selectors.page_stats(request.workspace, page)
    shown = blocks if blocks is not None else variant.blocks
    library = selectors.image_choices(request.workspace)
    block_rows = _block_rows(shown, block_errors or {}, library)
    context = {
        **SECTION,
        "page": page,
        "variant": variant,
        "variants": [row.variant for row in stats.variants],
        "stats": stats,
        "block_rows": block_rows,
        "library": library,
        "accept": images.ACCEPT,
        # The preview is drawn without the files chosen (they are uploaded on save).
        "file_inputs": [
            field["file_name"]
            for row in block_rows
            for field in row["inputs"]
            if field["kind"] == "image"
        ],
        "block_count": len(shown),
        "block_choices": list(BLOCK_NAMES.items()),
        "other_errors": other_errors or [],
        "settings_errors": settings_errors or {},
        "forms": list(capture_selectors.form_list(request.workspace)),
        "preview_html": _preview(
            request, page, Variant(pk=variant.pk, page=page, blocks=_safe(shown))
        ),
        "public_url": _base(request)
        + reverse("pages_page", args=[request.workspace.slug, page.slug]),
        "changed": page.published_at is not None and page.updated_at > page.published_at,
    }
    return render_page(request, "web/pages/editor.html", context, status=status)


def _safe(blocks: list[dict]) -> list[dict]:
    """The blocks the preview can show: the valid ones (an invalid one is skipped)."""
    shown = []
    for block in blocks:
        try:
            shown += blocks_clean([block])
        except ValidationFailed:
            continue
    return shown


@workspace_view("read")
@require_safe
def page_editor(request: HttpRequest, page_id: int) -> HttpResponse:
    page = selectors.page_get(request.workspace, page_id)
    variants = selectors.variants_of(page)
    wanted = request.GET.get("variant", "")
    variant = next((v for v in variants if str(v.pk) == wanted), variants[0])
    return _editor(request, page, variant)


@workspace_view("manage_forms")
@require_POST
def variant_save(request: HttpRequest, page_id: int, variant_id: int) -> HttpResponse:
    """Save the variant's blocks and share, after the posted operation (add a block, move one
    up or down, remove one); a refused save shows the errors beside their inputs (422)."""
    page = selectors.page_get(request.workspace, page_id)
    variant = selectors.variant_get(request.workspace, page.pk, variant_id)
    blocks = _posted_blocks(request)
    refused: list[FieldError] = []
    for index, block in enumerate(blocks):
        if "image_id" not in BLOCK_KINDS.get(block["type"], {}):
            continue
        try:
            uploaded = _uploaded(request, f"b{index}-image_file", f"blocks[{index}].image_id")
        except ValidationFailed as failure:
            refused += failure.errors
            continue
        if uploaded:  # the uploaded image replaces an address
            block.update(image_id=uploaded, image_url=None, image_width=None, image_height=None)
    if refused:
        return _blocks_refused(request, page, variant, blocks, ValidationFailed(refused))
    operation = request.POST.get("op", "save")
    kind, _, where = operation.partition("-")
    if kind == "add" and request.POST.get("add_type") in BLOCK_KINDS:
        blocks.append(block_new(request.POST["add_type"]))
    elif kind in {"up", "down", "remove"} and where.isdigit() and int(where) < len(blocks):
        index = int(where)
        if kind == "remove":
            blocks.pop(index)
        else:
            other = index - 1 if kind == "up" else index + 1
            if 0 <= other < len(blocks):
                blocks[index], blocks[other] = blocks[other], blocks[index]
    data: dict[str, Any] = {"blocks": blocks}
    try:
        data["weight"] = int(request.POST.get("weight", variant.weight))
    except ValueError:
        data["weight"] = request.POST.get("weight")
    try:
        services.variant_update(
            workspace=request.workspace,
            page_id=page.pk,
            variant_id=variant.pk,
            data=data,
            actor=request.actor,
        )
    except ValidationFailed as failure:
        return _blocks_refused(request, page, variant, blocks, failure)
    if kind == "save":
        messages.success(request, f"Saved variant {variant.label}. Publish to show it to visitors.")
    url = reverse("page_editor", args=[request.workspace.slug, page.pk]) + f"?variant={variant.pk}"
    return redirect(url + (f"#block-{len(blocks) - 1}" if kind == "add" else ""))


def _blocks_refused(
    request: HttpRequest, page: Page, variant: Variant, blocks: list, failure: ValidationFailed
) -> HttpResponse:
    """The editor again with the posted blocks, each error beside its input (422)."""
    by_block, other = _errors_by_block(failure)
    return _editor(
        request,
        page,
        variant,
        blocks=blocks,
        block_errors=by_block,
        other_errors=other,
        status=422,
    )


@workspace_view("manage_forms")
@require_POST
def variant_preview(request: HttpRequest, page_id: int, variant_id: int) -> HttpResponse:
    """The posted (unsaved) blocks as visitors would see them, for the preview frame."""
    page = selectors.page_get(request.workspace, page_id)
    variant = selectors.variant_get(request.workspace, page.pk, variant_id)
    try:
        blocks = _posted_blocks(request)
    except ValidationFailed:
        blocks = variant.blocks
    html = _preview(request, page, Variant(pk=variant.pk, page=page, blocks=_safe(blocks)))
    response = HttpResponse(
        render_to_string("web/pages/_preview.html", {"preview_html": html}, request=request)
    )
    response["Cache-Control"] = "no-store"
    return response


@workspace_view("manage_forms")
@require_POST
def page_settings(request: HttpRequest, page_id: int) -> HttpResponse:
    page = selectors.page_get(request.workspace, page_id)
    data = {
        key: request.POST.get(key, "").strip()
        for key in (
            "name",
            "slug",
            "form_id",
            "seo_title",
            "seo_description",
            "social_image_url",
            "social_image_id",
            "min_sample",
            "confidence",
            "test_method",
        )
    }
    data["noindex"] = request.POST.get("noindex") == "on"
    try:
        uploaded = _uploaded(request, "social_image_file", "social_image_id")
        if uploaded:  # the uploaded image replaces an address
            data.update(social_image_id=uploaded, social_image_url="")
        services.page_update(
            workspace=request.workspace, page_id=page.pk, data=data, actor=request.actor
        )
    except ValidationFailed as failure:
        errors: dict[str, list[str]] = {}
        for error in failure.errors:
            errors.setdefault(error.field, []).append(error.message)
        for key in ("name", "slug", "seo_title", "seo_description", "social_image_url", "noindex"):
            setattr(page, key, data[key])
        return _editor(
            request, page, selectors.variants_of(page)[0], settings_errors=errors, status=422
        )
    messages.success(request, "Saved the page's settings. Publish to show them to visitors.")
    return redirect("page_editor", request.workspace.slug, page.pk)


@workspace_view("manage_forms", labels=PAGE_LABELS)
@require_POST
def page_action(request: HttpRequest, page_id: int, action: str) -> HttpResponse:
    """publish, unpublish, a new variant, a variant deleted, the winner set or cleared."""
    workspace, actor = request.workspace, request.actor
    page = selectors.page_get(workspace, page_id)
    target = reverse("page_editor", args=[workspace.slug, page.pk])
    if action == "publish":
        services.page_publish(
            workspace=workspace, page_id=page.pk, actor=actor, base_url=_base(request)
        )
        messages.success(request, "Published: visitors see this version now.")
    elif action == "unpublish":
        services.page_unpublish(workspace=workspace, page_id=page.pk, actor=actor)
        messages.success(request, "Unpublished: the address answers “not found”.")
    elif action == "variant-add":
        variant = services.variant_create(workspace=workspace, page_id=page.pk, actor=actor)
        messages.success(request, f"Added variant {variant.label}, a copy of the first.")
        target += f"?variant={variant.pk}"
    elif action == "variant-delete":
        services.variant_delete(
            workspace=workspace,
            page_id=page.pk,
            variant_id=_int(request.POST.get("variant_id")),
            actor=actor,
        )
        messages.success(request, "Deleted the variant.")
    elif action == "winner":
        raw = request.POST.get("variant_id", "")
        services.page_winner_set(
            workspace=workspace, page_id=page.pk, variant_id=_int(raw) if raw else None, actor=actor
        )
        messages.success(
            request, "All traffic goes to the winner now." if raw else "Traffic is split again."
        )
    elif action == "delete":
        services.page_delete(workspace=workspace, page_id=page.pk, actor=actor)
        messages.success(request, f"Deleted the page “{page.name}”.")
        return redirect("page_list", workspace.slug)
    else:
        return HttpResponse(status=404)
    return redirect(target)


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed([FieldError("variant_id", "Not a variant of this page.")]) from None
