"""Settings: workspace, members and roles, API keys, custom fields, audit log."""

import re
import shlex
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core import mail

from leadflow.contacts.models import CustomField
from leadflow.core.models import ApiKey, AuditEntry, Membership, Role, User
from leadflow.core.selectors import apikey_authenticate
from tests.capture import test_notifications as mail_kit
from tests.web.conftest import url

smtp = mail_kit.smtp  # the real SMTP server fixture


def test_workspace_settings(owner_client, workspace):
    bad = owner_client.post(url(workspace, "settings/"), {"name": " ", "default_country": "XX"})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'id="id_name_error"' in html and 'id="id_default_country_error"' in html
    response = owner_client.post(
        url(workspace, "settings/"),
        {"name": "Acme Gadgets", "default_country": "de", "sales_sees_all_leads": "on"},
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.default_country, workspace.sales_sees_all_leads) == (
        "Acme Gadgets",
        "DE",
        True,
    )
    owner_client.post(
        url(workspace, "settings/"), {"name": "Acme Gadgets", "default_country": "DE"}
    )
    workspace.refresh_from_db()
    assert workspace.sales_sees_all_leads is False


class TestMembers:
    @pytest.mark.django_db(transaction=True)  # the worker runs what was committed
    def test_new_person_gets_an_invitation_to_set_a_password(
        self, owner_client, workspace, client, smtp, owner
    ):
        response = owner_client.post(
            url(workspace, "settings/members/"),
            {"email": "New.Person@Acme-Widgets.com", "role": "sales", "full_name": "New Person"},
        )
        assert response.status_code == 302
        user = User.objects.get(email="new.person@acme-widgets.com")
        assert not user.has_usable_password()
        assert Membership.objects.get(workspace=workspace, user=user).role == "sales"
        assert smtp.messages == []  # nothing is sent in the request: the worker does it
        mail_kit.run_worker()
        (message,) = smtp.messages
        assert message["X-Envelope-To"] == "new.person@acme-widgets.com"
        assert message["Subject"] == "You have been added to Acme Widgets on LeadFlow"
        body = mail_kit.text_of(message)
        assert f'{owner.display_name} added you to the workspace "Acme Widgets" on LeadFlow' in body
        assert "Your login is new.person@acme-widgets.com." in body
        link = re.search(r"http://testserver(/password/reset/\S+/)", body).group(1)
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f'href="http://testserver{link}"' in html
        page = client.get(link, follow=True)
        assert "Choose a new password" in page.content.decode()
        client.post(
            page.redirect_chain[-1][0],
            {"new_password1": "welcome-aboard-2026", "new_password2": "welcome-aboard-2026"},
        )
        assert client.login(username=user.email, password="welcome-aboard-2026")

    @pytest.mark.django_db(transaction=True)  # the worker runs what was committed
    def test_existing_user_is_added_without_email(
        self, owner_client, workspace, other_workspace, smtp
    ):
        response = owner_client.post(
            url(workspace, "settings/members/"), {"email": "owner@other-co.com", "role": "viewer"}
        )
        assert response.status_code == 302
        mail_kit.run_worker()
        assert smtp.messages == [] and mail.outbox == []
        again = owner_client.post(
            url(workspace, "settings/members/"), {"email": "owner@other-co.com", "role": "viewer"}
        )
        assert again.status_code == 422
        assert "is a member already" in again.content.decode()

    def test_bad_email_shows_beside_the_field(self, owner_client, workspace):
        response = owner_client.post(
            url(workspace, "settings/members/"), {"email": "nope", "role": "viewer"}
        )
        assert response.status_code == 422
        assert 'id="id_email_error"' in response.content.decode()

    def test_change_role_and_remove(self, owner_client, workspace, make_member):
        member = make_member("viewer")
        owner_client.post(url(workspace, f"settings/members/{member.pk}/role/"), {"role": "admin"})
        member.refresh_from_db()
        assert member.role == "admin"
        owner_client.post(url(workspace, f"settings/members/{member.pk}/remove/"))
        assert not Membership.objects.filter(pk=member.pk).exists()

    def test_last_owner_stays(self, owner_client, workspace, owner):
        me = Membership.objects.get(workspace=workspace, user=owner)
        response = owner_client.post(
            url(workspace, f"settings/members/{me.pk}/role/"), {"role": "viewer"}, follow=True
        )
        assert "at least one owner" in response.content.decode()
        me.refresh_from_db()
        assert me.role == Role.OWNER

    def test_admin_cannot_touch_owners(self, client_for, workspace, owner):
        admin, _ = client_for("admin")
        owner_membership = Membership.objects.get(workspace=workspace, user=owner)
        page = admin.get(url(workspace, "settings/members/")).content.decode()
        assert '<option value="owner"' not in page
        assert (
            admin.post(
                url(workspace, "settings/members/"), {"email": "x@example.org", "role": "owner"}
            ).status_code
            == 403
        )
        assert (
            admin.post(
                url(workspace, f"settings/members/{owner_membership.pk}/role/"), {"role": "viewer"}
            ).status_code
            == 403
        )
        assert (
            admin.post(
                url(workspace, f"settings/members/{owner_membership.pk}/remove/")
            ).status_code
            == 403
        )
        owner_membership.refresh_from_db()
        assert owner_membership.role == Role.OWNER

    def test_another_workspace_member_is_404(self, owner_client, workspace, other_workspace):
        theirs = Membership.objects.get(workspace=other_workspace)
        assert (
            owner_client.post(url(workspace, f"settings/members/{theirs.pk}/remove/")).status_code
            == 404
        )


class TestApiKeys:
    def test_secret_is_shown_once(self, owner_client, workspace):
        response = owner_client.post(
            url(workspace, "settings/api-keys/"),
            {"name": "Zapier", "scopes": ["contacts:read", "contacts:write"]},
        )
        assert response.status_code == 201
        assert response["Cache-Control"] == "no-store"
        secret = re.search(r'value="(lf_[^"]+)"', response.content.decode()).group(1)
        key = apikey_authenticate(secret)
        assert key.workspace == workspace
        assert key.scopes == ["contacts:read", "contacts:write"]
        listing = owner_client.get(url(workspace, "settings/api-keys/")).content.decode()
        assert secret not in listing
        assert key.prefix in listing

    def test_the_page_links_the_api_reference(self, owner_client, workspace):
        html = owner_client.get(url(workspace, "settings/api-keys/")).content.decode()
        assert 'href="/api/v1/docs"' in html
        assert owner_client.get("/api/v1/docs").status_code == 200

    @pytest.mark.parametrize(
        ("scopes", "method"),
        [
            (["contacts:read", "contacts:write"], "GET"),
            (["forms:read"], "GET"),
            (["settings:read"], "GET"),
            (["contacts:write"], "POST"),
        ],
    )
    def test_a_new_key_comes_with_a_request_it_may_make_and_copy_buttons(
        self, owner_client, workspace, client, scopes, method
    ):
        response = owner_client.post(
            url(workspace, "settings/api-keys/"), {"name": "Zapier", "scopes": scopes}
        )
        html = response.content.decode()
        secret = re.search(r'value="(lf_[^"]+)"', html).group(1)
        assert 'data-copy="id_secret"' in html and 'data-copy="id_api_example"' in html
        example = unescape(re.search(r'id="id_api_example"[^>]*>([^<]+)</textarea>', html).group(1))
        # Run the example as curl would: its method, header, body and URL.
        command = shlex.split(example)
        assert command[0] == "curl" and (method == "GET") == ("-X" not in command)
        headers = dict(
            command[i + 1].split(": ", 1) for i, arg in enumerate(command) if arg == "-H"
        )
        assert headers["Authorization"] == f"Bearer {secret}"
        target = urlsplit(command[-1])
        path = f"{target.path}?{target.query}" if target.query else target.path
        if method == "GET":
            answer = client.get(path, headers=headers)
        else:
            body = command[command.index("-d") + 1]
            answer = client.post(
                path, body, content_type=headers.pop("Content-Type"), headers=headers
            )
        assert answer.status_code in (200, 201), answer.content

    def test_errors_and_revoke(self, owner_client, workspace):
        bad = owner_client.post(url(workspace, "settings/api-keys/"), {"name": "", "scopes": []})
        assert bad.status_code == 422
        assert "Choose at least one scope." in bad.content.decode()
        owner_client.post(
            url(workspace, "settings/api-keys/"), {"name": "CI", "scopes": ["settings:read"]}
        )
        key = ApiKey.objects.get(workspace=workspace, name="CI")
        owner_client.post(url(workspace, f"settings/api-keys/{key.pk}/revoke/"))
        key.refresh_from_db()
        assert key.revoked_at is not None

    def test_another_workspace_key_is_404(self, owner_client, workspace, other_api):
        theirs = ApiKey.objects.exclude(workspace=workspace).get()
        response = owner_client.post(url(workspace, f"settings/api-keys/{theirs.pk}/revoke/"))
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.revoked_at is None


class TestCustomFieldSettings:
    def test_create_every_type(self, owner_client, workspace):
        posts = [
            {"label": "Budget", "field_type": "number", "min_value": "0", "max_value": "10.5"},
            {"label": "Renewal date", "field_type": "date"},
            {"label": "Partner", "field_type": "boolean", "required": "on"},
            {"label": "Plan", "field_type": "choice", "choices": "free\npro\n\n"},
            {"label": "Channels", "field_type": "multi_choice", "choices": "email\nphone"},
            {
                "label": "Ref",
                "key": "ref_code",
                "field_type": "text",
                "pattern": "[A-Z]+",
                "max_length": "8",
                "position": "3",
            },
        ]
        for data in posts:
            response = owner_client.post(url(workspace, "settings/fields/"), data)
            assert response.status_code == 302, response.content.decode()
        fields = {f.key: f for f in CustomField.objects.filter(workspace=workspace)}
        assert set(fields) == {"budget", "renewal_date", "partner", "plan", "channels", "ref_code"}
        assert (fields["budget"].min_value, fields["budget"].max_value) == (0, 10.5)
        assert fields["partner"].required is True
        assert fields["plan"].choices == ["free", "pro"]
        assert (fields["ref_code"].pattern, fields["ref_code"].max_length) == ("[A-Z]+", 8)

    def test_errors_show_beside_fields(self, owner_client, workspace):
        response = owner_client.post(
            url(workspace, "settings/fields/"),
            {"label": "", "field_type": "choice", "choices": "", "pattern": "([", "min_value": "x"},
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_min_value_error"' in html
        response = owner_client.post(
            url(workspace, "settings/fields/"),
            {"label": "", "field_type": "choice", "choices": "", "pattern": "(["},
        )
        html = response.content.decode()
        for name in ("label", "choices", "pattern"):
            assert f'id="id_{name}_error"' in html, name

    def test_edit_and_delete(self, owner_client, workspace):
        owner_client.post(
            url(workspace, "settings/fields/"),
            {"label": "Plan", "field_type": "choice", "choices": "free"},
        )
        field = CustomField.objects.get(workspace=workspace)
        page = owner_client.get(url(workspace, f"settings/fields/{field.pk}/"))
        assert "Fixed once created." in page.content.decode()
        response = owner_client.post(
            url(workspace, f"settings/fields/{field.pk}/"),
            {"label": "Pricing plan", "choices": "free\npro\nenterprise", "required": "on"},
        )
        assert response.status_code == 302
        field.refresh_from_db()
        assert (field.label, field.choices, field.required) == (
            "Pricing plan",
            ["free", "pro", "enterprise"],
            True,
        )
        owner_client.post(url(workspace, f"settings/fields/{field.pk}/delete/"))
        assert not CustomField.objects.filter(pk=field.pk).exists()


def test_audit_log_for_owner_and_admin_only(owner_client, client_for, workspace, contact):
    owner_client.post(
        url(workspace, "settings/"), {"name": "Renamed <b>Co</b>", "default_country": "GB"}
    )
    assert AuditEntry.objects.filter(workspace=workspace, action="workspace.updated").exists()
    html = owner_client.get(url(workspace, "settings/audit/")).content.decode()
    assert "workspace.updated" in html
    assert "<b>Co</b>" not in html and "&lt;b&gt;Co&lt;/b&gt;" in html
    admin, _ = client_for("admin")
    assert admin.get(url(workspace, "settings/audit/")).status_code == 200
    for role in ("marketer", "sales", "viewer"):
        other, _ = client_for(role)
        assert other.get(url(workspace, "settings/audit/")).status_code == 403, role
