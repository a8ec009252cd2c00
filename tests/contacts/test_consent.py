"""The consent ledger: statuses derived from the latest row per purpose, every writer
appending rows through the one service, merges moving rows, the export, the API (tenancy,
scopes, bad input) and the migration that turned each status into a first row."""

import csv
import importlib
import io
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.consent import (
    consent_current,
    consent_export_rows,
    consent_statuses,
    lawful_basis,
    purpose_for_topic,
)
from leadflow.contacts.models import Activity, ConsentEntry, ConsentPurpose, Contact
from leadflow.contacts.services import (
    ConsentGiven,
    consent_record,
    consent_record_many,
    contact_delete,
    contact_merge,
    contact_update,
    contact_upsert,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed

SYSTEM = Actor.system("tests")


def given(purpose="marketing_email", status="granted", source="api", **more) -> ConsentGiven:
    return ConsentGiven(purpose=purpose, status=status, source=source, **more)


@pytest.fixture
def ann(workspace, owner_actor):
    return contact_upsert(
        workspace=workspace, data={"email": "ann@initech.com"}, actor=owner_actor
    ).contact


def statuses(workspace, contact) -> dict[str, str]:
    return {item["purpose"]: item["status"] for item in consent_current(workspace.pk, contact.pk)}


def test_the_latest_row_of_each_purpose_is_the_status(workspace, ann):
    consent_record(workspace=workspace, contact=ann, given=given(), actor=SYSTEM)
    consent_record(workspace=workspace, contact=ann, given=given("sms", "denied"), actor=SYSTEM)
    consent_record(workspace=workspace, contact=ann, given=given(status="withdrawn"), actor=SYSTEM)
    assert statuses(workspace, ann)["marketing_email"] == "withdrawn"
    # Withdraw, then grant again: the grant is the latest, so it stands.
    consent_record(workspace=workspace, contact=ann, given=given(), actor=SYSTEM)
    now = statuses(workspace, ann)
    assert (now["marketing_email"], now["sms"], now["newsletter"]) == (
        "granted",
        "denied",
        "unknown",
    )
    ann.refresh_from_db()
    assert ann.consent_status == "granted"  # the summary is derived, in the same transaction
    assert ConsentEntry.objects.filter(contact=ann).count() == 4  # appended, never edited
    changes = Activity.objects.filter(contact=ann, kind="consent.changed").order_by("id")
    assert [(a.data["purpose"], a.data["from"], a.data["to"]) for a in changes] == [
        ("marketing_email", "unknown", "granted"),
        ("sms", "unknown", "denied"),
        ("marketing_email", "granted", "withdrawn"),
        ("marketing_email", "withdrawn", "granted"),
    ]


def test_the_summary_follows_only_marketing_email(workspace, ann):
    consent_record(workspace=workspace, contact=ann, given=given("newsletter"), actor=SYSTEM)
    ann.refresh_from_db()
    assert ann.consent_status == "unknown"
    assert consent_statuses(workspace.pk, [ann.pk], "newsletter") == {ann.pk: "granted"}


def test_a_grant_after_a_confirmation_keeps_it_confirmed(workspace, ann):
    consent_record(workspace=workspace, contact=ann, given=given(status="confirmed"), actor=SYSTEM)
    entry = consent_record(workspace=workspace, contact=ann, given=given(), actor=SYSTEM)
    assert entry.status == "confirmed" and "Granted again" in entry.note
    assert statuses(workspace, ann)["marketing_email"] == "confirmed"
    # A withdrawal after it still withdraws.
    consent_record(workspace=workspace, contact=ann, given=given(status="withdrawn"), actor=SYSTEM)
    assert statuses(workspace, ann)["marketing_email"] == "withdrawn"


def test_the_bulk_writer_is_set_based_and_keeps_the_order(workspace, owner_actor):
    people = [
        contact_upsert(
            workspace=workspace, data={"email": f"p{i}@initech.com"}, actor=SYSTEM
        ).contact.pk
        for i in range(30)
    ]
    entries = [(pk, given()) for pk in people] + [(people[0], given(status="withdrawn"))]
    with CaptureQueriesContext(connection) as queries:
        consent_record_many(workspace=workspace, entries=entries, actor=owner_actor)
    # Lock, current statuses, rows, summaries, activities (+ savepoint noise): not per row.
    assert len(queries.captured_queries) <= 8
    result = consent_statuses(workspace.pk, people, "marketing_email")
    assert result[people[0]] == "withdrawn"
    assert set(result[pk] for pk in people[1:]) == {"granted"}
    assert consent_statuses(workspace.pk, people, "sms") == dict.fromkeys(people, "unknown")


def test_unknown_purposes_statuses_and_addresses_are_named(workspace, ann, api):
    response = api.post(
        f"/contacts/{ann.pk}/consent",
        {"purpose": "telepathy", "status": "granted", "ip": "not-an-ip"},
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"purpose", "ip"}
    response = api.post(f"/contacts/{ann.pk}/consent", {"purpose": "sms", "status": "maybe"})
    assert response.status_code == 422
    assert "status" in {error["field"] for error in response.json()["errors"]}
    response = api.post(f"/contacts/{ann.pk}/consent", {"status": "granted"})
    assert response.status_code == 422
    assert "purpose" in {error["field"] for error in response.json()["errors"]}
    assert not ConsentEntry.objects.exists()
    # The contact's own field: "unknown" cannot be recorded over a status.
    consent_record(workspace=workspace, contact=ann, given=given(), actor=SYSTEM)
    with pytest.raises(ValidationFailed) as failure:
        contact_update(
            workspace=workspace, contact_id=ann.pk, data={"consent_status": "unknown"}, actor=SYSTEM
        )
    assert failure.value.errors[0].field == "consent_status"


def test_a_workspace_purpose_of_its_own_is_accepted(workspace, ann, api):
    ConsentPurpose.objects.create(workspace=workspace, key="events", label="Event invitations")
    response = api.post(f"/contacts/{ann.pk}/consent", {"purpose": "events", "status": "granted"})
    assert response.status_code == 201, response.content
    assert {p["purpose"]: p["status"] for p in response.json()["purposes"]}["events"] == "granted"


def test_the_api_and_the_contact_fields_write_rows(workspace, api):
    created = api.post("/contacts", {"email": "bo@initech.com", "consent_status": "granted"})
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert api.patch(f"/contacts/{contact_id}", {"consent_status": "withdrawn"}).status_code == 200
    rows = ConsentEntry.objects.filter(contact_id=contact_id).order_by("id")
    assert [(r.status, r.source) for r in rows] == [("granted", "api"), ("withdrawn", "api")]
    response = api.post(
        f"/contacts/{contact_id}/consent",
        {
            "purpose": "newsletter",
            "status": "granted",
            "text": "Send me the monthly newsletter.",
            "version": "v3",
            "source_ref": "call 2026-12-01",
            "ip": "203.0.113.9",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["consent_status"] == "withdrawn"
    newest = body["history"][0]
    assert (newest["purpose"], newest["text"], newest["version"], newest["ip"]) == (
        "newsletter",
        "Send me the monthly newsletter.",
        "v3",
        "203.0.113.9",
    )
    assert newest["source"] == "api" and newest["recorded_by"]
    listed = api.get(f"/contacts/{contact_id}/consent").json()
    assert [row["id"] for row in listed["history"]] == [row["id"] for row in body["history"]]
    assert {p["purpose"]: p["status"] for p in listed["purposes"]} == {
        "marketing_email": "withdrawn",
        "newsletter": "granted",
        "sms": "unknown",
        "profiling": "unknown",
    }


def test_another_workspaces_contact_is_404_and_scopes_are_checked(
    workspace, ann, other_api, api_key_for
):
    assert other_api.get(f"/contacts/{ann.pk}/consent").status_code == 404
    response = other_api.post(
        f"/contacts/{ann.pk}/consent", {"purpose": "sms", "status": "granted"}
    )
    assert response.status_code == 404
    reader = api_key_for(workspace, scopes=["contacts:read"])
    assert reader.get(f"/contacts/{ann.pk}/consent").status_code == 200
    response = reader.post(f"/contacts/{ann.pk}/consent", {"purpose": "sms", "status": "granted"})
    assert response.status_code == 403
    settings_only = api_key_for(workspace, scopes=["settings:read"])
    assert settings_only.get(f"/contacts/{ann.pk}/consent").status_code == 403
    assert settings_only.get("/consent/export.csv").status_code == 403
    assert not ConsentEntry.objects.exists()


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_workspace_export_holds_every_row_and_only_its_own(
    workspace, other_workspace, ann, api
):
    other = contact_upsert(
        workspace=other_workspace, data={"email": "zed@other-co.com"}, actor=SYSTEM
    ).contact
    consent_record(workspace=other_workspace, contact=other, given=given(), actor=SYSTEM)
    consent_record(
        workspace=workspace,
        contact=ann,
        given=given(text='=HYPERLINK("x")', version="v1", ip="198.51.100.4"),
        actor=SYSTEM,
    )
    consent_record(workspace=workspace, contact=ann, given=given(status="withdrawn"), actor=SYSTEM)
    response = api.get("/consent/export.csv")
    assert response.status_code == 200
    rows = _csv(response)
    assert rows[0][:5] == ["entry_id", "contact_id", "email", "purpose", "status"]
    assert [(r[2], r[4]) for r in rows[1:]] == [
        ("ann@initech.com", "granted"),
        ("ann@initech.com", "withdrawn"),
    ]
    assert rows[1][5].startswith("'=")  # formula-safe
    assert rows[1][11] == "198.51.100.4"
    one = list(consent_export_rows(workspace.pk, contact_ids=[ann.pk]))
    assert len(one) == 3


def test_a_merge_keeps_both_ledgers_on_the_survivor(workspace, owner_actor):
    first = contact_upsert(
        workspace=workspace, data={"email": "a@initech.com"}, actor=owner_actor
    ).contact
    second = contact_upsert(
        workspace=workspace, data={"email": "b@initech.com"}, actor=owner_actor
    ).contact
    consent_record(workspace=workspace, contact=first, given=given(), actor=SYSTEM)
    consent_record(workspace=workspace, contact=second, given=given("sms"), actor=SYSTEM)
    consent_record(
        workspace=workspace, contact=second, given=given(status="withdrawn"), actor=SYSTEM
    )
    ids = set(ConsentEntry.objects.values_list("pk", flat=True))
    merged = contact_merge(
        workspace=workspace, primary_id=first.pk, secondary_id=second.pk, actor=owner_actor
    )
    assert set(merged.consent_entries.values_list("pk", flat=True)) == ids
    # A merge never opts back in someone who opted out: the latest row is the withdrawal.
    now = statuses(workspace, merged)
    assert (now["marketing_email"], now["sms"]) == ("withdrawn", "granted")
    merged.refresh_from_db()
    assert merged.consent_status == "withdrawn"


def test_a_merge_that_keeps_the_stronger_status_records_it(workspace, owner_actor):
    older = contact_upsert(
        workspace=workspace, data={"email": "a@initech.com"}, actor=owner_actor
    ).contact
    newer = contact_upsert(
        workspace=workspace, data={"email": "b@initech.com"}, actor=owner_actor
    ).contact
    consent_record(
        workspace=workspace, contact=older, given=given(status="withdrawn"), actor=SYSTEM
    )
    consent_record(workspace=workspace, contact=newer, given=given(), actor=SYSTEM)
    merged = contact_merge(
        workspace=workspace, primary_id=newer.pk, secondary_id=older.pk, actor=owner_actor
    )
    latest = merged.consent_entries.order_by("-id").first()
    assert (latest.status, latest.source) == ("withdrawn", "merge")
    assert merged.consent_status == "withdrawn"


def test_deleting_a_contact_deletes_its_ledger(workspace, ann, owner_actor):
    consent_record(workspace=workspace, contact=ann, given=given(), actor=SYSTEM)
    contact_delete(workspace=workspace, contact_id=ann.pk, actor=owner_actor)
    assert not ConsentEntry.objects.exists()


def test_topics_map_to_purposes_and_newsletters_need_a_confirmation():
    assert purpose_for_topic("marketing") == "marketing_email"
    assert purpose_for_topic("Newsletter") == "newsletter"
    assert purpose_for_topic("whatever") == "marketing_email"
    assert lawful_basis("marketing_email", "granted") and lawful_basis("sms", "confirmed")
    assert not lawful_basis("newsletter", "granted")
    assert lawful_basis("newsletter", "confirmed")
    assert not any(lawful_basis("marketing_email", s) for s in ("unknown", "withdrawn", "denied"))


def test_the_migration_turns_each_status_into_a_first_row(workspace):
    migration = importlib.import_module("leadflow.contacts.migrations.0024_consent_ledger")
    Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email="g@initech.com", consent_status="granted"),
            Contact(workspace=workspace, email="w@initech.com", consent_status="withdrawn"),
            Contact(workspace=workspace, email="u@initech.com", consent_status="unknown"),
        ]
    )
    migration.ledger_fill(None, types.SimpleNamespace(connection=connection))
    rows = ConsentEntry.objects.order_by("contact__email").values_list(
        "contact__email", "purpose", "status", "source"
    )
    assert list(rows) == [
        ("g@initech.com", "marketing_email", "granted", "migrated"),
        ("w@initech.com", "marketing_email", "withdrawn", "migrated"),
    ]


def test_a_workspace_adds_purposes_of_its_own_through_the_api(workspace, ann, api, other_api):
    listed = api.get("/consent/purposes").json()
    assert [p["key"] for p in listed] == ["marketing_email", "newsletter", "sms", "profiling"]
    response = api.post("/consent/purposes", {"key": "events", "label": "Event invitations"})
    assert response.status_code == 201, response.content
    assert response.json() == {"key": "events", "label": "Event invitations", "default": False}
    for bad, field in (
        (("Bad Key", "X"), "key"),
        (("sms", "SMS"), "key"),
        (("ok_key", ""), "label"),
    ):
        response = api.post("/consent/purposes", {"key": bad[0], "label": bad[1]})
        assert response.status_code == 422
        assert field in {error["field"] for error in response.json()["errors"]}
    # Another workspace does not have it.
    assert "events" not in [p["key"] for p in other_api.get("/consent/purposes").json()]
    assert (
        api.post(
            f"/contacts/{ann.pk}/consent", {"purpose": "events", "status": "granted"}
        ).status_code
        == 201
    )
    assert ConsentPurpose.objects.filter(workspace=workspace).count() == 1
