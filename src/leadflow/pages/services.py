"""Writes of landing pages: pages and their settings, variants and their blocks, publishing
(rendered once, stored, served as stored), the winner, the brand, and a submission made on
a page (capture's one path, with the page and variant recorded in the same transaction).
Every change of a member writes its audit entry in its transaction. Uploaded images are
``pages.images``; here an image id is checked to be the workspace's wherever it is chosen."""

import re
import string
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.capture import services as capture_services
from leadflow.capture.models import Form, FormStatus, SubmissionStatus
from leadflow.core import cache
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.stats import METHODS
from leadflow.pages import selectors
from leadflow.pages.blocks import STARTERS, blocks_clean, image_ids, url_clean
from leadflow.pages.models import Brand, Conversion, Page, PageImage, Published, Variant
from leadflow.pages.render import page_html, page_images

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
TEXT_LIMITS = {"name": 200, "seo_title": 200, "seo_description": 300}
PAGE_SETTINGS = (
    "name",
    "slug",
    "form_id",
    "seo_title",
    "seo_description",
    "social_image_url",
    "social_image_id",
    "noindex",
    "min_sample",
    "confidence",
    "test_method",
)
NO_SUCH_IMAGE = "No such image in this workspace's library."


def _image_of(workspace: Workspace, raw: Any, field: str, errors: list[FieldError]):
    """The workspace's image with the id ``raw`` (None for none); else an error on ``field``."""
    if raw in (None, ""):
        return None
    try:
        image = PageImage.objects.filter(workspace=workspace, pk=int(raw)).first()
    except (TypeError, ValueError, OverflowError):
        image = None
    if image is None or isinstance(raw, bool):
        errors.append(FieldError(field, NO_SUCH_IMAGE))
    return image


def _settings_clean(workspace: Workspace, data: dict[str, Any], page: Page | None) -> dict:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in data:
        if key not in PAGE_SETTINGS:
            errors.append(FieldError(key, "Unknown setting."))
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                errors.append(FieldError(key, "Must be text."))
            elif len(value) > limit:
                errors.append(FieldError(key, f"At most {limit} characters."))
            else:
                clean[key] = value.strip()
    if "name" in clean and not clean["name"]:
        errors.append(FieldError("name", "A page needs a name."))
    if "slug" in data:
        slug = str(data["slug"] or "").strip().lower()
        if not SLUG.match(slug):
            errors.append(
                FieldError("slug", "Lower-case letters, digits and hyphens (at most 80).")
            )
        elif (
            Page.objects.filter(workspace=workspace, slug=slug)
            .exclude(pk=page.pk if page else None)
            .exists()
        ):
            errors.append(FieldError("slug", "Another page of this workspace has this address."))
        else:
            clean["slug"] = slug
    if "form_id" in data:
        form_id = data["form_id"]
        if form_id in (None, ""):
            clean["form"] = None
        else:
            try:
                form = Form.objects.filter(workspace=workspace, pk=int(form_id)).first()
            except (TypeError, ValueError, OverflowError):
                form = None
            if form is None:
                errors.append(FieldError("form_id", "No such form in this workspace."))
            else:
                clean["form"] = form
    if "social_image_url" in data:
        url = str(data["social_image_url"] or "").strip()
        if url and url_clean(url) is None:
            errors.append(FieldError("social_image_url", "An http:// or https:// address."))
        else:
            clean["social_image_url"] = url
    if "social_image_id" in data:
        clean["social_image"] = _image_of(
            workspace, data["social_image_id"], "social_image_id", errors
        )
    if "noindex" in data:
        if not isinstance(data["noindex"], bool):
            errors.append(FieldError("noindex", "true or false."))
        else:
            clean["noindex"] = data["noindex"]
    if "min_sample" in data:
        try:
            number = int(data["min_sample"])
            if not 10 <= number <= 1_000_000:
                raise ValueError
            clean["min_sample"] = number
        except (TypeError, ValueError, OverflowError):
            errors.append(FieldError("min_sample", "A whole number from 10 to 1000000."))
    if "confidence" in data:
        try:
            level = float(data["confidence"])
            if level not in (0.9, 0.95, 0.99):
                raise ValueError
            clean["confidence"] = level
        except (TypeError, ValueError, OverflowError):
            errors.append(FieldError("confidence", "0.9, 0.95 or 0.99."))
    if "test_method" in data:
        if data["test_method"] not in METHODS:
            errors.append(FieldError("test_method", "z_test or bayesian."))
        else:
            clean["test_method"] = data["test_method"]
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def page_create(
    *, workspace: Workspace, data: dict[str, Any], actor: Actor, starter: str = "lead-magnet"
) -> Page:
    """A page with variant A made from a starting template (``blocks.STARTERS``)."""
    errors = []
    if starter not in STARTERS:
        errors.append(FieldError("starter", "One of " + ", ".join(STARTERS) + "."))
    for key in ("name", "slug"):
        if not str(data.get(key) or "").strip():
            errors.append(FieldError(key, "Required."))
    try:
        clean = _settings_clean(workspace, data, None)
    except ValidationFailed as failure:
        errors += [error for error in failure.errors if error not in errors]
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            page = Page.objects.create(workspace=workspace, **clean)
    except IntegrityError:  # the same slug taken at the same moment
        raise ValidationFailed(
            [FieldError("slug", "Another page of this workspace has this address.")]
        ) from None
    Variant.objects.create(
        workspace=workspace, page=page, label="A", blocks=blocks_clean(STARTERS[starter][1])
    )
    audit_record(workspace=workspace, actor=actor, action="page.created", obj=page)
    return page


def _page_locked(workspace: Workspace, page_id: int) -> Page:
    page = Page.objects.select_for_update().filter(workspace=workspace, pk=page_id).first()
    if page is None:
        raise NotFound("No such page.")
    return page


@transaction.atomic
def page_update(*, workspace: Workspace, page_id: int, data: dict[str, Any], actor: Actor) -> Page:
    """Change a page's settings; visitors see them from the next publish."""
    page = _page_locked(workspace, page_id)
    clean = _settings_clean(workspace, data, page)
    for key, value in clean.items():
        setattr(page, key, value)
    page.updated_at = timezone.now()
    page.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="page.updated",
        obj=page,
        changes={key: "changed" for key in clean},
    )
    return page


@transaction.atomic
def page_delete(*, workspace: Workspace, page_id: int, actor: Actor) -> None:
    page = _page_locked(workspace, page_id)
    audit_record(workspace=workspace, actor=actor, action="page.deleted", obj=page)
    path = f"{workspace.slug}/{page.slug}"
    page.delete()
    transaction.on_commit(lambda: cache.forget("page", path))


@transaction.atomic
def variant_create(
    *, workspace: Workspace, page_id: int, actor: Actor, copy_of: int | None = None
) -> Variant:
    """A new variant (the next letter), a copy of ``copy_of`` or of the first variant."""
    page = _page_locked(workspace, page_id)
    variants = selectors.variants_of(page)
    used = {v.label for v in variants}
    free = [letter for letter in string.ascii_uppercase if letter not in used]
    if not free:
        raise Conflict("A page has at most 26 variants.")
    source = next((v for v in variants if v.pk == copy_of), variants[0] if variants else None)
    if copy_of is not None and (source is None or source.pk != copy_of):
        raise ValidationFailed([FieldError("copy_of", "No such variant of this page.")])
    variant = Variant.objects.create(
        workspace=workspace,
        page=page,
        label=free[0],
        blocks=source.blocks if source else [],
        weight=source.weight if source else 50,
    )
    page.updated_at = timezone.now()
    page.save(update_fields=["updated_at"])
    audit_record(workspace=workspace, actor=actor, action="page.variant_created", obj=page)
    return variant


@transaction.atomic
def variant_update(
    *, workspace: Workspace, page_id: int, variant_id: int, data: dict[str, Any], actor: Actor
) -> Variant:
    """Change a variant's blocks and/or its share of the traffic (0-100)."""
    page = _page_locked(workspace, page_id)
    variant = selectors.variant_get(workspace, page.pk, variant_id)
    errors = [
        FieldError(key, "Unknown setting.") for key in data if key not in {"blocks", "weight"}
    ]
    if "weight" in data:
        weight = data["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            errors.append(FieldError("weight", "A whole number from 0 to 100."))
        else:
            variant.weight = weight
    if "blocks" in data:
        try:
            variant.blocks = blocks_clean(data["blocks"])
        except ValidationFailed as failure:
            errors += failure.errors
        else:
            chosen = image_ids(variant.blocks)
            known = set(
                PageImage.objects.filter(
                    workspace=workspace, pk__in={i for _, i in chosen}
                ).values_list("pk", flat=True)
            )
            errors += [
                FieldError(f"blocks[{index}].image_id", NO_SUCH_IMAGE)
                for index, image_id in chosen
                if image_id not in known
            ]
    if errors:
        raise ValidationFailed(errors)
    variant.save()
    page.updated_at = timezone.now()
    page.save(update_fields=["updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="page.variant_updated",
        obj=page,
        changes={key: "changed" for key in data},
    )
    return variant


@transaction.atomic
def variant_delete(*, workspace: Workspace, page_id: int, variant_id: int, actor: Actor) -> None:
    page = _page_locked(workspace, page_id)
    variant = selectors.variant_get(workspace, page.pk, variant_id)
    if Variant.objects.filter(page=page).count() == 1:
        raise Conflict("A page keeps at least one variant.")
    if page.winner_id == variant.pk:
        page.winner = None
    page.updated_at = timezone.now()
    page.save(update_fields=["winner", "updated_at"])
    variant.delete()
    audit_record(workspace=workspace, actor=actor, action="page.variant_deleted", obj=page)


def base_url_for(request_base: str = "") -> str:
    """Where the page's scripts come from: LEADFLOW_BASE_URL, else the publishing request's."""
    return (settings.LEADFLOW_BASE_URL or request_base).rstrip("/")


def _render_all(page: Page, base_url: str) -> tuple[list[dict[str, Any]], set[int]]:
    """Every variant's HTML, and the uploaded images they show."""
    variants = selectors.variants_of(page)
    brand = selectors.brand_get(page.workspace)
    if any(block["type"] == "form" for v in variants for block in v.blocks):
        if page.form is None:
            raise ValidationFailed([FieldError("form_id", "Choose the form its form block shows.")])
        if page.form.status != FormStatus.ACTIVE:
            raise ValidationFailed([FieldError("form_id", "This form is disabled.")])
    images = page_images(page, variants, brand)
    gone = [
        FieldError(
            f"blocks[{index}].image_id",
            f"Variant {v.label}, section {index + 1}: its image was deleted; choose another.",
        )
        for v in variants
        for index, image_id in image_ids(v.blocks)
        if image_id not in images
    ]
    if gone:
        raise ValidationFailed(gone)
    rendered = [
        {
            "id": v.pk,
            "weight": v.weight,
            "html": page_html(
                page=page,
                variant=v,
                form=page.form,
                brand=brand,
                base_url=base_url,
                tracker_key=page.workspace.public_key,
                images=images,
            ),
        }
        for v in variants
    ]
    return rendered, set(images)


@transaction.atomic
def page_publish(*, workspace: Workspace, page_id: int, actor: Actor, base_url: str) -> Page:
    """Render every variant once and store the HTML the public view serves as it is."""
    page = _page_locked(workspace, page_id)
    page.workspace = workspace
    rendered, shown_images = _render_all(page, base_url_for(base_url))
    if not any(v["weight"] for v in rendered) and page.winner_id is None:
        raise ValidationFailed([FieldError("weight", "At least one variant needs traffic.")])
    path = f"{workspace.slug}/{page.slug}"
    Published.objects.filter(page=page).exclude(path=path).delete()  # the slug changed
    published, _ = Published.objects.update_or_create(
        page=page,
        defaults={
            "path": path,
            "variants": rendered,
            "winner_id": page.winner_id,
            "form_key": page.form.key if page.form else "",
            "published_at": timezone.now(),
        },
    )
    published.images.set(shown_images)
    page.published_at = timezone.now()
    page.save(update_fields=["published_at"])
    audit_record(workspace=workspace, actor=actor, action="page.published", obj=page)
    transaction.on_commit(lambda: cache.forget_namespace("page"))
    return page


@transaction.atomic
def page_unpublish(*, workspace: Workspace, page_id: int, actor: Actor) -> Page:
    page = _page_locked(workspace, page_id)
    Published.objects.filter(page=page).delete()
    page.published_at = None
    page.save(update_fields=["published_at"])
    audit_record(workspace=workspace, actor=actor, action="page.unpublished", obj=page)
    transaction.on_commit(lambda: cache.forget_namespace("page"))
    return page


@transaction.atomic
def page_winner_set(
    *, workspace: Workspace, page_id: int, variant_id: int | None, actor: Actor
) -> Page:
    """Send all traffic to ``variant_id`` (None: split again); live at once when published."""
    page = _page_locked(workspace, page_id)
    if variant_id is not None:
        selectors.variant_get(workspace, page.pk, variant_id)
    page.winner_id = variant_id
    page.save(update_fields=["winner"])
    Published.objects.filter(page=page).update(winner_id=variant_id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="page.winner_set",
        obj=page,
        changes={"winner": str(variant_id or "")},
    )
    transaction.on_commit(lambda: cache.forget_namespace("page"))
    return page


BRAND_SETTINGS = (
    "primary_colour",
    "text_colour",
    "background_colour",
    "favicon_url",
    "favicon_image_id",
    "logo_url",
)


@transaction.atomic
def brand_update(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> Brand:
    """The workspace's colours and favicon (pages show them from their next publish)."""
    brand = selectors.brand_get(workspace)
    errors: list[FieldError] = []
    for key in data:
        if key not in BRAND_SETTINGS:
            errors.append(FieldError(key, "Unknown setting."))
        elif key == "favicon_image_id":
            brand.favicon_image = _image_of(workspace, data[key], key, errors)
        elif key.endswith("_colour"):
            if not isinstance(data[key], str) or not COLOUR.match(data[key]):
                errors.append(FieldError(key, "A colour as #rrggbb."))
            else:
                setattr(brand, key, data[key].lower())
        else:
            url = str(data[key] or "").strip()
            if url and url_clean(url) is None:
                errors.append(FieldError(key, "An http:// or https:// address."))
            else:
                setattr(brand, key, url)
    if errors:
        raise ValidationFailed(errors)
    brand.save()
    audit_record(workspace=workspace, actor=actor, action="pages.brand_updated")
    return brand


def page_submission_accept(
    *, form: Form, page_id: int, variant_id: int, data: capture_services.SubmissionInput
) -> capture_services.SubmissionOutcome:
    """A submission made on a landing page: capture's one path (``submission_accept``:
    anti-spam, validation, ``lead_receive``, the submission and consent rows, the follow-up
    task), and the page's conversion for the variant in the same transaction; a replayed
    retry or a held submission converts nothing."""
    with transaction.atomic():
        outcome = capture_services.submission_accept(form=form, data=data)
        if not outcome.replayed and _accepted(outcome):
            Conversion.objects.create(
                workspace_id=form.workspace_id,
                page_id=page_id,
                variant_id=variant_id,
                submission_id=outcome.submission.pk,
            )
    return outcome


def _accepted(outcome: capture_services.SubmissionOutcome) -> bool:
    status = outcome.submission.status
    # The fast path hands back the row by its id only: it stores accepted leads alone.
    return status in (SubmissionStatus.ACCEPTED, "")
