"""The contact page's Consent section: the status per purpose and the history with text,
version, source, time and address; a member's change recorded as a ledger row; bad input
named; viewers read but do not record; the CSV downloads."""

import csv
import io

from leadflow.contacts.models import ConsentEntry
from leadflow.contacts.services import ConsentGiven, consent_record
from leadflow.core.actors import Actor

from .conftest import url


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_section_shows_each_purpose_and_the_history(owner_client, workspace, contact):
    consent_record(
        workspace=workspace,
        contact=contact,
        given=ConsentGiven(
            purpose="newsletter",
            status="confirmed",
            source="double_opt_in",
            text="<b>Send me</b> the newsletter",
            version="abc123",
            ip="203.0.113.7",
            source_ref="form 4: Newsletter",
        ),
        actor=Actor.system("double opt-in"),
    )
    html = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    section = html[html.index('id="consent"') :]
    assert 'data-purpose="newsletter"' in section and "Confirmed" in section
    assert 'data-purpose="sms"' in section
    assert "&lt;b&gt;Send me&lt;/b&gt; the newsletter" in section  # escaped, never markup
    assert "abc123" in section and "203.0.113.7" in section
    assert "Double opt-in confirmation" in section and "form 4: Newsletter" in section


def test_a_member_records_a_change_and_bad_input_is_named(owner_client, workspace, contact):
    path = url(workspace, f"contacts/{contact.pk}/consent/")
    response = owner_client.post(
        path,
        {"purpose": "sms", "status": "denied", "note": "Said no on the phone"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Said no on the phone" in response.content.decode()
    entry = ConsentEntry.objects.get(contact=contact)
    assert (entry.purpose, entry.status, entry.source) == ("sms", "denied", "manual")
    assert entry.actor_user_id is not None
    response = owner_client.post(
        path, {"purpose": "telepathy", "status": "later"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'aria-invalid="true"' in body and "Not a purpose here" in body
    assert ConsentEntry.objects.filter(contact=contact).count() == 1


def test_viewers_read_but_do_not_record_or_export(client_for, workspace, contact):
    viewer, _ = client_for("viewer")
    page = viewer.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert 'id="consent"' in page and "Record consent" not in page
    response = viewer.post(
        url(workspace, f"contacts/{contact.pk}/consent/"), {"purpose": "sms", "status": "granted"}
    )
    assert response.status_code == 403
    assert viewer.get(url(workspace, "contacts/consent.csv")).status_code == 403
    assert not ConsentEntry.objects.exists()


def test_the_downloads_hold_the_ledger(owner_client, workspace, contact, other_contact):
    for person, ws in ((contact, workspace), (other_contact, other_contact.workspace)):
        consent_record(
            workspace=ws,
            contact=person,
            given=ConsentGiven(purpose="marketing_email", status="granted", source="api"),
            actor=Actor.system("tests"),
        )
    rows = _csv(owner_client.get(url(workspace, "contacts/consent.csv")))
    assert [row[2] for row in rows[1:]] == ["ann@lee-corp.com"]
    one = _csv(owner_client.get(url(workspace, f"contacts/{contact.pk}/consent.csv")))
    assert len(one) == 2 and one[1][3:5] == ["marketing_email", "granted"]
    response = owner_client.get(url(workspace, f"contacts/{other_contact.pk}/consent.csv"))
    assert response.status_code == 404
