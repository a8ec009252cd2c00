"""Marketing templates written three ways (blocks, MJML, HTML), compiled once on save:
block JSON checked field by field (each bad field named), the compiled email holds the
blocks' content and renders in the sandbox, rich text sanitised, the text part made on
save with link URLs; the preview as a contact (another workspace's contact is 404); the
test send received by a real SMTP server (aiosmtpd), labelled, audited and rate-limited."""

import pytest
from django.test import Client

from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import AuditEntry
from leadflow.nurture.models import MarketingTemplate
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services.rendering import CompiledTemplate, contact_fields
from leadflow.nurture.services.template_blocks import blocks_check
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db

BLOCKS = [
    {"type": "header", "text": "Spring at Acme", "logo_src": "https://acme.test/logo.png"},
    {
        "type": "text",
        "text": 'Hi {{ contact.first_name|default:"there" }},\n\nYour code: <b>{{ offer.code }}</b>'
        ' <a href="https://acme.test/spring" onclick="steal()">See the range</a>'
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
    },
    {"type": "image", "src": "https://acme.test/tulips.png", "alt": "Tulips", "href": ""},
    {"type": "button", "label": "Shop now", "href": "https://acme.test/shop"},
    {
        "type": "columns",
        "columns": [
            [{"type": "text", "text": "Left side"}],
            [{"type": "button", "label": "Right button", "href": "https://acme.test/r"}],
        ],
    },
    {"type": "divider"},
    {"type": "spacer", "height": 32},
    {"type": "footer", "text": "Acme Widgets, 1 Main Street", "unsubscribe_label": "Leave"},
]


def _create(workspace, **data):
    return email_settings.template_create(
        workspace=workspace, data={"name": "Spring", "subject": "Spring news", **data}
    )


def test_blocks_compile_once_to_table_html_holding_their_content(workspace):
    template = _create(workspace, blocks=BLOCKS)
    assert template.source_kind == "blocks"
    html = template.html_body
    shown = ("Spring at Acme", "https://acme.test/logo.png", "Tulips", "Shop now",
             "https://acme.test/shop", "Left side", "Right button", "Acme Widgets")  # fmt: skip
    for text in shown:
        assert text in html
    assert "<table" in html and 'style="' in html  # table layout, inline styles
    assert "alert(" not in html and "onclick" not in html and "onerror" not in html
    assert "fonts.googleapis" not in html  # the email fetches no web fonts
    # The text part was made on save, links kept with their address.
    assert template.text_generated
    assert "See the range (https://acme.test/spring)" in template.text_body
    assert "Shop now (https://acme.test/shop)" in template.text_body

    rendered = CompiledTemplate(
        subject=template.subject, html_body=html, text_body=template.text_body
    ).render(contact_fields({"first_name": "Kim<b>"}), {"code": "TULIP-1"})
    assert "Hi Kim&lt;b&gt;," in rendered.html  # personalisation escaped in the sandbox
    assert "Hi Kim<b>," in rendered.text
    assert "<b>TULIP-1</b>" in rendered.html
    assert "Leave (https://unsubscribe.leadflow.invalid/link)" in rendered.text


def test_each_bad_block_field_is_named():
    with pytest.raises(ValidationFailed) as failed:
        blocks_check(
            [
                {"type": "image", "src": "javascript:alert(1)", "size": 3},
                {"type": "carousel"},
                {"type": "button", "label": "", "href": "https://ok.test", "color": "red"},
                {"type": "columns", "columns": [[{"type": "footer"}], [{"type": "text"}]]},
                {"type": "spacer", "height": 1000},
                {"type": "text", "text": "{% if contact.first_name %}unclosed"},
                {"type": "header", "text": '{{ contact.city|default:"here" }}'},
                "not a block",
            ]
        )
    named = {error.field for error in failed.value.errors}
    assert named == {
        "blocks[0].src",
        "blocks[0].size",
        "blocks[1].type",
        "blocks[2].label",
        "blocks[2].color",
        "blocks[3].columns[0][0].type",
        "blocks[3].columns[1][0].text",
        "blocks[4].height",
        "blocks[5].text",
        "blocks[6].text",
        "blocks[7]",
    }


def test_mjml_source_compiles_once_and_bad_mjml_is_refused(workspace):
    source = (
        "<mjml><mj-body><mj-section><mj-column>"
        '<mj-text>Hello {{ contact.first_name|default:"there" }}</mj-text>'
        '<mj-button href="https://acme.test/go">Go</mj-button>'
        "</mj-column></mj-section></mj-body></mjml>"
    )
    template = _create(workspace, mjml_source=source)
    assert template.source_kind == "mjml" and template.mjml_source == source
    assert "<table" in template.html_body and "https://acme.test/go" in template.html_body
    rendered = CompiledTemplate(subject="s", html_body=template.html_body).render(
        contact_fields({"first_name": "Kim"})
    )
    assert "Hello Kim" in rendered.html
    with pytest.raises(ValidationFailed) as failed:
        email_settings.template_update(
            workspace=workspace,
            template_id=template.pk,
            data={"mjml_source": '<mjml><mj-body><mj-include path="/etc/passwd" /></mj-body>'},
        )
    assert [error.field for error in failed.value.errors] == ["mjml_source"]
    template.refresh_from_db()
    assert template.mjml_source == source  # nothing half-saved


def test_a_written_text_part_is_kept_and_a_generated_one_follows_the_html(workspace):
    template = _create(workspace, html_body='<p>One <a href="https://a.test/1">link</a></p>')
    assert template.text_body.strip() == "One link (https://a.test/1)"
    template = email_settings.template_update(
        workspace=workspace, template_id=template.pk, data={"html_body": "<p>Two</p>"}
    )
    assert template.text_body.strip() == "Two" and template.text_generated
    template = email_settings.template_update(
        workspace=workspace, template_id=template.pk, data={"text_body": "Mine"}
    )
    template = email_settings.template_update(
        workspace=workspace, template_id=template.pk, data={"html_body": "<p>Three</p>"}
    )
    assert template.text_body == "Mine" and not template.text_generated


# --- API ---------------------------------------------------------------------------------


def test_api_creates_each_source_kind_and_names_bad_block_fields(api):
    made = api.post(
        "/nurture/templates",
        {"name": "Blocks", "subject": "Hi", "source_kind": "blocks", "blocks": BLOCKS},
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["source_kind"] == "blocks" and body["blocks"][0]["text"] == "Spring at Acme"
    assert "Shop now" in body["html_body"] and body["text_generated"] is True

    mjml = api.post(
        "/nurture/templates",
        {"name": "Mjml", "subject": "Hi", "mjml_source": "<mjml><mj-body></mj-body></mjml>"},
    )
    assert mjml.status_code == 201 and mjml.json()["source_kind"] == "mjml"

    bad = api.patch(
        f"/nurture/templates/{body['id']}",
        {"blocks": [{"type": "button", "label": "Go", "href": "ftp://x"}, {"type": "x"}]},
    )
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["errors"]}
    assert fields == {"blocks[0].href", "blocks[1].type"}
    assert MarketingTemplate.objects.get(pk=body["id"]).blocks[0]["type"] == "header"


def test_api_preview_as_a_contact_and_another_workspaces_contact_is_404(
    api, workspace, other_workspace, owner_actor
):
    template = _create(workspace, blocks=BLOCKS)
    kim = contact_upsert(
        workspace=workspace, data={"email": "kim@initech.com", "first_name": "Kim"},
        actor=owner_actor,
    ).contact  # fmt: skip
    stranger = contact_upsert(
        workspace=other_workspace, data={"email": "x@other-corp.com", "first_name": "Xena"},
        actor=owner_actor,
    ).contact  # fmt: skip
    url = f"/nurture/templates/{template.pk}/preview"
    shown = api.get(f"{url}?contact_id={kim.pk}")
    assert shown.status_code == 200
    assert "Hi Kim," in shown.json()["html"] and "SAMPLE-CODE" in shown.json()["html"]
    assert "Hi Kim," in shown.json()["text"]
    assert api.get(f"{url}?contact_id={stranger.pk}").status_code == 404
    assert "Xena" not in api.get(f"{url}?contact_id={stranger.pk}").content.decode()


def test_api_test_send_reaches_a_real_smtp_server_labelled_and_audited(api, workspace, settings):
    settings.LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR = 2
    controller, inbox = sending_kit.smtp_server()
    try:
        sending_kit.message_make(workspace, port=controller.port)
        identity = workspace_identity(workspace)
        template = _create(workspace, name="Blocks", blocks=BLOCKS)
        url = f"/nurture/templates/{template.pk}/test"
        sent = api.post(url, {"identity_id": identity.pk, "to": "me@acme-widgets.com"})
        assert sent.status_code == 200, sent.content
        (received,) = inbox.messages()
        assert received["Subject"] == "[Test] Spring news"
        assert received["To"] == "me@acme-widgets.com"
        html = received.get_body(("html",)).get_content()
        assert "Hi Alex," in html and "Shop now" in html
        assert "unsubscribe.leadflow.invalid" not in html  # the real link took its place
        assert "/u/" in html
        entry = AuditEntry.objects.get(action="marketing_template.test_sent")
        assert entry.changes["to"] == "me@acme-widgets.com"
        assert (
            api.post(url, {"identity_id": identity.pk, "to": "me@acme-widgets.com"}).status_code
            == 200
        )
        limited = api.post(url, {"identity_id": identity.pk, "to": "me@acme-widgets.com"})
        assert limited.status_code == 429
        assert len(inbox.messages()) == 2
    finally:
        controller.stop()


def workspace_identity(workspace):
    from leadflow.nurture.models import SendingIdentity

    return SendingIdentity.objects.get(workspace=workspace)


# --- pages -------------------------------------------------------------------------------


@pytest.fixture
def marketer(workspace, make_member):
    client = Client()
    client.force_login(make_member("marketer").user)
    return client


def test_a_marketer_makes_edits_and_previews_a_template_in_the_app(
    workspace, other_workspace, marketer, owner_actor
):
    base = f"/w/{workspace.slug}/marketing-templates/"
    made = marketer.post(base, {"name": "Welcome", "source_kind": "blocks"})
    assert made.status_code == 302
    template = MarketingTemplate.objects.get(workspace=workspace, name="Welcome")
    page = marketer.get(made["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    # The preview frame runs no script and does not share the app's origin.
    assert 'sandbox=""' in content and "allow-same-origin" not in content

    import json

    refused = marketer.post(
        made["Location"],
        {"name": "Welcome", "subject": "Hi", "blocks": json.dumps([{"type": "image"}])},
    )
    assert refused.status_code == 422
    assert "Block 1, Image address (URL): Required." in refused.content.decode()
    assert '"blocks[0].src"' in refused.content.decode()  # for the editor to mark the field

    saved = marketer.post(
        made["Location"],
        {"name": "Welcome", "subject": "Hi {{ contact.first_name }}", "blocks": json.dumps(BLOCKS)},
    )
    assert saved.status_code == 302
    template.refresh_from_db()
    assert "Shop now" in template.html_body

    kim = contact_upsert(
        workspace=workspace, data={"email": "kim@initech.com", "first_name": "Kim"},
        actor=owner_actor,
    ).contact  # fmt: skip
    stranger = contact_upsert(
        workspace=other_workspace, data={"email": "x@other-corp.com", "first_name": "Xena"},
        actor=owner_actor,
    ).contact  # fmt: skip
    preview_url = f"{base}{template.pk}/preview/"
    draft = {"subject": "Hey {{ contact.first_name }}", "blocks": json.dumps(BLOCKS[:2])}
    shown = marketer.post(preview_url, {**draft, "contact_id": kim.pk})
    assert shown.status_code == 200
    assert shown.json()["subject"] == "Hey Kim" and "Hi Kim," in shown.json()["html"]
    assert "Shop now" not in shown.json()["html"]  # the draft, not the saved template
    assert marketer.post(preview_url, {**draft, "contact_id": stranger.pk}).status_code == 404
    found = marketer.get(f"{base}contacts/?q=kim").json()["contacts"]
    assert [row["id"] for row in found] == [kim.pk]
    assert marketer.get(f"{base}contacts/?q=xena").json()["contacts"] == []

    taken = marketer.post(base, {"name": "Welcome", "source_kind": "html"})
    assert (
        taken.status_code == 409 and "A template with this name exists." in taken.content.decode()
    )
    other_template = _create(other_workspace, html_body="<p>Theirs</p>")
    assert marketer.get(f"{base}{other_template.pk}/").status_code == 404


def test_a_sales_member_reads_templates_but_cannot_change_them(workspace, make_member):
    template = _create(workspace, html_body="<p>Hello</p>")
    client = Client()
    client.force_login(make_member("sales").user)
    base = f"/w/{workspace.slug}/marketing-templates/"
    assert client.get(f"{base}{template.pk}/").status_code == 200
    assert client.post(base, {"name": "Mine", "source_kind": "html"}).status_code == 403
    changed = client.post(f"{base}{template.pk}/", {"name": "X", "subject": "Y"})
    assert changed.status_code == 403
    assert client.post(f"{base}{template.pk}/test/", {"to": "a@b.test"}).status_code == 403
