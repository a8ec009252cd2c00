"""The landing pages' image library in the app: the workspace's uploaded images (with their
size, description and the published pages that show them), upload, the default description,
delete (refused, naming the pages, while a published page shows the image).

Every member sees the library; uploading, changing and deleting need ``manage_forms`` (as
pages do). Image ids are looked up inside the current workspace (another workspace's id
answers 404). Writes go through ``pages.images``.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.pages import images, selectors
from leadflow.pages.images import ACCEPT
from leadflow.web.access import workspace_view
from leadflow.web.views.common import render_page

SECTION = {"section": "pages"}


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def image_library(request: HttpRequest) -> HttpResponse:
    """The library; POST uploads an image (manage_forms)."""
    workspace = request.workspace
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not request.membership.can("manage_forms"):
            return HttpResponse(status=403)
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed([FieldError("file", "Choose an image to upload.")])
            image, new = images.image_upload(
                workspace=workspace,
                upload=upload,
                alt=request.POST.get("alt", ""),
                actor=request.actor,
            )
        except ValidationFailed as failure:
            status = 422
            for error in failure.errors:
                errors.setdefault(error.field, []).append(error.message)
        else:
            messages.success(
                request,
                f"Uploaded “{image.name}” ({image.width} × {image.height})."
                if new
                else f"This image is in the library already, as “{image.name}”.",
            )
            return redirect("page_images", workspace.slug)
    context = {
        **SECTION,
        "images": list(selectors.image_list(workspace)),
        "errors": errors,
        "alt": request.POST.get("alt", ""),
        "accept": ACCEPT,
        "size_limit": images.size_limit(),
    }
    return render_page(request, "web/pages/images.html", context, status=status)


@workspace_view("manage_forms")
@require_POST
def image_save(request: HttpRequest, image_id: int) -> HttpResponse:
    image = images.image_update(
        workspace=request.workspace,
        image_id=image_id,
        alt=request.POST.get("alt", ""),
        actor=request.actor,
    )
    messages.success(request, f"Saved the description of “{image.name}”.")
    return redirect("page_images", request.workspace.slug)


@workspace_view("manage_forms")
@require_POST
def image_delete(request: HttpRequest, image_id: int) -> HttpResponse:
    """Delete an image; while a published page shows it, say which, back on the library."""
    image = selectors.image_get(request.workspace, image_id)
    try:
        images.image_delete(workspace=request.workspace, image_id=image.pk, actor=request.actor)
    except Conflict as refused:
        messages.error(request, refused.detail)
    else:
        messages.success(request, f"Deleted “{image.name}”.")
    return redirect("page_images", request.workspace.slug)
