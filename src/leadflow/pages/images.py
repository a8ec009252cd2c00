"""Writes of the workspace's page images: upload (checked by decoding, re-encoded, stored
under its content hash), the default description, delete.

Guarantees:

- an accepted upload is a PNG, JPEG, WebP or GIF **by its content** (the name's extension
  counts for nothing), within LEADFLOW_PAGE_IMAGE_MAX_BYTES, and its canvas within
  LEADFLOW_PAGE_IMAGE_MAX_PIXELS, read from the header before a pixel is decoded (a
  decompression bomb is refused without being expanded; an animation's frames together
  within five times the limit, and at most 300 of them); SVG is refused (it can carry
  script);
- what is stored is the decoded pixels encoded again: EXIF (camera, place, time), text
  chunks, comments and anything appended to the file are gone; a photo's EXIF rotation is
  applied first so it stays upright;
- one row per content per workspace (a unique constraint): uploading the same image again
  answers the row it already has;
- an image that a published page shows (``Published.images``) is not deleted; the refusal
  names the pages.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from leadflow.core import cache
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.pages.models import PageImage, Published

# Pillow's format name: (content type, extension).
FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
ACCEPT = ",".join(content_type for content_type, _ in FORMATS.values())
MAX_FRAMES = 300  # an animation's frames (each one is decoded)
ANIMATION_BUDGET = 5  # an animation's frames together: at most 5 times the pixel limit
ALT_LIMIT = 200


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed: the bytes to store and what they are."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _refuse(message: str, field: str = "file") -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def size_limit() -> str:
    """The byte limit as a member reads it ("5 MB")."""
    limit = settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES
    if limit >= 1024 * 1024:
        return f"{round(limit / (1024 * 1024), 1):g} MB"
    return f"{round(limit / 1024)} KB"


def image_check(raw: bytes, name: str = "", *, field: str = "file") -> CheckedImage:
    """The image in ``raw``, checked and encoded again without metadata; else
    ValidationFailed naming ``field``."""
    if not raw:
        raise _refuse("The file is empty.", field)
    if len(raw) > settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES:
        raise _refuse(f"At most {size_limit()}.", field)
    head = raw[:1024].lstrip().lower()
    if name.lower().endswith((".svg", ".svgz")) or head.startswith((b"<?xml", b"<svg")):
        raise _refuse(
            "SVG is not accepted (it can carry script): use PNG, JPEG, WebP or GIF.", field
        )
    limit = settings.LEADFLOW_PAGE_IMAGE_MAX_PIXELS
    too_big = f"At most {limit:,} pixels; make it smaller."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
            width, height = image.size  # from the header: nothing is decoded yet
            kind = "JPEG" if image.format == "MPO" else image.format  # a phone's MPO: its JPEG
            frames = getattr(image, "n_frames", 1) if kind in {"GIF", "WEBP"} else 1
            if kind not in FORMATS:
                raise UnidentifiedImageError(kind)
            if (
                width * height > limit
                or frames > MAX_FRAMES
                or width * height * frames > ANIMATION_BUDGET * limit
            ):
                raise _refuse(
                    f"At most {limit:,} pixels (this one is {width} × {height}"
                    + (f" in {frames} frames" if frames > 1 else "")
                    + "); make it smaller.",
                    field,
                )
            content = _encoded(image, kind, frames)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(too_big, field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _refuse("Not a PNG, JPEG, WebP or GIF image (or it is damaged).", field) from None
    content_type, extension = FORMATS[kind]
    final = Image.open(io.BytesIO(content))
    return CheckedImage(content, content_type, extension, *final.size)


# What is kept of the original besides the pixels: colour and timing, no metadata.
KEPT_INFO = ("icc_profile", "transparency", "background", "duration", "loop")


def _bare(image: Image.Image) -> Image.Image:
    image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    return image


def _encoded(image: Image.Image, kind: str, frames: int) -> bytes:
    """The pixels in the same format again: every byte that is not the picture is dropped."""
    out = io.BytesIO()
    if frames > 1 and kind in {"GIF", "WEBP"}:
        image.load()
        _bare(image).save(out, format=kind, save_all=True)
        return out.getvalue()
    upright = _bare(ImageOps.exif_transpose(image))  # decodes (a damaged file fails here)
    if kind == "JPEG":
        if upright.mode not in {"RGB", "L", "CMYK"}:
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=88, optimize=True, progressive=True)
    elif kind == "WEBP":
        upright.save(out, format="WEBP", quality=88, method=4)
    elif kind == "GIF":
        upright.save(out, format="GIF")
    else:
        upright.save(out, format="PNG")
    return out.getvalue()


def _upload_read(upload: UploadedFile, field: str) -> bytes:
    if upload.size is not None and upload.size > settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES:
        raise _refuse(f"At most {size_limit()}.", field)
    upload.seek(0)
    return upload.read(settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES + 1)


def _display_name(raw_name: str, extension: str) -> str:
    base = (raw_name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = base.rsplit(".", 1)[0].strip()[:180] or "image"
    return f"{stem}.{extension}"


@transaction.atomic
def image_upload(
    *,
    workspace: Workspace,
    upload: UploadedFile,
    actor: Actor,
    alt: str = "",
    field: str = "file",
) -> tuple[PageImage, bool]:
    """Check, clean and store an uploaded image in the workspace's library; returns the row
    and whether it is new (the same content uploaded before answers its first row)."""
    if not isinstance(alt, str) or len(alt) > ALT_LIMIT:
        raise _refuse(f"Text of at most {ALT_LIMIT} characters.", "alt")
    checked = image_check(_upload_read(upload, field), upload.name or "", field=field)
    digest = hashlib.sha256(checked.content).hexdigest()
    existing = PageImage.objects.filter(workspace=workspace, digest=digest).first()
    if existing is not None:
        return existing, False
    image = PageImage(
        workspace=workspace,
        digest=digest,
        name=_display_name(upload.name or "", checked.extension),
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        bytes=len(checked.content),
        alt=alt.strip(),
        uploaded_by_id=actor.user_id,
    )
    stored_as = f"{workspace.pk}/{digest}.{checked.extension}"
    storage = image.file.storage
    if not storage.exists(stored_as):  # content-addressed: the same bytes are the same file
        stored_as = storage.save(stored_as, ContentFile(checked.content))
    image.file.name = stored_as
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:  # the same image uploaded at the same moment
        return PageImage.objects.get(workspace=workspace, digest=digest), False
    audit_record(workspace=workspace, actor=actor, action="page_image.uploaded", obj=image)
    return image, True


def _image_locked(workspace: Workspace, image_id: int) -> PageImage:
    image = PageImage.objects.select_for_update().filter(workspace=workspace, pk=image_id).first()
    if image is None:
        raise NotFound("No such image.")
    return image


@transaction.atomic
def image_update(*, workspace: Workspace, image_id: int, alt: str, actor: Actor) -> PageImage:
    """Change the image's default description (blocks without their own use it from their
    page's next publish)."""
    image = _image_locked(workspace, image_id)
    if not isinstance(alt, str) or len(alt) > ALT_LIMIT:
        raise _refuse(f"Text of at most {ALT_LIMIT} characters.", "alt")
    image.alt = alt.strip()
    image.save(update_fields=["alt"])
    audit_record(workspace=workspace, actor=actor, action="page_image.updated", obj=image)
    return image


@transaction.atomic
def image_delete(*, workspace: Workspace, image_id: int, actor: Actor) -> None:
    """Delete an image no published page shows (409 naming the pages that do). Drafts that
    chose it lose it: their next publish asks for another image."""
    image = _image_locked(workspace, image_id)
    using = sorted(
        Published.objects.filter(images=image, page__workspace=workspace).values_list(
            "page__name", flat=True
        )
    )
    if using:
        raise Conflict(
            "Published pages show this image: "
            + ", ".join(f"“{name}”" for name in using)
            + ". Choose another image there and publish, or unpublish them, first.",
            code="image_in_use",
        )
    audit_record(workspace=workspace, actor=actor, action="page_image.deleted", obj=image)
    stored, storage = image.file.name, image.file.storage
    served_as = (workspace.slug, image.file_name)
    image.delete()

    def forget() -> None:
        storage.delete(stored)
        cache.forget("page_image", served_as)  # this process stops serving it at once

    transaction.on_commit(forget)
