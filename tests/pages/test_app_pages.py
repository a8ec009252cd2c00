"""The landing pages in the app: roles, another workspace's ids, the block editor's
operations, field errors beside their inputs, the preview, publishing."""

from django.test import Client

from leadflow.pages.models import Page, Published, Variant
from tests.conftest import PASSWORD


def _login(email):
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def test_the_editor_saves_blocks_names_bad_ones_previews_and_publishes(
    workspace, other_workspace, make_member, page_form
):
    marketer = _login(make_member("marketer").user.email)
    base = f"/w/{workspace.slug}/pages/"
    created = marketer.post(
        base, {"name": "Guide", "slug": "guide", "starter": "blank", "form_id": page_form.pk}
    )
    page = Page.objects.get(workspace=workspace)
    assert created.status_code == 302 and created["Location"] == f"{base}{page.pk}/"
    variant = Variant.objects.get(page=page)
    editor = marketer.get(f"{base}{page.pk}/")
    assert editor.status_code == 200 and 'srcdoc="' in editor.text
    post = {
        "block_count": "2",
        "b0-type": "hero",
        "b0-heading": "Fresh <b>guide</b>",
        "b1-type": "faq",
        "b1-items": "Is it free? | Yes.\nWho wrote it? | Our team.",
        "weight": "50",
    }
    bad = marketer.post(
        f"{base}{page.pk}/variants/{variant.pk}/", {**post, "b0-image_url": "ftp://x"}
    )
    assert bad.status_code == 422 and 'id="b0-image_url-error"' in bad.text
    saved = marketer.post(
        f"{base}{page.pk}/variants/{variant.pk}/", {**post, "op": "add", "add_type": "form"}
    )
    assert saved.status_code == 302
    variant.refresh_from_db()
    assert [b["type"] for b in variant.blocks] == ["hero", "faq", "form"]
    assert variant.blocks[1]["items"][1] == {"question": "Who wrote it?", "answer": "Our team."}
    preview = marketer.post(
        f"{base}{page.pk}/variants/{variant.pk}/preview", post, headers={"HX-Request": "true"}
    )
    assert "Fresh &amp;lt;b&amp;gt;guide" in preview.text and "<b>guide" not in preview.text
    assert marketer.post(f"{base}{page.pk}/publish/").status_code == 302
    assert Published.objects.filter(page=page).exists()
    # A viewer reads but cannot change; another workspace's member sees nothing.
    viewer = _login(make_member("viewer").user.email)
    assert viewer.get(f"{base}{page.pk}/").status_code == 200
    assert viewer.post(f"{base}{page.pk}/unpublish/").status_code == 403
    assert viewer.post(base, {"name": "X", "slug": "x"}).status_code == 403
    other = Client()
    assert other.login(username="owner@other-co.com", password=PASSWORD)
    assert other.get(f"/w/{other_workspace.slug}/pages/{page.pk}/").status_code == 404
    assert other.post(f"/w/{other_workspace.slug}/pages/{page.pk}/unpublish/").status_code == 404
    assert Published.objects.filter(page=page).exists()


def test_the_list_reads_a_fixed_number_of_queries(
    workspace, owner_actor, page_form, django_assert_max_num_queries
):
    from leadflow.pages import services

    for number in range(6):
        page = services.page_create(
            workspace=workspace,
            actor=owner_actor,
            data={"name": f"P{number}", "slug": f"p{number}"},
        )
        services.variant_create(workspace=workspace, page_id=page.pk, actor=owner_actor)
    client = _login("owner@acme-widgets.com")
    client.get(f"/w/{workspace.slug}/pages/")
    with django_assert_max_num_queries(12):
        listed = client.get(f"/w/{workspace.slug}/pages/")
    assert listed.text.count("/lp/acme-widgets/p") == 6


def test_a_refused_publish_names_the_field_by_its_label(workspace, make_member):
    """A page with a form block but no form: the flash says "Form: …" as the editor labels
    the setting, never the code's ``form_id``; the API keeps the name for integrators."""
    marketer = _login(make_member("marketer").user.email)
    base = f"/w/{workspace.slug}/pages/"
    marketer.post(base, {"name": "Guide", "slug": "guide", "starter": "lead-magnet"})
    page = Page.objects.get(workspace=workspace)
    editor = f"http://testserver{base}{page.pk}/"
    refused = marketer.post(f"{base}{page.pk}/publish/", headers={"Referer": editor}, follow=True)
    assert refused.redirect_chain == [(editor, 302)]
    text = refused.content.decode()
    assert "Form: Choose the form its form block shows." in text
    assert "form_id:" not in text
    assert not Published.objects.filter(page=page).exists()


def test_refusals_in_the_flash_read_as_labels():
    from leadflow.core.errors import FieldError, ValidationFailed
    from leadflow.web.forms import error_text
    from leadflow.web.views.pages import PAGE_LABELS

    failure = ValidationFailed(
        [
            FieldError("weight", "At least one variant needs traffic."),
            FieldError("__all__", "Try again."),
            FieldError("primary_colour", "A colour as #rrggbb."),
        ]
    )
    assert error_text(failure, PAGE_LABELS) == (
        "Share of visitors: At least one variant needs traffic. Try again. "
        "Primary colour: A colour as #rrggbb."
    )
