"""One-click unsubscribe (RFC 8058) and its page at /u/<token>/, through Django's test
client with no cookie and CSRF checks on: the POST unsubscribes and answers 200 without a
redirect, a retry is harmless, a GET changes nothing, an altered link answers 404, the
limit answers 429 and a database outage 503."""

import pytest
from django.test import Client

from leadflow.contacts.models import Activity, ConsentStatus, Contact
from leadflow.contacts.suppression import email_suppressed
from leadflow.nurture.models import Suppression, address_hash

ONE_CLICK = {"List-Unsubscribe": "One-Click"}

pytestmark = pytest.mark.django_db


def _mail_client() -> Client:
    """What a mailbox provider is: no cookie, no CSRF token, CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def _consent_changes(contact) -> list[dict]:
    return list(
        Activity.objects.filter(contact=contact, kind="consent.changed")
        .order_by("id")
        .values_list("data", flat=True)
    )


def test_the_one_click_post_unsubscribes_with_200_and_no_redirect(workspace, kim, link_of):
    # The test client's default body is multipart/form-data, which RFC 8058 allows.
    response = _mail_client().post(link_of(kim), data=ONE_CLICK)
    assert response.status_code == 200
    assert "Location" not in response
    assert "You are unsubscribed" in response.content.decode()
    row = Suppression.objects.get(workspace=workspace)
    assert row.address_hash == address_hash("kim@initech.com")
    assert row.reason == "unsubscribed" and row.source == "one-click"
    assert row.contact_id == kim.pk
    assert email_suppressed(workspace.pk, "KIM@initech.com ") == "unsubscribed"
    kim.refresh_from_db()
    assert kim.consent_status == ConsentStatus.WITHDRAWN
    assert _consent_changes(kim) == [
        {
            "from": "granted",
            "to": "withdrawn",
            "purpose": "marketing_email",
            "source": "one_click_unsubscribe",
        }
    ]
    # The ledger keeps the withdrawal with its source and the message it came from.
    latest = kim.consent_entries.order_by("-id").first()
    assert (latest.purpose, latest.status, latest.source) == (
        "marketing_email",
        "withdrawn",
        "one_click_unsubscribe",
    )


def test_a_retried_post_changes_nothing_and_still_answers_200(workspace, kim, link_of):
    client = _mail_client()
    assert client.post(link_of(kim), data=ONE_CLICK).status_code == 200
    for _ in range(2):
        assert client.post(link_of(kim), data=ONE_CLICK).status_code == 200
    assert Suppression.objects.filter(workspace=workspace).count() == 1
    assert len(_consent_changes(kim)) == 1


def test_the_one_click_body_url_encoded_as_mail_providers_send_it(workspace, kim, link_of):
    response = _mail_client().post(
        link_of(kim),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Suppression.objects.filter(workspace=workspace).count() == 1


def test_a_get_shows_the_confirmation_and_never_unsubscribes(workspace, kim, link_of):
    client = _mail_client()
    assert client.head(link_of(kim)).status_code == 200  # a scanner checking the link
    for _ in range(3):  # a link scanner, a preview, the person
        response = client.get(link_of(kim))
        assert response.status_code == 200
    page = response.content.decode()
    assert "kim@initech.com" in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page and 'method="post"' in page
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not Suppression.objects.exists()
    kim.refresh_from_db()
    assert kim.consent_status == ConsentStatus.GRANTED
    assert _consent_changes(kim) == []


def test_a_post_without_the_one_click_field_changes_nothing(workspace, kim, link_of):
    response = _mail_client().post(link_of(kim), data={"something": "else"})
    assert response.status_code == 400
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("change", ["flip", "cut", "garbage"])
def test_an_altered_link_answers_a_clear_404_and_changes_nothing(kim, link_of, change):
    path = link_of(kim)
    token = path.removeprefix("/u/").removesuffix("/")
    altered = {
        "flip": token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:],
        "cut": token[: len(token) // 2],
        "garbage": "not-a-token",
    }[change]
    client = _mail_client()
    for response in (client.get(f"/u/{altered}/"), client.post(f"/u/{altered}/", ONE_CLICK)):
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()
    assert not Suppression.objects.exists()


def test_a_link_signed_for_another_address_cannot_be_forged_from_this_one(workspace, kim, link_of):
    """The token signs the address: swapping the visible part of a token for another
    address's payload fails the signature."""
    other = link_of(workspace=workspace, address="someone@else.com")
    mine = link_of(kim)
    payload_other = other.removeprefix("/u/").split(":")[0]
    rest_mine = mine.removeprefix("/u/").split(":", 1)[1]
    response = _mail_client().post(f"/u/{payload_other}:{rest_mine}", data=ONE_CLICK)
    assert response.status_code == 404
    assert not Suppression.objects.exists()


def test_a_link_without_a_contact_suppresses_the_address(workspace, link_of):
    """A test send goes to an address that may not be a contact."""
    response = _mail_client().post(
        link_of(workspace=workspace, address="tester@acme-widgets.com"), data=ONE_CLICK
    )
    assert response.status_code == 200
    assert email_suppressed(workspace.pk, "tester@acme-widgets.com") == "unsubscribed"


def test_a_link_of_another_workspace_touches_only_that_workspace(
    workspace, other_workspace, kim, link_of
):
    _mail_client().post(link_of(workspace=other_workspace, address=kim.email), data=ONE_CLICK)
    assert email_suppressed(other_workspace.pk, kim.email) == "unsubscribed"
    assert email_suppressed(workspace.pk, kim.email) is None
    kim.refresh_from_db()
    assert kim.consent_status == ConsentStatus.GRANTED


def test_too_many_requests_from_one_address_answer_429(settings, kim, link_of):
    settings.LEADFLOW_UNSUBSCRIBE_RATE_PER_IP = 3
    client = _mail_client()
    answers = [client.get(link_of(kim), REMOTE_ADDR="203.0.113.9").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get(link_of(kim), REMOTE_ADDR="203.0.113.10").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_answers_503_and_stores_nothing(kim, link_of):
    from tests.core.test_database_failure import database_down

    path = link_of(kim)
    with database_down():
        response = _mail_client().post(path, data=ONE_CLICK)
    assert response.status_code == 503 and response["Retry-After"]
    assert not Suppression.objects.exists()


def test_the_suppression_survives_the_contacts_deletion(workspace, kim, link_of, owner_actor):
    from leadflow.contacts.services import contact_delete

    _mail_client().post(link_of(kim), data=ONE_CLICK)
    contact_delete(workspace=workspace, contact_id=kim.pk, actor=owner_actor)
    assert not Contact.objects.filter(pk=kim.pk).exists()
    row = Suppression.objects.get(workspace=workspace)
    assert row.contact_id is None and row.reason == "unsubscribed"
    assert email_suppressed(workspace.pk, "kim@initech.com") == "unsubscribed"
    # The person comes back (a form, an import): the new contact is still suppressed.
    from leadflow.contacts.services import contact_upsert

    again = contact_upsert(
        workspace=workspace, data={"email": "kim@initech.com"}, actor=owner_actor
    ).contact
    assert again.pk != kim.pk
    assert email_suppressed(workspace.pk, again.email) == "unsubscribed"
