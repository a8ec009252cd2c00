"""Sign-in is throttled by account and by address: wrong passwords are counted, the limit
answers 429 with a message saying when to try again, and reaching it is audited."""

import pytest
from django.test import Client

from leadflow.core.models import AuditEntry
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    from django.core.cache import cache

    settings.LEADFLOW_LOGIN_FAILURES_PER_ACCOUNT = 5
    settings.LEADFLOW_LOGIN_FAILURES_PER_IP = 20
    settings.LEADFLOW_LOGIN_LOCK_MINUTES = 15
    cache.clear()
    yield
    cache.clear()


def sign_in(email: str, password: str, ip: str = "198.51.100.7"):
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": email, "password": password})


def test_thirty_wrong_passwords_in_a_row_are_throttled_after_five(owner):
    statuses = [sign_in(owner.email, f"guess-{n}").status_code for n in range(30)]
    assert statuses == [200] * 5 + [429] * 25
    refused = sign_in(owner.email, "guess-31")
    html = refused.content.decode()
    assert "Too many wrong passwords for this account or from this network" in html
    assert "Try again in 15 minutes" in html  # from the attempt that reached the limit
    assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60


def test_the_right_password_is_refused_too_while_the_account_is_throttled(owner):
    for n in range(5):
        sign_in(owner.email, f"guess-{n}")
    response = sign_in(owner.email, PASSWORD, ip="203.0.113.50")  # another address
    assert response.status_code == 429
    assert "_auth_user_id" not in response.client.session


def test_one_address_guessing_many_accounts_is_throttled(owner, make_member):
    for n in range(20):
        assert sign_in(f"someone{n}@acme-widgets.com", "guess").status_code == 200
    assert sign_in(owner.email, PASSWORD).status_code == 429
    assert sign_in(owner.email, PASSWORD, ip="203.0.113.50").status_code == 302


def test_a_right_password_clears_the_accounts_count(owner):
    for n in range(4):
        sign_in(owner.email, f"typo-{n}")
    assert sign_in(owner.email, PASSWORD).status_code == 302
    again = [sign_in(owner.email, f"typo-again-{n}").status_code for n in range(6)]
    assert again == [200] * 5 + [429]  # five more before the limit, not one


def test_reaching_the_limit_is_audited_once_in_the_accounts_workspace(workspace, owner):
    for n in range(12):
        sign_in(owner.email, f"guess-{n}")
    entries = AuditEntry.objects.filter(workspace=workspace, action="login.throttled")
    assert [(e.object_label, e.changes["scope"], e.changes["ip"]) for e in entries] == [
        (str(owner), "account", "198.51.100.7")
    ]
    assert entries[0].actor_label == "sign-in from 198.51.100.7"
