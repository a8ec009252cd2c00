"""Landing-page images: an upload is judged by decoding it (its name counts for nothing),
bounded in bytes and pixels, cleaned of its metadata and stored under its content hash;
published pages show it sized and served with a year's cache; an image a published page
shows is not deleted; every id is the workspace's own."""

import io
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.pages import images, services
from leadflow.pages.models import PageImage, Published, Variant, image_storage
from tests.conftest import PASSWORD


def picture(kind: str = "PNG", size=(64, 48), **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(out, format=kind, **options)
    return out.getvalue()


def photo_with_exif() -> bytes:
    """A JPEG as a phone takes it: camera, place and a rotation (6: turn 90° clockwise)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    return picture("JPEG", (80, 40), exif=exif.tobytes(), comment=b"shot at home")


def bomb(side: int = 15000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (225 million): about 27 KB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = zlib.compress(b"\x00" * ((1 + (side + 7) // 8) * side), 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def upload(workspace, actor, body: bytes, name: str = "hero.png", **kwargs):
    return images.image_upload(
        workspace=workspace, upload=SimpleUploadedFile(name, body), actor=actor, **kwargs
    )


def stored_bytes(image: PageImage) -> bytes:
    with image_storage().open(image.file.name, "rb") as handle:
        return handle.read()


def test_an_upload_is_judged_by_its_content_cleaned_of_its_metadata_and_sized(
    workspace, owner_actor
):
    photo, new = upload(workspace, owner_actor, photo_with_exif(), "beach.jpg", alt="A beach")
    assert new and photo.content_type == "image/jpeg" and photo.name == "beach.jpg"
    # Turned upright by its EXIF rotation, then the EXIF, the place and the comment dropped.
    assert (photo.width, photo.height) == (40, 80)
    kept = stored_bytes(photo)
    assert b"PhoneMaker" not in kept and b"shot at home" not in kept
    assert not Image.open(io.BytesIO(kept)).getexif()
    assert photo.bytes == len(kept) and photo.alt == "A beach"
    assert photo.file.name == f"{workspace.pk}/{photo.digest}.jpg"
    # A PNG called .jpg is a PNG; anything appended after its end is gone.
    disguised, _ = upload(workspace, owner_actor, picture("PNG") + b"<script>x</script>", "a.jpg")
    assert disguised.content_type == "image/png" and disguised.name == "a.png"
    assert disguised.file.name.endswith(".png") and b"<script>" not in stored_bytes(disguised)
    assert (disguised.width, disguised.height) == (64, 48)
    # WebP and an animated GIF (its frames and timing kept).
    assert upload(workspace, owner_actor, picture("WEBP"), "x.webp")[0].content_type == (
        "image/webp"
    )
    frames = [Image.new("RGB", (20, 20), (80 * n, 0, 0)) for n in range(3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=120)
    gif, _ = upload(workspace, owner_actor, out.getvalue(), "spin.gif")
    assert Image.open(io.BytesIO(stored_bytes(gif))).n_frames == 3
    # A phone's multi-picture JPEG (MPO) is kept as the JPEG of its first picture.
    out = io.BytesIO()
    frames[0].save(out, format="MPO", save_all=True, append_images=frames[1:])
    mpo, _ = upload(workspace, owner_actor, out.getvalue(), "IMG_0001.JPG")
    assert mpo.content_type == "image/jpeg" and mpo.name == "IMG_0001.jpg"
    assert Image.open(io.BytesIO(stored_bytes(mpo))).format == "JPEG"
    # The same image again is the same row (a retried upload stores nothing twice).
    again, new = upload(workspace, owner_actor, photo_with_exif(), "beach-copy.jpg")
    assert again.pk == photo.pk and not new
    assert PageImage.objects.filter(workspace=workspace).count() == 5


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("empty.png", b"", "empty"),
        ("notes.png", b"just some text", "Not a PNG, JPEG, WebP or GIF"),
        ("cut.png", picture("PNG", (400, 300))[:120], "Not a PNG, JPEG, WebP or GIF"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("logo.png", b"<?xml version='1.0'?><svg onload='alert(1)'/>", "SVG"),
        ("scan.bmp", picture("BMP"), "Not a PNG, JPEG, WebP or GIF"),
        ("bomb.png", bomb(), "pixels"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field_and_nothing_is_kept(
    workspace, owner_actor, name, body, message
):
    with pytest.raises(ValidationFailed) as refused:
        upload(workspace, owner_actor, body, name, field="blocks[0].image_id")
    assert [e.field for e in refused.value.errors] == ["blocks[0].image_id"]
    assert message in refused.value.errors[0].message
    assert not PageImage.objects.exists()


def test_the_byte_and_pixel_limits_hold(workspace, owner_actor, settings):
    settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES = 2000
    with pytest.raises(ValidationFailed, match="file") as refused:
        upload(workspace, owner_actor, picture("PNG", (800, 800)) + b"\x00" * 3000)
    assert "At most 2 KB" in refused.value.errors[0].message
    settings.LEADFLOW_PAGE_IMAGE_MAX_BYTES = 5 * 1024 * 1024
    settings.LEADFLOW_PAGE_IMAGE_MAX_PIXELS = 100 * 100
    with pytest.raises(ValidationFailed) as refused:
        upload(workspace, owner_actor, picture("PNG", (101, 100)))
    assert "101 × 100" in refused.value.errors[0].message
    assert upload(workspace, owner_actor, picture("PNG", (100, 100)))[1]
    with pytest.raises(ValidationFailed) as refused:
        upload(workspace, owner_actor, picture(), alt="x" * 201)
    assert refused.value.errors[0].field == "alt"


def _page(workspace, actor, page_form, slug="spring-guide"):
    return services.page_create(
        workspace=workspace,
        actor=actor,
        data={"name": "Spring guide", "slug": slug, "form_id": page_form.pk},
    )


def _blocks_set(workspace, actor, variant, blocks):
    return services.variant_update(
        workspace=workspace,
        page_id=variant.page_id,
        variant_id=variant.pk,
        data={"blocks": blocks},
        actor=actor,
    )


def test_another_workspaces_image_is_not_found_and_cannot_be_chosen(
    workspace, other_workspace, owner_actor, page_form
):
    theirs, _ = upload(other_workspace, owner_actor, picture())
    with pytest.raises(NotFound):
        images.image_delete(workspace=workspace, image_id=theirs.pk, actor=owner_actor)
    with pytest.raises(NotFound):
        images.image_update(workspace=workspace, image_id=theirs.pk, alt="x", actor=owner_actor)
    page = _page(workspace, owner_actor, page_form)
    variant = Variant.objects.get(page=page)
    hero = {**variant.blocks[0], "image_id": theirs.pk}
    with pytest.raises(ValidationFailed) as refused:
        _blocks_set(workspace, owner_actor, variant, [hero])
    assert [e.field for e in refused.value.errors] == ["blocks[0].image_id"]
    with pytest.raises(ValidationFailed, match="social_image_id"):
        services.page_update(
            workspace=workspace,
            page_id=page.pk,
            data={"social_image_id": theirs.pk},
            actor=owner_actor,
        )
    with pytest.raises(ValidationFailed, match="favicon_image_id"):
        services.brand_update(
            workspace=workspace, data={"favicon_image_id": theirs.pk}, actor=owner_actor
        )
    # Their image's address under this workspace's name answers nothing.
    assert Client().get(f"/lp/{workspace.slug}/images/{theirs.file_name}").status_code == 404


def test_a_published_page_shows_its_images_sized_and_keeps_them_from_being_deleted(
    workspace, owner_actor, page_form, django_capture_on_commit_callbacks
):
    hero_image, _ = upload(workspace, owner_actor, picture("PNG", (960, 640)), alt="The guide")
    lower, _ = upload(workspace, owner_actor, picture("JPEG", (600, 400)), "chart.jpg")
    social, _ = upload(workspace, owner_actor, picture("PNG", (1200, 630)), "share.png")
    icon, _ = upload(workspace, owner_actor, picture("PNG", (64, 64)), "icon.png")
    page = _page(workspace, owner_actor, page_form)
    variant = Variant.objects.get(page=page)
    blocks = [
        {**variant.blocks[0], "image_id": hero_image.pk},
        *variant.blocks[1:3],
        {"type": "hero", "heading": "Inside", "image_id": lower.pk, "image_alt": "A chart"},
    ]
    _blocks_set(workspace, owner_actor, variant, blocks)
    services.page_update(
        workspace=workspace, page_id=page.pk, data={"social_image_id": social.pk}, actor=owner_actor
    )
    services.brand_update(
        workspace=workspace, data={"favicon_image_id": icon.pk}, actor=owner_actor
    )
    services.page_publish(
        workspace=workspace, page_id=page.pk, actor=owner_actor, base_url="https://leads.example"
    )
    html = Client().get(f"/lp/{workspace.slug}/spring-guide/").text
    tags = re.findall(r"<img [^>]+>", html)
    assert len(tags) == 2
    # Relative to the page, so the same path works behind a customer's reverse proxy.
    assert f'src="../images/{hero_image.file_name}"' in tags[0]
    assert 'width="960" height="640"' in tags[0] and 'alt="The guide"' in tags[0]
    assert 'fetchpriority="high"' in tags[0] and "loading=" not in tags[0]
    assert 'loading="lazy"' in tags[1] and 'decoding="async"' in tags[1]
    assert 'width="600" height="400"' in tags[1] and 'alt="A chart"' in tags[1]
    social_url = f"https://leads.example/lp/{workspace.slug}/images/{social.file_name}"
    assert f'<meta property="og:image" content="{social_url}">' in html
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta property="og:image:height" content="630">' in html
    assert f'<link rel="icon" href="../images/{icon.file_name}" type="image/png">' in html
    assert set(Published.objects.get(page=page).images.values_list("pk", flat=True)) == {
        hero_image.pk,
        lower.pk,
        social.pk,
        icon.pk,
    }

    # The image itself: its bytes, a year's cache, revalidated by its hash.
    address = f"/lp/{workspace.slug}/images/{hero_image.file_name}"
    served = Client().get(address)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == stored_bytes(hero_image)
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    # Only ever an image: never sniffed as a document, never running script.
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert Client().get(address, headers={"If-None-Match": served["ETag"]}).status_code == 304
    assert Client().get(address.replace(".png", ".gif")).status_code == 404

    # Shown on a published page: not deleted, and the refusal names the page.
    with pytest.raises(Conflict, match="“Spring guide”"):
        images.image_delete(workspace=workspace, image_id=lower.pk, actor=owner_actor)
    services.page_unpublish(workspace=workspace, page_id=page.pk, actor=owner_actor)
    with django_capture_on_commit_callbacks(execute=True):
        images.image_delete(workspace=workspace, image_id=lower.pk, actor=owner_actor)
    assert not image_storage().exists(lower.file.name)
    assert Client().get(f"/lp/{workspace.slug}/images/{lower.file_name}").status_code == 404
    # The draft that chose it is told at its next publish.
    with pytest.raises(ValidationFailed) as refused:
        services.page_publish(
            workspace=workspace, page_id=page.pk, actor=owner_actor, base_url="http://x"
        )
    assert [e.field for e in refused.value.errors] == ["blocks[3].image_id"]
    assert "Variant A, section 4" in refused.value.errors[0].message


def test_an_address_and_an_uploaded_image_are_not_both_given(workspace, owner_actor, page_form):
    image, _ = upload(workspace, owner_actor, picture())
    page = _page(workspace, owner_actor, page_form)
    variant = Variant.objects.get(page=page)
    hero = {
        **variant.blocks[0],
        "image_id": image.pk,
        "image_url": "https://cdn.example/a.png",
        "image_width": 10,
        "image_height": 10,
    }
    with pytest.raises(ValidationFailed) as refused:
        _blocks_set(workspace, owner_actor, variant, [hero])
    assert [e.field for e in refused.value.errors] == ["blocks[0].image_url"]


# --- the API ---------------------------------------------------------------------------------


def _post_image(api, body: bytes, name: str = "hero.png", **fields):
    return api.client.post(
        "/api/v1/pages/images",
        {"file": SimpleUploadedFile(name, body), **fields},
        headers=api.headers,
    )


def test_the_api_uploads_lists_describes_and_deletes_images(
    api, other_api, workspace, owner_actor, page_form
):
    made = _post_image(api, picture("PNG", (300, 200)), "hero.jpg", alt="Our team")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["width"] == 300 and body["height"] == 200 and body["content_type"] == "image/png"
    assert re.fullmatch(
        rf"http://testserver/lp/{workspace.slug}/images/[0-9a-f]{{64}}\.png", body["url"]
    )
    assert body["alt"] == "Our team" and body["published_on"] == []
    assert _post_image(api, picture("PNG", (300, 200))).status_code == 200  # the same image
    bad = _post_image(api, b"<svg onload='alert(1)'/>", "x.svg")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file"
    assert _post_image(api, b"GIF89a broken").json()["errors"][0]["field"] == "file"
    stray = _post_image(api, picture(), extra="1")
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "extra"
    no_file = api.client.post("/api/v1/pages/images", {}, headers=api.headers)
    assert no_file.status_code == 422

    for n in range(3):
        _post_image(api, picture("PNG", (10 + n, 10)))
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/pages/images")
    assert listed.status_code == 200 and len(listed.json()) == 4
    few = len(queries)
    _post_image(api, picture("PNG", (99, 10)))
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get("/pages/images").json()) == 5
    assert len(queries) == few  # no query per image

    image_id = body["id"]
    assert api.patch(f"/pages/images/{image_id}", {"alt": "The team"}).json()["alt"] == "The team"
    assert api.patch(f"/pages/images/{image_id}", {"alt": "x" * 201}).status_code == 422
    # Another workspace's key finds nothing.
    assert other_api.get("/pages/images").json() == []
    assert other_api.delete(f"/pages/images/{image_id}").status_code == 404
    assert other_api.patch(f"/pages/images/{image_id}", {"alt": "x"}).status_code == 404

    page = api.post("/pages", {"name": "Team", "slug": "team", "form_id": page_form.pk}).json()
    assert (
        api.patch(f"/pages/{page['id']}", {"social_image_id": image_id}).json()["social_image_id"]
        == image_id
    )
    wrong = api.patch(f"/pages/{page['id']}", {"social_image_id": 10**9})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "social_image_id"
    assert api.post(f"/pages/{page['id']}/publish").status_code == 200
    assert api.get("/pages/images").json()[-1]["published_on"] == [page["id"]]
    in_use = api.delete(f"/pages/images/{image_id}")
    assert in_use.status_code == 409 and in_use.json()["code"] == "image_in_use"
    assert "“Team”" in in_use.json()["detail"]
    assert api.patch("/page-brand", {"favicon_image_id": image_id}).json()["favicon_image_id"] == (
        image_id
    )
    api.post(f"/pages/{page['id']}/unpublish")
    assert api.delete(f"/pages/images/{image_id}").status_code == 204
    assert api.get(f"/pages/{page['id']}").json()["social_image_id"] is None
    assert api.get("/page-brand").json()["favicon_image_id"] is None


# --- the app -----------------------------------------------------------------------------------


def _login(email):
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def test_the_library_and_the_editors_picker_upload_choose_and_refuse(
    workspace, other_workspace, owner_actor, make_member, page_form
):
    marketer = _login(make_member("marketer").user.email)
    library = f"/w/{workspace.slug}/pages/images/"
    made = marketer.post(
        library, {"file": SimpleUploadedFile("team.png", picture()), "alt": "The team"}
    )
    assert made.status_code == 302
    image = PageImage.objects.get(workspace=workspace)
    listed = marketer.get(library)
    assert listed.status_code == 200 and f"images/{image.file_name}" in listed.text
    assert 'width="64" height="48"' in listed.text
    bad = marketer.post(library, {"file": SimpleUploadedFile("x.svg", b"<svg/>")})
    assert bad.status_code == 422 and 'id="image-file-error"' in bad.text
    assert "SVG is not accepted" in bad.text
    # CSRF: a form posted from elsewhere is refused.
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(make_member("admin").user)
    assert guarded.post(library, {"alt": "x"}).status_code == 403

    page = _page(workspace, owner_actor, page_form)
    variant = Variant.objects.get(page=page)
    editor = marketer.get(f"/w/{workspace.slug}/pages/{page.pk}/")
    assert 'name="b0-image_id"' in editor.text and f'<option value="{image.pk}"' in editor.text
    assert 'hx-params="not b0-image_file"' in editor.text
    post = {"block_count": "1", "b0-type": "hero", "b0-heading": "Hello", "weight": "50"}
    save = f"/w/{workspace.slug}/pages/{page.pk}/variants/{variant.pk}/"
    refused = marketer.post(save, {**post, "b0-image_file": SimpleUploadedFile("a.png", b"no")})
    assert refused.status_code == 422 and 'id="b0-image_id-error"' in refused.text
    uploaded = marketer.post(
        save, {**post, "b0-image_file": SimpleUploadedFile("hero.png", picture("PNG", (90, 60)))}
    )
    assert uploaded.status_code == 302
    variant.refresh_from_db()
    hero_image = PageImage.objects.get(workspace=workspace, width=90)
    assert variant.blocks[0]["image_id"] == hero_image.pk
    chosen = marketer.post(save, {**post, "b0-image_id": str(image.pk)})
    assert chosen.status_code == 302
    variant.refresh_from_db()
    assert variant.blocks[0]["image_id"] == image.pk
    preview = marketer.post(f"{save}preview", {**post, "b0-image_id": str(image.pk)})
    assert f"http://testserver/lp/{workspace.slug}/images/{image.file_name}" in preview.text

    # Used by a published page: the delete is refused with the page named.
    assert marketer.post(f"/w/{workspace.slug}/pages/{page.pk}/publish/").status_code == 302
    refused = marketer.post(f"{library}{image.pk}/delete/", follow=True)
    assert "Published pages show this image: “Spring guide”" in refused.text
    assert PageImage.objects.filter(pk=image.pk).exists()
    assert marketer.post(f"{library}{hero_image.pk}/delete/").status_code == 302
    assert not PageImage.objects.filter(pk=hero_image.pk).exists()
    # A viewer sees the library but changes nothing; another workspace's id is not found.
    viewer = _login(make_member("viewer").user.email)
    assert viewer.get(library).status_code == 200
    assert viewer.post(library, {"file": SimpleUploadedFile("a.png", picture())}).status_code == (
        403
    )
    assert viewer.post(f"{library}{image.pk}/delete/").status_code == 403
    theirs, _ = upload(other_workspace, owner_actor, picture("PNG", (5, 5)))
    assert marketer.post(f"{library}{theirs.pk}/delete/").status_code == 404
    assert marketer.post(f"{library}{theirs.pk}/", {"alt": "x"}).status_code == 404
