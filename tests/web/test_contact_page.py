"""The contact page: creation, inline edit, custom fields, status, tags, notes, timeline,
merge and deletion."""

import re

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import (
    ConsentGiven,
    consent_record,
    custom_field_create,
    note_add,
)
from leadflow.sales.services import followup_complete, followup_create
from tests.web.conftest import url

HTMX = {"HX-Request": "true"}


def timeline_html(client, workspace, contact) -> str:
    response = client.get(
        url(workspace, f"contacts/{contact.pk}/"), headers={**HTMX, "HX-Target": "timeline"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="timeline"')
    return html


def squash(html: str) -> str:
    """Tags removed and spaces collapsed, to read text the way a person sees it."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class TestNewContact:
    def test_creates_and_opens_the_contact(self, owner_client, workspace, owner):
        response = owner_client.post(
            url(workspace, "contacts/new/"),
            {
                "first_name": "Nia",
                "last_name": "Novak",
                "email": "Nia@Novak-Labs.com",
                "phone": "",
                "job_title": "CTO",
                "owner_id": str(owner.pk),
                "lifecycle_stage": "sql",
                "temperature": "warm",
                "tags": "trial, enterprise",
            },
        )
        contact = Contact.objects.get(workspace=workspace, email="nia@novak-labs.com")
        assert response.status_code == 302
        assert response["Location"] == url(workspace, f"contacts/{contact.pk}/")
        assert contact.owner == owner
        assert contact.lifecycle_stage == "sql"
        assert sorted(contact.tags.values_list("name", flat=True)) == ["enterprise", "trial"]
        assert contact.company.domain == "novak-labs.com"

    def test_errors_show_next_to_their_fields(self, owner_client, workspace):
        response = owner_client.post(
            url(workspace, "contacts/new/"),
            {
                "first_name": "Bad",
                "email": "not-an-email",
                "phone": "12",
                "lifecycle_stage": "lead",
                "temperature": "cold",
            },
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_email_error"' in html
        assert 'id="id_phone_error"' in html
        assert 'aria-invalid="true"' in html
        assert 'value="Bad"' in html  # what was typed stays
        assert not Contact.objects.filter(workspace=workspace).exists()

    def test_email_or_phone_is_required(self, owner_client, workspace):
        response = owner_client.post(url(workspace, "contacts/new/"), {"first_name": "Nobody"})
        assert response.status_code == 422
        assert "An email or a phone number is required." in response.content.decode()

    def test_existing_email_updates_that_contact(self, owner_client, workspace, contact):
        response = owner_client.post(
            url(workspace, "contacts/new/"),
            {"email": "ann@lee-corp.com", "job_title": "Head"},
            follow=True,
        )
        assert "existed already" in response.content.decode()
        contact.refresh_from_db()
        assert contact.job_title == "Head"

    def test_required_custom_field(self, owner_client, workspace, owner_actor):
        custom_field_create(
            workspace=workspace,
            data={
                "label": "Plan",
                "field_type": "choice",
                "choices": ["free", "pro"],
                "required": True,
            },
            actor=owner_actor,
        )
        response = owner_client.post(url(workspace, "contacts/new/"), {"email": "p@example.org"})
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_cf_plan_error"' in html
        assert "This field is required." in html
        response = owner_client.post(
            url(workspace, "contacts/new/"), {"email": "p@example.org", "cf_plan": "pro"}
        )
        assert response.status_code == 302
        assert Contact.objects.get(email="p@example.org").custom_fields == {"plan": "pro"}


class TestInlineEdit:
    def test_htmx_edit_swaps_the_profile_and_writes_the_timeline(
        self, owner_client, workspace, contact
    ):
        form = owner_client.get(
            url(workspace, f"contacts/{contact.pk}/edit/"), headers={**HTMX, "HX-Target": "profile"}
        )
        html = form.content.decode()
        assert html.lstrip().startswith('<section id="profile"')
        assert 'name="job_title"' in html and 'value="Buyer"' in html
        saved = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "job_title": "Chief Buyer"},
            headers={**HTMX, "HX-Target": "profile"},
        )
        assert saved.status_code == 200
        assert saved["HX-Trigger"] == "timeline-changed"
        body = saved.content.decode()
        assert body.lstrip().startswith('<section id="profile"')
        assert "Chief Buyer" in body
        assert 'hx-swap-oob="true"' in body  # the page heading follows a name change
        contact.refresh_from_db()
        assert contact.job_title == "Chief Buyer"
        activity = Activity.objects.filter(contact=contact, kind="contact.updated").latest("id")
        assert activity.data["changes"] == {"job_title": ["Buyer", "Chief Buyer"]}
        text = squash(timeline_html(owner_client, workspace, contact))
        assert "Fields changed by owner" in text
        assert "Job title: Buyer → changed to Chief Buyer" in text

    def test_plain_form_without_javascript(self, owner_client, workspace, contact):
        page = owner_client.get(url(workspace, f"contacts/{contact.pk}/edit/"))
        assert page.status_code == 200
        assert "<html" in page.content.decode()
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "last_name": "Lee-Smith", "company": "Brand New Ltd"},
        )
        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.last_name == "Lee-Smith"
        assert contact.company.name == "Brand New Ltd"
        page = owner_client.get(response["Location"])
        assert "Saved." in page.content.decode()
        text = squash(page.content.decode())
        assert "Company: Lee Corp → changed to Brand New Ltd" in text

    def test_errors_stay_in_the_form(self, owner_client, workspace, contact):
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "email": "broken@", "job_title": "Changed"},
            headers={**HTMX, "HX-Target": "profile"},
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert html.lstrip().startswith('<section id="profile"')
        assert 'id="id_email_error"' in html
        assert 'value="broken@"' in html
        contact.refresh_from_db()
        assert contact.job_title == "Buyer"

    def test_clearing_the_only_identity_is_refused(self, owner_client, workspace, contact):
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "email": "", "phone": ""},
        )
        assert response.status_code == 422
        assert "An email or a phone number is required." in response.content.decode()


def _profile_post(contact) -> dict:
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email or "",
        "phone": contact.phone or "",
        "job_title": contact.job_title,
        "company": contact.company.name if contact.company else "",
        "country": contact.country,
    }


class TestCustomFields:
    @pytest.fixture
    def fields(self, workspace, owner_actor):
        specs = [
            {"label": "Budget", "field_type": "number", "min_value": 0, "max_value": 1000},
            {"label": "Renewal", "field_type": "date"},
            {"label": "Partner", "field_type": "boolean"},
            {"label": "Plan", "field_type": "choice", "choices": ["free", "pro"]},
            {"label": "Channels", "field_type": "multi_choice", "choices": ["email", "phone"]},
            {"label": "Ref", "field_type": "text", "pattern": "[A-Z]{2}[0-9]+", "max_length": 8},
        ]
        return [custom_field_create(workspace=workspace, data=s, actor=owner_actor) for s in specs]

    def test_rendered_by_type_and_saved(self, owner_client, workspace, contact, fields):
        form = owner_client.get(url(workspace, f"contacts/{contact.pk}/edit/")).content.decode()
        assert 'name="cf_budget" type="number"' in form
        assert 'min="0"' in form and 'max="1000"' in form
        assert 'name="cf_renewal" type="date"' in form
        assert '<select id="id_cf_partner" name="cf_partner"' in form
        assert '<select id="id_cf_plan" name="cf_plan"' in form
        assert 'type="checkbox" name="cf_channels" value="email"' in form
        assert 'maxlength="8"' in form
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {
                **_profile_post(contact),
                "cf_budget": "250",
                "cf_renewal": "2026-03-01",
                "cf_partner": "true",
                "cf_plan": "pro",
                "cf_channels__present": "1",
                "cf_channels": ["email", "phone"],
                "cf_ref": "AB12",
            },
        )
        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.custom_fields == {
            "budget": 250,
            "renewal": "2026-03-01",
            "partner": True,
            "plan": "pro",
            "channels": ["email", "phone"],
            "ref": "AB12",
        }
        page = squash(owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode())
        assert "Partner Yes" in page
        assert "Channels email, phone" in page
        assert "Budget: — → changed to 250" in page

    def test_bad_values_show_beside_their_field(self, owner_client, workspace, contact, fields):
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "cf_budget": "5000", "cf_ref": "lower", "cf_plan": "gold"},
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert re.search(r'id="id_cf_budget_error">Must be at most 1000', html)
        assert re.search(r'id="id_cf_ref_error">Does not match', html)
        assert 'id="id_cf_plan_error"' in html
        contact.refresh_from_db()
        assert contact.custom_fields == {}

    def test_clearing_a_value(self, owner_client, workspace, contact, fields):
        Contact.objects.filter(pk=contact.pk).update(custom_fields={"plan": "pro", "budget": 5})
        owner_client.post(
            url(workspace, f"contacts/{contact.pk}/edit/"),
            {**_profile_post(contact), "cf_plan": "", "cf_budget": "5"},
        )
        contact.refresh_from_db()
        assert contact.custom_fields == {"budget": 5}


def test_status_change_shows_old_and_new_values(owner_client, workspace, contact, owner):
    response = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/status/"),
        {
            "owner_id": str(owner.pk),
            "lifecycle_stage": "customer",
            "temperature": "hot",  # not set by hand: scoring derives it from the score
            "consent_status": "granted",
        },
        headers={**HTMX, "HX-Target": "status"},
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="status"')
    contact.refresh_from_db()
    assert (contact.lifecycle_stage, contact.temperature, contact.owner) == (
        "customer",
        "cold",
        owner,
    )
    text = squash(timeline_html(owner_client, workspace, contact))
    assert "Stage changed by owner" in text
    assert "Lifecycle stage: Lead → changed to Customer" in text
    assert "Owner: — → changed to owner" in text
    assert "Temperature:" not in text  # derived from the score, not edited here


def test_status_errors(owner_client, workspace, contact, other_workspace):
    from leadflow.core.models import Membership

    stranger = Membership.objects.get(workspace=other_workspace).user
    response = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/status/"),
        {"owner_id": str(stranger.pk), "lifecycle_stage": "lead"},
    )
    assert response.status_code == 422
    assert "Not a member of this workspace." in response.content.decode()


def test_tags_add_and_remove(owner_client, workspace, contact):
    response = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/tags/"),
        {"add": "webinar, eu"},
        headers={**HTMX, "HX-Target": "tags"},
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="tags"')
    assert sorted(contact.tags.values_list("name", flat=True)) == ["eu", "vip", "webinar"]
    owner_client.post(url(workspace, f"contacts/{contact.pk}/tags/"), {"remove": "vip"})
    assert sorted(contact.tags.values_list("name", flat=True)) == ["eu", "webinar"]
    text = squash(timeline_html(owner_client, workspace, contact))
    assert "Tags added: eu, webinar" in text
    assert "Tags removed: vip" in text


def test_notes_are_escaped_and_keep_line_breaks(owner_client, workspace, contact):
    response = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/notes/"),
        {"body": "Called <b>today</b>\nWants a demo"},
        headers={**HTMX, "HX-Target": "activity"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="activity"')
    assert "Called &lt;b&gt;today&lt;/b&gt;<br>Wants a demo" in html
    assert Activity.objects.filter(contact=contact, kind="note.added").count() == 1


def test_empty_note_is_refused(owner_client, workspace, contact):
    response = owner_client.post(url(workspace, f"contacts/{contact.pk}/notes/"), {"body": " "})
    assert response.status_code == 422
    assert "A note needs some text." in response.content.decode()


def test_timeline_pages_backwards(owner_client, workspace, contact, owner_actor, monkeypatch):
    monkeypatch.setattr("leadflow.web.views.contacts.TIMELINE_PAGE", 3)
    for index in range(5):
        note_add(
            workspace=workspace, contact_id=contact.pk, body=f"note {index}", actor=owner_actor
        )
    first = owner_client.get(url(workspace, f"contacts/{contact.pk}/"))
    html = first.content.decode()
    assert "note 4" in html and "note 2" in html and "note 1" not in html
    older = first.context["older_before"]
    second = owner_client.get(url(workspace, f"contacts/{contact.pk}/?before={older}"))
    html = second.content.decode()
    assert "note 1" in html and "note 0" in html and "note 4" not in html


def test_detail_query_count_does_not_grow_with_the_timeline(
    owner_client, workspace, contact, owner_actor, django_assert_max_num_queries
):
    for index in range(20):
        note_add(workspace=workspace, contact_id=contact.pk, body=f"n{index}", actor=owner_actor)
    # 12, and the Score panel's four (fit rules with their matches, the scoring profile,
    # the points ledger with its rules, the prediction), the Assignments panel's three
    # (the contact's assignments, the people and the teams it may be reassigned to) and the
    # Follow-ups panel's four (open ones, done ones, the members who may be given one, the
    # member's team zone), whether its address is on the suppression list (nurture), the
    # sequences the contact is in (nurture) and the Consent section's three (the latest
    # row per purpose, the workspace's own purposes, the history).
    for index in range(5):
        followup = followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data={"title": f"f{index}", "due_at": "2030-01-01T10:00"},
            actor=owner_actor,
        )
        if index % 2:
            followup_complete(workspace=workspace, followup_id=followup.pk, actor=owner_actor)
    for purpose in ("marketing_email", "sms", "newsletter"):
        consent_record(
            workspace=workspace,
            contact=contact,
            given=ConsentGiven(purpose=purpose, status="granted", source="api"),
            actor=owner_actor,
        )
    with django_assert_max_num_queries(28):
        owner_client.get(url(workspace, f"contacts/{contact.pk}/"))


class TestMerge:
    @pytest.fixture
    def twin(self, make_contact):
        return make_contact(
            first_name="Ann",
            last_name="Lee",
            email="a.lee@gmail.com",
            job_title="Procurement lead",
            phone="+442079460018",
            tags=["webinar"],
        )

    def test_pick_by_search(self, owner_client, workspace, contact, twin):
        html = owner_client.get(url(workspace, f"contacts/{contact.pk}/merge/?q=lee")).content
        html = html.decode()
        assert f"?other={twin.pk}" in html
        assert f"?other={contact.pk}" not in html

    def test_compare_and_merge_with_choices(self, owner_client, workspace, contact, twin):
        page = owner_client.get(url(workspace, f"contacts/{contact.pk}/merge/?other={twin.pk}"))
        html = page.content.decode()
        assert 'name="keep__job_title"' in html
        assert 'name="keep__email"' in html
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/merge/"),
            {
                "other": twin.pk,
                "keep__job_title": "primary",
                "keep__email": "primary",
                "keep__phone": "secondary",
            },
        )
        assert response.status_code == 302
        assert not Contact.objects.filter(pk=twin.pk).exists()
        contact.refresh_from_db()
        assert contact.job_title == "Buyer"
        assert contact.email == "ann@lee-corp.com"
        assert contact.phone == "+442079460018"
        assert sorted(contact.tags.values_list("name", flat=True)) == ["vip", "webinar"]
        text = squash(timeline_html(owner_client, workspace, contact))
        assert "Merged by owner" in text
        assert "Merged in Ann Lee (a.lee@gmail.com)" in text

    def test_unknown_or_same_contact(self, owner_client, workspace, contact):
        html = owner_client.get(url(workspace, f"contacts/{contact.pk}/merge/?other=999999"))
        assert "No contact with this number." in html.content.decode()
        html = owner_client.get(url(workspace, f"contacts/{contact.pk}/merge/?other={contact.pk}"))
        assert "That is this contact" in html.content.decode()
        response = owner_client.post(
            url(workspace, f"contacts/{contact.pk}/merge/"), {"other": contact.pk}, follow=True
        )
        assert "Cannot merge a contact into itself." in response.content.decode()


def test_delete_asks_then_deletes(owner_client, workspace, contact):
    page = owner_client.get(url(workspace, f"contacts/{contact.pk}/delete/"))
    assert "Delete Ann Lee?" in page.content.decode()
    response = owner_client.post(url(workspace, f"contacts/{contact.pk}/delete/"))
    assert response.status_code == 302
    assert response["Location"] == url(workspace, "contacts/")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_missing_contact_is_404(owner_client, workspace):
    assert owner_client.get(url(workspace, "contacts/999999/")).status_code == 404
