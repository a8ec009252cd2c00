"""An import's consent column writes the consent ledger (source "import"), set-based: new
contacts get their row quietly, a changed one a ``consent.changed`` too; a file imported
twice appends nothing more; "unknown" is no information; ``conflict=existing`` only fills
an unknown status."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Activity, ConsentEntry, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.imports.models import ImportStatus

from .test_import import run, write

HEADER = "Email,First Name,Consent\n"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def test_the_consent_column_becomes_ledger_rows(workspace, owner_actor, tmp_path):
    known = contact_upsert(
        workspace=workspace,
        data={"email": "kim@initech.com", "consent_status": "granted"},
        actor=owner_actor,
    ).contact
    rows = "".join(f"p{i}@initech.com,P{i},granted\n" for i in range(40))
    path = write(
        tmp_path, HEADER + rows + "kim@initech.com,Kim,withdrawn\nnone@initech.com,N,unknown\n"
    )
    with CaptureQueriesContext(connection) as queries:
        job = run(workspace, owner_actor, path)
    assert job.status == ImportStatus.DONE
    imported = ConsentEntry.objects.filter(source="import")
    assert imported.count() == 41
    assert set(imported.values_list("source_ref", flat=True)) == {f"import {job.pk}"}
    assert set(imported.values_list("status", flat=True)) == {"granted", "withdrawn"}
    # Set-based: the ledger is written by a handful of statements, not one per row.
    inserts = [
        q for q in queries.captured_queries if 'INSERT INTO "contacts_consententry"' in q["sql"]
    ]
    assert 1 <= len(inserts) <= 2
    summary = dict(Contact.objects.values_list("email", "consent_status"))
    assert summary["kim@initech.com"] == "withdrawn"
    assert summary["p0@initech.com"] == "granted" and summary["none@initech.com"] == "unknown"
    changes = Activity.objects.filter(kind="consent.changed", data__source="import")
    assert list(changes.values_list("contact_id", flat=True)) == [known.pk]

    again = run(workspace, owner_actor, write(tmp_path, HEADER + rows, name="again.csv"))
    assert again.status == ImportStatus.DONE
    assert ConsentEntry.objects.filter(source="import").count() == 41


def test_keeping_existing_values_only_fills_an_unknown_consent(workspace, owner_actor, tmp_path):
    for email, status in (("a@initech.com", "withdrawn"), ("b@initech.com", None)):
        data = {"email": email, **({"consent_status": status} if status else {})}
        contact_upsert(workspace=workspace, data=data, actor=owner_actor)
    path = write(tmp_path, HEADER + "a@initech.com,A,granted\nb@initech.com,B,granted\n")
    job = run(workspace, owner_actor, path, options={"conflict": "existing"})
    assert job.status == ImportStatus.DONE
    summary = dict(Contact.objects.values_list("email", "consent_status"))
    assert summary == {"a@initech.com": "withdrawn", "b@initech.com": "granted"}
    assert list(ConsentEntry.objects.filter(source="import").values_list("contact__email")) == [
        ("b@initech.com",)
    ]
