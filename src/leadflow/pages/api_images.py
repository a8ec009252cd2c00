"""REST endpoints for the landing pages' image library (/api/v1/pages/images): list,
upload (multipart), the default description, delete. The forms scopes grant them, as for
pages. Registered before the pages' router, so ``/pages/images`` is not read as a page id."""

import datetime as dt

from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from leadflow.core.apikit import StrictSchema, require_scope
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import ApiScope
from leadflow.pages import images, selectors, services
from leadflow.pages.models import PageImage
from leadflow.pages.render import image_path

router = Router(tags=["pages"])
READ, WRITE = ApiScope.FORMS_READ, ApiScope.FORMS_WRITE


class PageImageOut(Schema):
    id: int
    name: str = Field(description="The uploaded file's name")
    url: str = Field(description="Its public address (cached for a year: the name is a hash)")
    content_type: str
    width: int
    height: int
    bytes: int
    alt: str = Field(description="The description blocks use when they give none")
    uploaded_by: str | None = Field(description="The member's email")
    created_at: dt.datetime
    published_on: list[int] = Field(description="Ids of the published pages that show it")


class PageImageIn(StrictSchema):
    alt: str = Field(description="The default description (at most 200 characters)")


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _image_out(request, image: PageImage, published_on: list[int] | None = None) -> dict:
    path = image_path(image.workspace.slug, image)
    return {
        "id": image.pk,
        "name": image.name,
        "url": services.base_url_for(_base(request)) + path,
        "content_type": image.content_type,
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "alt": image.alt,
        "uploaded_by": image.uploaded_by.email if image.uploaded_by else None,
        "created_at": image.created_at,
        "published_on": published_on
        if published_on is not None
        else [published.page_id for published in image.published_on.all()],
    }


@router.get("/pages/images", response=list[PageImageOut], summary="List the page images")
def image_list(request):
    """The workspace's uploaded images, newest first, with the published pages showing each."""
    workspace, _ = require_scope(request, READ)
    return [_image_out(request, image) for image in selectors.image_list(workspace)]


@router.post(
    "/pages/images", response={200: PageImageOut, 201: PageImageOut}, summary="Upload an image"
)
def image_upload(request, file: File[UploadedFile], alt: Form[str] = ""):
    """Multipart ``file``: a PNG, JPEG, WebP or GIF (judged by its content, not its name; no
    SVG) of at most LEADFLOW_PAGE_IMAGE_MAX_BYTES (5 MB) and
    LEADFLOW_PAGE_IMAGE_MAX_PIXELS (40 million pixels); optional ``alt``. It is stored
    re-encoded, without its metadata (EXIF). 201 a new image; 200 when the workspace has
    this image already (the same row)."""
    workspace, actor = require_scope(request, WRITE)
    unknown = sorted(set(request.POST) - {"alt"}) + sorted(set(request.FILES) - {"file"})
    if unknown:
        raise ValidationFailed([FieldError(name, "Unknown field.") for name in unknown])
    image, new = images.image_upload(workspace=workspace, upload=file, alt=alt, actor=actor)
    image.workspace = workspace
    return Status(201 if new else 200, _image_out(request, image))


@router.patch("/pages/images/{image_id}", response=PageImageOut, summary="Change an image")
def image_patch(request, image_id: int, payload: PageImageIn):
    workspace, actor = require_scope(request, WRITE)
    images.image_update(workspace=workspace, image_id=image_id, alt=payload.alt, actor=actor)
    image = selectors.image_list(workspace).get(pk=image_id)
    return _image_out(request, image)


@router.delete("/pages/images/{image_id}", response={204: None}, summary="Delete an image")
def image_delete(request, image_id: int):
    """409 (``image_in_use``) naming the published pages that show it."""
    workspace, actor = require_scope(request, WRITE)
    images.image_delete(workspace=workspace, image_id=image_id, actor=actor)
    return Status(204, None)
