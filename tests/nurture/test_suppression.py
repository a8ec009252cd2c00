"""The suppression list: hashed, one row per address, audited adds and removals, CSV
import, the check every sender asks through ``contacts.suppression`` (a member's 1:1 email
to a suppressed address is refused, through the worker and a real SMTP server)."""

import hashlib

import pytest

from leadflow.contacts.services import contact_delete, contact_upsert
from leadflow.contacts.suppression import SUPPRESSION_CHECKS, email_suppressed
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import AuditEntry
from leadflow.nurture.models import Suppression, address_hash
from leadflow.nurture.selectors import suppression_counts, suppression_reason
from leadflow.nurture.services import (
    suppression_add,
    suppression_remove,
    suppressions_import,
)
from leadflow.sales.models import PersonalEmail
from leadflow.sales.services import personal_email_send
from tests.capture.test_notifications import run_worker, smtp  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_check_is_registered_with_the_contacts_door():
    assert suppression_reason in SUPPRESSION_CHECKS


def test_the_list_keeps_a_sha256_of_the_lower_cased_address_never_the_address(
    workspace, owner_actor
):
    added = suppression_add(
        workspace=workspace, address=" Ann@Example.ORG ", reason="manual", actor=owner_actor
    )
    assert added.created
    expected = hashlib.sha256(b"ann@example.org").hexdigest()
    assert added.suppression.address_hash == expected == address_hash("ANN@example.org")
    row = Suppression.objects.values().get()
    assert not any("ann" in str(value).lower() for value in row.values())
    audit = AuditEntry.objects.get(action="suppression.added")
    assert "ann" not in str(audit.changes).lower() and audit.changes["address_hash"] == expected


def test_an_address_is_listed_once_and_keeps_its_first_reason(workspace, owner_actor):
    first = suppression_add(
        workspace=workspace, address="a@example.org", reason="hard_bounce", actor=owner_actor
    )
    again = suppression_add(
        workspace=workspace, address="A@example.org", reason="complaint", actor=owner_actor
    )
    assert not again.created and again.suppression.pk == first.suppression.pk
    assert Suppression.objects.get().reason == "hard_bounce"
    assert email_suppressed(workspace.pk, "a@example.org") == "hard bounce"
    assert AuditEntry.objects.filter(action="suppression.added").count() == 1


def test_a_hash_from_elsewhere_is_accepted_as_it_is(workspace, owner_actor):
    digest = hashlib.sha256(b"pre@hashed.com").hexdigest()
    suppression_add(
        workspace=workspace, address=digest.upper(), reason="imported", actor=owner_actor
    )
    assert email_suppressed(workspace.pk, "Pre@Hashed.com") == "imported"


def test_bad_addresses_and_reasons_are_refused(workspace, owner_actor):
    with pytest.raises(ValidationFailed):
        suppression_add(
            workspace=workspace, address="not an address", reason="manual", actor=owner_actor
        )
    with pytest.raises(ValidationFailed):
        suppression_add(workspace=workspace, address="a@b.com", reason="bored", actor=owner_actor)
    assert not Suppression.objects.exists()


def test_removal_is_audited_with_the_hash_reason_and_since(workspace, owner_actor):
    row = suppression_add(
        workspace=workspace, address="a@example.org", reason="complaint", actor=owner_actor
    ).suppression
    suppression_remove(workspace=workspace, suppression_id=row.pk, actor=owner_actor)
    assert email_suppressed(workspace.pk, "a@example.org") is None
    entry = AuditEntry.objects.get(action="suppression.removed")
    assert entry.actor_user_id == owner_actor.user_id
    assert entry.changes["address_hash"] == row.address_hash
    assert entry.changes["reason"] == "complaint" and entry.changes["suppressed_since"]


def test_another_workspaces_row_cannot_be_removed(workspace, other_workspace, owner_actor):
    row = suppression_add(
        workspace=other_workspace, address="a@example.org", reason="manual", actor=owner_actor
    ).suppression
    with pytest.raises(NotFound):
        suppression_remove(workspace=workspace, suppression_id=row.pk, actor=owner_actor)
    assert Suppression.objects.filter(pk=row.pk).exists()
    assert email_suppressed(workspace.pk, "a@example.org") is None


def test_a_csv_import_suppresses_new_addresses_once_and_names_bad_rows(workspace, owner_actor):
    suppression_add(
        workspace=workspace, address="old@example.org", reason="manual", actor=owner_actor
    )
    digest = hashlib.sha256(b"hashed@example.org").hexdigest()
    text = (
        "Name,Email\n"
        "Ann,ann@example.org\n"
        "Old,OLD@example.org\n"
        "Bad,not-an-address\n"
        "Again,ann@example.org\n"
        f"Hash,{digest}\n"
        "Blank,\n"
    )
    outcome = suppressions_import(workspace=workspace, text=text, actor=owner_actor)
    assert (outcome.added, outcome.already) == (2, 1)
    assert len(outcome.invalid) == 1 and outcome.invalid[0].startswith("row 4:")
    assert email_suppressed(workspace.pk, "ann@example.org") == "imported"
    assert email_suppressed(workspace.pk, "hashed@example.org") == "imported"
    assert suppression_counts(workspace) == {
        "unsubscribed": 0,
        "hard_bounce": 0,
        "complaint": 0,
        "soft_bounces": 0,
        "manual": 1,
        "imported": 2,
    }
    # Without a header row, the first column.
    again = suppressions_import(workspace=workspace, text="z@example.org\n", actor=owner_actor)
    assert again.added == 1


def test_the_row_survives_the_contacts_deletion(workspace, owner_actor):
    contact = contact_upsert(
        workspace=workspace, data={"email": "gone@example.org"}, actor=owner_actor
    ).contact
    row = suppression_add(
        workspace=workspace, address="gone@example.org", reason="complaint", actor=owner_actor
    ).suppression
    assert row.contact_id == contact.pk
    contact_delete(workspace=workspace, contact_id=contact.pk, actor=owner_actor)
    row.refresh_from_db()
    assert row.contact_id is None
    assert email_suppressed(workspace.pk, "gone@example.org") == "complaint"


@pytest.mark.django_db(transaction=True)
def test_a_personal_email_to_a_suppressed_address_is_refused_and_never_sent(
    smtp,  # noqa: F811
    workspace,
    owner_actor,
):
    kim = contact_upsert(
        workspace=workspace,
        data={"email": "kim@initech.com", "first_name": "Kim"},
        actor=owner_actor,
    ).contact
    values = {"subject": "Hello", "body": "Hi {{ first_name }}"}
    # Queued while the address was clean; the address bounces before the worker runs.
    queued = personal_email_send(
        workspace=workspace, contact_id=kim.pk, actor=owner_actor, **values
    ).email
    suppression_add(
        workspace=workspace, address="KIM@initech.com", reason="hard_bounce", actor=owner_actor
    )
    with pytest.raises(ValidationFailed) as refused:
        personal_email_send(workspace=workspace, contact_id=kim.pk, actor=owner_actor, **values)
    assert refused.value.errors[0].field == "to"
    assert "suppression list (hard bounce)" in refused.value.errors[0].message
    run_worker()
    queued.refresh_from_db()
    assert queued.status == "failed" and "suppression list (hard bounce)" in queued.error
    assert smtp.messages == []
    assert PersonalEmail.objects.count() == 1

    # Taken off the list (a member's decision): the next email goes.
    suppression_remove(
        workspace=workspace,
        suppression_id=Suppression.objects.get().pk,
        actor=owner_actor,
    )
    personal_email_send(workspace=workspace, contact_id=kim.pk, actor=owner_actor, **values)
    run_worker()
    assert [message["X-Envelope-To"] for message in smtp.messages] == ["kim@initech.com"]


def test_an_import_cannot_grant_consent_to_a_suppressed_address(
    workspace, owner_actor, tmp_path, settings
):
    """Checked through contacts.suppression's bulk door, one look-up a chunk: the row is
    stored, without its consent, and the problems file says why."""
    import csv

    from leadflow.contacts.models import Contact
    from leadflow.imports.run import import_job_run
    from leadflow.imports.services import import_job_create

    settings.DATA_DIR = tmp_path / "data"
    suppression_add(
        workspace=workspace, address="gone@example.org", reason="complaint", actor=owner_actor
    )
    path = tmp_path / "people.csv"
    path.write_text(
        "Email,First Name,Consent\n"
        "gone@example.org,Gone,granted\n"
        "new@example.org,New,granted\n"
        "GONE@example.org,Gone again,confirmed\n"
    )
    job = import_job_create(workspace=workspace, actor=owner_actor, path=path, filename=path.name)
    assert job.mapping["Consent"] == "consent_status"
    job = import_job_run(job_id=job.pk)
    assert (job.created_count, job.warning_count) == (2, 2)
    consent = dict(Contact.objects.values_list("email", "consent_status"))
    assert consent == {"gone@example.org": "unknown", "new@example.org": "granted"}
    with open(job.error_path, encoding="utf-8", newline="") as file:
        problems = list(csv.reader(file))
    assert problems[1][:3] == ["gone@example.org", "Gone", "granted"]
    assert "suppression list (complaint)" in " ".join(problems[1])


def test_the_rows_survive_a_bulk_deletion_and_a_merge(workspace, owner_actor):
    from leadflow.contacts.services import contact_merge, contacts_bulk_action

    people = [
        contact_upsert(
            workspace=workspace, data={"email": f"p{n}@example.org"}, actor=owner_actor
        ).contact
        for n in range(3)
    ]
    for person in people:
        suppression_add(
            workspace=workspace, address=person.email, reason="unsubscribed", actor=owner_actor
        )
    contact_merge(
        workspace=workspace, primary_id=people[0].pk, secondary_id=people[1].pk, actor=owner_actor
    )
    # The merged-away contact's row now names the survivor.
    assert set(Suppression.objects.values_list("contact_id", flat=True)) == {
        people[0].pk,
        people[2].pk,
    }
    contacts_bulk_action(
        workspace=workspace,
        contact_ids=[people[0].pk, people[2].pk],
        action="delete",
        value=None,
        actor=owner_actor,
    )
    assert Suppression.objects.filter(contact__isnull=True).count() == 3
    for n in range(3):
        assert email_suppressed(workspace.pk, f"p{n}@example.org") == "unsubscribed"
