"""Landing-page images in Chromium: a member uploads a hero image and a social image in the
page's editor, publishes, and a visitor on a phone (390 px) sees the image loaded, sized
(width and height, so nothing shifts) and within the screen; the library fits a phone and
passes axe."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from leadflow.capture.services import form_create
from leadflow.pages import services
from leadflow.pages.models import PageImage

# The browser tests' Chromium (it fails, never skips, when the browser is missing).
from tests.e2e.conftest import _orm_beside_playwright, browser, page  # noqa: F401
from tests.e2e.helpers import NO_SIDEWAYS_SCROLL, log_in, shoot
from tests.e2e.test_page_layout import AXE, AXE_RUN
from tests.pages.test_pages_e2e import CLS_OBSERVER, NO_SHIFT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _png(path, size, colour) -> str:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):  # a little detail, so it is a picture and not a fill
        image.paste((255, 255, 255), (x, 0, x + 8, size[1]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def test_an_image_uploaded_in_the_editor_is_shown_sized_on_the_published_page(
    page,  # noqa: F811 - the fixture imported above
    live_server,
    workspace,
    owner,
    owner_actor,
    tmp_path,
):
    form = form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Guide request",
            "fields": [{"name": "email", "type": "email", "label": "Email", "required": True}],
        },
    )
    landing = services.page_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Spring guide", "slug": "spring-guide", "form_id": form.pk},
    )
    page.context.add_init_script(path=str(AXE))
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/pages/{landing.pk}/")
    hero_file = _png(tmp_path / "spring-hero.png", (1200, 800), (34, 102, 68))
    page.set_input_files("#b0-image_file", hero_file)
    page.get_by_label("Image description (alt text; empty for a decorative image)").fill(
        "The spring planning guide, open on a desk"
    )
    page.get_by_role("button", name="Save variant A").click()
    expect(page.get_by_text("Saved variant A.")).to_be_visible()
    hero = PageImage.objects.get(workspace=workspace, name="spring-hero.png")
    expect(page.locator("#b0-image_id")).to_have_value(str(hero.pk))
    # The preview shows it too (linked absolutely: the frame has the editor's address).
    frame = page.frame_locator("#page-preview")
    expect(frame.locator("img")).to_have_attribute("width", "1200")
    shoot(page, "page-editor-image", 1440)
    page.set_input_files(
        "#social_image_file", _png(tmp_path / "share.png", (1200, 630), (9, 9, 99))
    )
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved the page's settings.")).to_be_visible()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("Published: visitors see this version now.")).to_be_visible()

    # The library lists both, with the page that shows them; it fits a phone and passes axe.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/w/{workspace.slug}/pages/images/")
    library = page.get_by_role("list", name="Uploaded images")
    expect(library.get_by_role("listitem")).to_have_count(2)
    expect(library.get_by_role("link", name="Spring guide").first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL) <= 0
    assert page.evaluate(AXE_RUN) == []
    shoot(page, "page-images", 390)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.reload()
    assert page.evaluate(AXE_RUN) == []
    shoot(page, "page-images", 1440)

    # A visitor on a phone: the image loads, carries its size, fits, and nothing shifts.
    visitor = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    visitor.add_init_script(CLS_OBSERVER)
    tab = visitor.new_page()
    try:
        tab.goto(f"{live_server.url}/lp/{workspace.slug}/spring-guide/")
        image = tab.get_by_role("img", name="The spring planning guide, open on a desk")
        expect(image).to_be_visible()
        tab.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth)")
        assert image.get_attribute("width") == "1200" and image.get_attribute("height") == "800"
        assert image.get_attribute("decoding") == "async"
        assert re.fullmatch(r"\.\./images/[0-9a-f]{64}\.png", image.get_attribute("src"))
        assert tab.evaluate("document.images[0].naturalWidth") == 1200
        box = image.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert abs(box["width"] / box["height"] - 1.5) < 0.02  # drawn in its own proportions
        assert tab.evaluate(NO_SIDEWAYS_SCROLL) <= 0
        assert tab.evaluate(NO_SHIFT) is True
        og = tab.locator('meta[property="og:image:width"]')
        assert og.get_attribute("content") == "1200"
        shoot(tab, "landing-page-image", 390)
        tab.set_viewport_size({"width": 1440, "height": 900})
        shoot(tab, "landing-page-image", 1440)
    finally:
        visitor.close()
    assert page.javascript_errors == []
