"""Signing in and out, password reset by email, password change."""

import re

from django.core import mail
from django.test import Client

from tests.conftest import PASSWORD
from tests.web.conftest import url


def test_home_sends_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_workspace_page_needs_login(client, workspace):
    response = client.get(url(workspace, "contacts/"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_login_page_renders_labelled_fields(client):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert '<label for="id_password">' in html
    assert 'class="skip-link"' in html


def test_login_by_email_any_case_lands_on_the_first_workspaces_home(client, workspace, owner):
    response = client.post("/login/", {"username": "Owner@ACME-widgets.com", "password": PASSWORD})
    assert response.status_code == 302
    landing = client.get(response["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == url(workspace)
    assert landing.status_code == 200
    assert "Acme Widgets" in landing.content.decode()


def test_wrong_password_is_refused(client, owner):
    response = client.post("/login/", {"username": owner.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(owner_client):
    assert owner_client.get("/logout/").status_code == 405
    response = owner_client.post("/logout/")
    assert response.status_code == 302
    assert owner_client.get("/").status_code == 302
    assert "_auth_user_id" not in owner_client.session


def test_user_without_workspace_sees_explanation(db, django_user_model):
    user = django_user_model.objects.create_user("lonely@example.org", PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "not in a workspace yet" in response.content.decode()


def test_password_reset_by_email(client, owner):
    response = client.post("/password/reset/", {"email": "owner@acme-widgets.com"})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@acme-widgets.com"]
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/password/reset/done/"
    owner.refresh_from_db()
    assert owner.check_password("a-brand-new-secret-42")


def test_password_reset_for_unknown_email_sends_nothing_and_reveals_nothing(client, db):
    response = client.post("/password/reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/sent/"
    assert mail.outbox == []


def test_password_change(owner_client, owner):
    page = owner_client.get("/password/change/")
    assert page.status_code == 200
    response = owner_client.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-secret-77",
            "new_password2": "another-long-secret-77",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another-long-secret-77")
