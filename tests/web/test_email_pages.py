"""The compose form on the contact page and Settings → Email templates: a template fills
the form, the preview merges and warns, a send (even posted twice) stores one email and
shows on the timeline, errors show beside their fields, and who may do what."""

import re

import pytest

from leadflow.contacts.models import Activity
from leadflow.sales.models import EmailTemplate, PersonalEmail
from leadflow.sales.services import email_template_create
from tests.web.conftest import url


@pytest.fixture
def template(workspace, owner_actor):
    return email_template_create(
        workspace=workspace,
        data={
            "name": "Intro",
            "subject": "Hello {{ first_name }}",
            "body": "Hi {{ first_name | there }},\nregards {{ sender_name }} <b>",
        },
        actor=owner_actor,
    )


def _client_id(page) -> str:
    return re.search(r'name="client_id" value="([^"]+)"', page.content.decode()).group(1)


def test_the_contact_page_offers_email_and_the_compose_form_starts_from_a_template(
    owner_client, workspace, make_contact, template
):
    kim = make_contact(first_name="Kim", email="kim@gmail.com")
    page = owner_client.get(url(workspace, f"contacts/{kim.pk}/"))
    assert f'href="/w/{workspace.slug}/contacts/{kim.pk}/email/"' in page.content.decode()

    compose = owner_client.get(
        url(workspace, f"contacts/{kim.pk}/email/?template_id={template.pk}"),
        headers={"HX-Request": "true"},
    )
    html = compose.content.decode()
    assert compose.status_code == 200 and 'id="compose"' in html and "<html" not in html
    assert 'value="Hello {{ first_name }}"' in html
    assert "Hello Kim" in html  # the preview, merged
    assert "&lt;b&gt;" in html and "<b>" not in html  # escaped


def test_the_preview_warns_about_empty_fields_and_names_unknown_ones(
    owner_client, workspace, make_contact
):
    kim = make_contact(first_name="Kim", email="kim@gmail.com")
    preview = owner_client.post(
        url(workspace, f"contacts/{kim.pk}/email/preview"),
        {"subject": "Hi {{ last_name }}", "body": "{{ contact.__class__ }} {% load x %}"},
    )
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Empty for this contact" in html and "<code>last_name</code>" in html
    assert "Unknown merge field: {{ contact.__class__ }}" in html
    assert "{% load x %}" in html  # literal text
    assert not PersonalEmail.objects.exists()


def test_a_send_posted_twice_stores_one_email_on_the_timeline(
    owner_client, workspace, make_contact, template
):
    kim = make_contact(first_name="Kim", email="kim@gmail.com")
    form = owner_client.get(url(workspace, f"contacts/{kim.pk}/email/"))
    data = {
        "client_id": _client_id(form),
        "template_id": str(template.pk),
        "subject": template.subject,
        "body": template.body,
    }
    first = owner_client.post(
        url(workspace, f"contacts/{kim.pk}/email/"), data, headers={"HX-Request": "true"}
    )
    assert first.status_code == 200 and first["HX-Trigger"] == "timeline-changed"
    assert "queued" in first.content.decode()
    again = owner_client.post(url(workspace, f"contacts/{kim.pk}/email/"), data)
    assert again.status_code == 302
    email = PersonalEmail.objects.get()
    assert email.subject == "Hello Kim" and email.template_id == template.pk
    timeline = owner_client.get(url(workspace, f"contacts/{kim.pk}/")).content.decode()
    assert "Email queued: Hello Kim" in timeline
    assert Activity.objects.filter(contact=kim, kind="email.queued").count() == 1


def test_errors_show_beside_their_fields_and_nothing_is_stored(
    owner_client, workspace, make_contact, owner_actor
):
    kim = make_contact(first_name="Kim", email="kim@gmail.com")
    answer = owner_client.post(
        url(workspace, f"contacts/{kim.pk}/email/"),
        {"client_id": "c-1", "subject": "", "body": "{{ nope }}"},
        headers={"HX-Request": "true"},
    )
    html = answer.content.decode()
    assert answer.status_code == 422
    assert "id_compose_subject_" in html and "Write something here." in html
    assert "Unknown merge field: {{ nope }}" in html
    assert not PersonalEmail.objects.exists()

    from leadflow.contacts.services import contact_upsert

    phone_only = contact_upsert(
        workspace=workspace, data={"phone": "+447911123456"}, actor=owner_actor
    ).contact
    page = owner_client.get(url(workspace, f"contacts/{phone_only.pk}/"))
    assert f"contacts/{phone_only.pk}/email/" not in page.content.decode()
    compose = owner_client.get(url(workspace, f"contacts/{phone_only.pk}/email/"))
    assert "This contact has no email address." in compose.content.decode()


def test_a_salesperson_emails_only_own_leads_and_a_viewer_not_at_all(
    client_for, workspace, make_contact, other_workspace
):
    seller, membership = client_for("sales")
    mine = make_contact(first_name="Mine", email="mine@gmail.com", owner_id=membership.user.pk)
    theirs = make_contact(first_name="Theirs", email="theirs@gmail.com")
    body = {"client_id": "x", "subject": "Hi", "body": "Hello"}
    assert seller.get(url(workspace, f"contacts/{theirs.pk}/email/")).status_code == 404
    assert seller.post(url(workspace, f"contacts/{theirs.pk}/email/"), body).status_code == 404
    preview = seller.post(url(workspace, f"contacts/{theirs.pk}/email/preview"), body)
    assert preview.status_code == 404
    assert seller.post(url(workspace, f"contacts/{mine.pk}/email/"), body).status_code == 302
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, f"contacts/{mine.pk}/email/")).status_code == 403
    page = viewer.get(url(workspace, f"contacts/{mine.pk}/")).content.decode()
    assert f"contacts/{mine.pk}/email/" not in page
    # Another workspace's member: the workspace itself is not found.
    assert PersonalEmail.objects.count() == 1


def test_templates_are_added_edited_and_deleted_in_settings(
    owner_client, client_for, workspace, other_workspace, template
):
    base = url(workspace, "settings/email-templates/")
    listed = owner_client.get(base)
    assert listed.status_code == 200 and "Intro" in listed.content.decode()
    bad = owner_client.post(base, {"name": "", "subject": "x", "body": "{{ contact.__class__ }}"})
    assert bad.status_code == 422
    assert "Unknown merge field" in bad.content.decode()
    assert (
        owner_client.post(base, {"name": "Later", "subject": "s", "body": "b"}).status_code == 302
    )
    later = EmailTemplate.objects.get(name="Later")
    edit = url(workspace, f"settings/email-templates/{later.pk}/")
    saved = owner_client.post(edit, {"name": "Later on", "subject": "s", "body": "b2"})
    assert saved.status_code == 302
    assert EmailTemplate.objects.get(pk=later.pk).body == "b2"
    assert owner_client.post(edit + "delete/").status_code == 302
    assert not EmailTemplate.objects.filter(pk=later.pk).exists()

    theirs = EmailTemplate.objects.create(
        workspace=other_workspace, name="T", subject="s", body="b"
    )
    assert (
        owner_client.get(url(workspace, f"settings/email-templates/{theirs.pk}/")).status_code
        == 404
    )
    path = f"settings/email-templates/{theirs.pk}/delete/"
    assert owner_client.post(url(workspace, path)).status_code == 404
    viewer, _ = client_for("viewer")
    assert viewer.get(base).status_code == 200  # everyone reads them
    assert viewer.post(base, {"name": "V", "subject": "s", "body": "b"}).status_code == 403
    assert EmailTemplate.objects.filter(workspace=workspace).count() == 1
