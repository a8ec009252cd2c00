"""The PostgreSQL fast path for new leads stores exactly what the ORM path stores."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.capture.models import ConsentRecord, Submission
from leadflow.contacts.models import Activity, ConsentEntry, Contact

from .conftest import PublicClient, good_fields

CONTACT_FIELDS = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "country",
    "lifecycle_stage",
    "temperature",
    "consent_status",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "custom_fields",
    "search_text",
]


def snapshot(email: str) -> dict:
    contact = Contact.objects.select_related("company").get(email=email)
    submission = Submission.objects.get(contact=contact)
    return {
        "contact": {name: getattr(contact, name) for name in CONTACT_FIELDS},
        "company": (contact.company.name, contact.company.domain) if contact.company else None,
        "tags": sorted(contact.tags.values_list("name", flat=True)),
        "activities": [
            (a.kind, a.actor_label, {k: v for k, v in a.data.items() if k != "submission_id"})
            for a in Activity.objects.filter(contact=contact).order_by("id")
        ],
        "submission": {
            name: getattr(submission, name)
            for name in [
                "status",
                "spam_reason",
                "payload",
                "values",
                "ip",
                "user_agent",
                "page_url",
                "referrer",
                "utm",
                "visitor_id",
            ]
        },
        "consents": list(
            ConsentRecord.objects.filter(contact=contact).values_list(
                "field_name", "text", "version", "ip", "page_url"
            )
        ),
        "ledger": list(
            ConsentEntry.objects.filter(contact=contact)
            .order_by("id")
            .values_list("purpose", "status", "text", "version", "source", "ip", "actor_label")
        ),
    }


def submit_both_ways(form, settings, fields_fast, fields_orm):
    """Submit once with the fast path allowed, once without; check which path ran."""
    public = PublicClient(form)
    settings.LEADFLOW_CAPTURE_FAST_PATH = True
    with CaptureQueriesContext(connection) as fast_queries:
        assert public.submit(fields_fast, submission_id=uuid.uuid4()).status_code == 201
    settings.LEADFLOW_CAPTURE_FAST_PATH = False
    with CaptureQueriesContext(connection) as orm_queries:
        assert public.submit(fields_orm, submission_id=uuid.uuid4()).status_code == 201
    used_fast = any("WITH gate AS" in q["sql"] for q in fast_queries.captured_queries)
    assert used_fast == (connection.vendor == "postgresql")
    assert not any("WITH gate AS" in q["sql"] for q in orm_queries.captured_queries)
    return len(fast_queries.captured_queries), len(orm_queries.captured_queries)


@pytest.mark.parametrize("variant", ["corporate", "free-mail with company name", "minimal"])
def test_both_paths_store_the_same_rows(lead_form, settings, variant):
    from leadflow.capture.services import form_update
    from leadflow.core.actors import Actor

    # Custom fields take the ORM path; compare on a form without them.
    fields = [f for f in lead_form.fields if not f.get("maps_to", "").startswith("custom")]
    form_update(
        workspace=lead_form.workspace,
        form_id=lead_form.pk,
        actor=Actor.system(),
        data={"fields": [*fields, {"name": "company", "type": "text", "maps_to": "company"}]},
    )
    lead_form.refresh_from_db()
    if variant == "corporate":
        fast = good_fields(email="fast@initech-labs.co.uk", team_size=None)
        orm = good_fields(email="orm@initech-labs.co.uk", team_size=None)
    elif variant == "free-mail with company name":
        fast = good_fields(email="fast@gmail.com", company="Globex", team_size=None)
        orm = good_fields(email="orm@gmail.com", company="Globex", team_size=None)
    else:
        fast = {"email": "fast@hooli.io", "interest": "Demo", "consent": True}
        orm = {"email": "orm@hooli.io", "interest": "Demo", "consent": True}
    for fields_ in (fast, orm):
        fields_.pop("team_size", None)
    fast_count, orm_count = submit_both_ways(lead_form, settings, fast, orm)
    if connection.vendor == "postgresql":
        assert fast_count < orm_count
    a, b = snapshot(fast["email"]), snapshot(orm["email"])
    for part in (a, b):
        part["contact"]["email"] = part["contact"]["email"].split("@")[1]
        part["contact"]["search_text"] = part["contact"]["search_text"].split("@")[1]
        part["submission"]["payload"].pop("email")
        part["submission"]["values"].pop("email")
        for _, _, data in part["activities"]:
            data.get("values", {}).pop("email", None)
    assert a == b
    assert [row[:2] + row[4:5] for row in a["ledger"]] == [("marketing_email", "granted", "form")]
    # Both leads of one variant belong to one company (matched, not duplicated).
    assert Contact.objects.values("company").distinct().count() == 1


def test_a_returning_lead_takes_the_orm_path_and_keeps_its_stage(public, workspace):
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor

    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "jane@initech.com", "lifecycle_stage": "customer"},
    )
    assert public.submit().status_code == 201
    contact = Contact.objects.get(email="jane@initech.com")
    assert contact.lifecycle_stage == "customer"
    assert Submission.objects.get().contact == contact
