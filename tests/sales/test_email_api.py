"""The email API: templates CRUD, sending to a contact (Idempotency-Key and client id each
store one email), a contact's emails with their status, the preview, bad input named in
422s, and another workspace's ids answering 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Activity
from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import EmailTemplate, PersonalEmail
from leadflow.sales.tasks import personal_email_deliver


@pytest.fixture
def kim(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace,
        data={"email": "kim@gmail.com", "first_name": "Kim"},
        actor=owner_actor,
    ).contact


def test_templates_can_be_added_read_changed_and_deleted(api, workspace):
    made = api.post(
        "/email-templates",
        {
            "name": "Intro",
            "subject": "Hi {{ first_name }}",
            "body": "Hello {{ first_name | there }}",
        },
    )
    assert made.status_code == 201, made.content
    template_id = made.json()["id"]
    assert [t["name"] for t in api.get("/email-templates").json()] == ["Intro"]
    changed = api.patch(f"/email-templates/{template_id}", {"name": "First touch"})
    assert changed.status_code == 200 and changed.json()["name"] == "First touch"
    assert api.get(f"/email-templates/{template_id}").json()["subject"] == "Hi {{ first_name }}"
    assert api.delete(f"/email-templates/{template_id}").status_code == 204
    assert not EmailTemplate.objects.exists()


def test_bad_templates_are_refused_naming_each_field(api, workspace):
    bad = api.post(
        "/email-templates",
        {"name": " ", "subject": "{{ contact.__class__ }}", "body": "{% load x %}{{ x }}"},
    )
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"name", "subject", "body"}
    api.post("/email-templates", {"name": "Intro", "subject": "a", "body": "b"})
    twice = api.post("/email-templates", {"name": "Intro", "subject": "a", "body": "b"})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "name"
    [template] = EmailTemplate.objects.all()
    nulled = api.patch(f"/email-templates/{template.pk}", {"body": None})
    assert nulled.status_code == 422 and nulled.json()["errors"][0]["field"] == "body"
    assert EmailTemplate.objects.count() == 1


def test_an_email_is_stored_once_per_idempotency_key_and_per_client_id(api, workspace, kim):
    body = {"subject": "Hi {{ first_name }}", "body": "Hello {{ first_name }}"}
    first = api.post(f"/contacts/{kim.pk}/emails", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "queued" and first.json()["subject"] == "Hi Kim"
    replay = api.post(f"/contacts/{kim.pk}/emails", body, headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert PersonalEmail.objects.count() == 1

    with_id = {**body, "client_id": "compose-42"}
    assert api.post(f"/contacts/{kim.pk}/emails", with_id).status_code == 201
    again = api.post(f"/contacts/{kim.pk}/emails", with_id)
    assert again.status_code == 200
    assert PersonalEmail.objects.count() == 2
    assert Activity.objects.filter(contact=kim, kind="email.queued").count() == 2
    # The sender is the key's creator (the workspace owner here).
    assert again.json()["sender_id"] == PersonalEmail.objects.first().sender_id is not None


def test_a_contacts_emails_show_their_status_in_a_fixed_number_of_queries(
    api, workspace, kim, settings, tmp_path
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    for number in range(3):
        api.post(f"/contacts/{kim.pk}/emails", {"subject": f"S{number}", "body": "b"})
    personal_email_deliver.call(PersonalEmail.objects.get(subject="S0").pk)
    with CaptureQueriesContext(connection) as queries:
        listed = api.get(f"/contacts/{kim.pk}/emails")
    assert listed.status_code == 200
    assert [(e["subject"], e["status"]) for e in listed.json()] == [
        ("S2", "queued"),
        ("S1", "queued"),
        ("S0", "sent"),
    ]
    assert len(queries) <= 6  # auth, key, contact, emails: not one per email


def test_the_preview_merges_a_template_and_warns_about_empty_fields(api, workspace, kim):
    template = api.post(
        "/email-templates",
        {"name": "Intro", "subject": "Hi {{ first_name }}", "body": "Dear {{ last_name }} <3"},
    ).json()
    preview = api.post(f"/contacts/{kim.pk}/email-preview", {"template_id": template["id"]})
    assert preview.status_code == 200, preview.content
    assert preview.json()["subject"] == "Hi Kim"
    assert preview.json()["empty_fields"] == ["last_name"]
    assert "&lt;3" in preview.json()["html"]
    bad = api.post(f"/contacts/{kim.pk}/email-preview", {"subject": "{{ nope }}", "body": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "subject"
    missing = api.post(f"/contacts/{kim.pk}/email-preview", {"template_id": 10**9})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "template_id"
    assert not PersonalEmail.objects.exists()


def test_bad_sends_are_refused_naming_each_field_and_store_nothing(
    api, workspace, kim, owner_actor, make_member
):
    viewer = make_member("viewer").user
    cases = [
        ({"subject": "", "body": "x"}, {"subject"}),
        ({"subject": "x"}, {"body"}),
        ({"subject": "x", "body": "{{ contact.__class__ }}"}, {"body"}),
        ({"subject": "x", "body": "y", "template_id": 10**9}, {"template_id"}),
        ({"subject": "x", "body": "y", "sender_id": viewer.pk}, {"sender_id"}),
        ({"subject": "x", "body": "y", "client_id": "c" * 101}, {"client_id"}),
        ({"subject": "x", "body": "y", "cc": "a@b.com"}, {"cc"}),
    ]
    for body, fields in cases:
        answer = api.post(f"/contacts/{kim.pk}/emails", body)
        assert answer.status_code == 422, (body, answer.content)
        assert {error["field"] for error in answer.json()["errors"]} == fields, body
    phone_only = contact_upsert(
        workspace=workspace, data={"phone": "+447911123456"}, actor=owner_actor
    ).contact
    answer = api.post(f"/contacts/{phone_only.pk}/emails", {"subject": "x", "body": "y"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "to"
    assert not PersonalEmail.objects.exists()


def test_another_workspaces_contact_and_template_answer_404(api, other_api, workspace, kim):
    theirs = other_api.post(
        "/email-templates", {"name": "Theirs", "subject": "a", "body": "b"}
    ).json()
    assert api.get(f"/email-templates/{theirs['id']}").status_code == 404
    assert api.patch(f"/email-templates/{theirs['id']}", {"name": "x"}).status_code == 404
    assert api.delete(f"/email-templates/{theirs['id']}").status_code == 404
    for method, path, body in [
        ("post", f"/contacts/{kim.pk}/emails", {"subject": "a", "body": "b"}),
        ("get", f"/contacts/{kim.pk}/emails", None),
        ("post", f"/contacts/{kim.pk}/email-preview", {"subject": "a", "body": "b"}),
    ]:
        answer = getattr(other_api, method)(path, *([body] if body else []))
        assert answer.status_code == 404, (path, answer.content)
    # A template of another workspace named in a send is "no such template".
    sent = api.post(
        f"/contacts/{kim.pk}/emails", {"subject": "a", "body": "b", "template_id": theirs["id"]}
    )
    assert sent.status_code == 422 and sent.json()["errors"][0]["field"] == "template_id"
    assert not PersonalEmail.objects.exists()
