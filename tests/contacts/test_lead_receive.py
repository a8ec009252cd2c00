"""lead_receive: the one way a lead arrives (decision 0019), on both of its paths.

On PostgreSQL a new lead known by email takes the one-statement fast path; the tests that
compare paths run each case with the fast path allowed and refused, and say which ran.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.activity_log import ANNOUNCEMENT_SUBSCRIBERS
from leadflow.contacts.kind_writers import FORM_SUBMITTED_FIELDS, form_submitted_data
from leadflow.contacts.models import Activity, Contact, Tag
from leadflow.contacts.services import (
    Arrival,
    consent_status_set,
    contact_upsert,
    lead_receive,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed

ON_POSTGRES = connection.vendor == "postgresql"
CAPTURE_KEYS = {"form_id", "form", "submission_id", "page_url", "referrer", "utm", "values"}
LEAD_SOURCE_KEYS = {"form", "lead_source_id", "lead_source", "delivery_id", "lead_id", "values"}


def arrival(**changes) -> Arrival:
    values = {"email": "ann@initech.com", "plan": "Pro"}
    submitted = form_submitted_data(
        form_id=7,
        form="Contact us",
        submission_id="5f0c0a4e-0000-4000-8000-000000000001",
        page_url="https://www.acme-widgets.com/contact",
        referrer="",
        utm={"utm_source": "google"},
        values=values,
    )
    fields = {
        "actor": Actor.system("form: Contact us"),
        "submitted": submitted,
        "stage": "mql",
        "stage_reason": "form Contact us",
        "consent_granted": True,
    }
    return Arrival(**{**fields, **changes})


LEAD = {
    "email": "Ann@Initech.com",
    "first_name": "Ann",
    "source": "google",
    "medium": "cpc",
    "channel": "paid_search",
    "tags": ["webinar"],
}


@pytest.fixture(params=["fast allowed", "fast refused"])
def fast_allowed(request, settings):
    settings.LEADFLOW_CAPTURE_FAST_PATH = request.param == "fast allowed"
    return settings.LEADFLOW_CAPTURE_FAST_PATH


def test_a_new_lead_gets_the_arrivals_stage_consent_tags_and_one_arrival_activity(
    workspace, fast_allowed
):
    received = lead_receive(workspace=workspace, contact=LEAD, arrival=arrival())
    assert received.created
    assert received.fast == (fast_allowed and ON_POSTGRES)
    contact = received.contact
    assert contact.email == "ann@initech.com"
    assert (contact.lifecycle_stage, contact.consent_status) == ("mql", "granted")
    assert (contact.first_touch_source, contact.last_touch_channel) == ("google", "paid_search")
    assert contact.company.domain == "initech.com"
    assert list(contact.tags.values_list("name", flat=True)) == ["webinar"]
    kinds = list(
        Activity.objects.filter(contact=contact).order_by("id").values_list("kind", "data")
    )
    assert kinds == [
        ("contact.created", {"tags": ["webinar"]}),
        ("form.submitted", arrival().submitted),
    ]
    assert set(kinds[1][1]) == CAPTURE_KEYS


def test_a_known_contact_moves_forward_only_and_keeps_its_owner(
    workspace, owner, make_member, fast_allowed
):
    seller = make_member("sales")
    known = contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "ann@initech.com", "lifecycle_stage": "subscriber", "owner_id": owner.pk},
    ).contact
    received = lead_receive(
        workspace=workspace, contact=LEAD, arrival=arrival(default_owner_id=seller.user_id)
    )
    assert not received.created and not received.fast
    assert received.contact_id == known.pk
    known.refresh_from_db()
    assert (known.lifecycle_stage, known.owner_id) == ("mql", owner.pk)
    moved = Activity.objects.get(contact=known, kind="stage.changed")
    assert moved.data == {"from": "subscriber", "to": "mql", "reason": "form Contact us"}
    # A customer who fills a form stays a customer, and no stage change is recorded.
    Contact.objects.filter(pk=known.pk).update(lifecycle_stage="customer")
    lead_receive(workspace=workspace, contact=LEAD, arrival=arrival())
    known.refresh_from_db()
    assert known.lifecycle_stage == "customer"
    assert Activity.objects.filter(contact=known, kind="stage.changed").count() == 1
    assert Activity.objects.filter(contact=known, kind="form.submitted").count() == 2


def test_consent_is_granted_unless_confirmed_already(workspace):
    known = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "ann@initech.com"}
    ).contact
    lead_receive(workspace=workspace, contact=LEAD, arrival=arrival())
    known.refresh_from_db()
    assert known.consent_status == "granted"
    assert Activity.objects.filter(contact=known, kind="consent.changed").count() == 1
    consent_status_set(
        workspace=workspace,
        contact=known,
        status="confirmed",
        actor=Actor.system("double opt-in"),
        source="double_opt_in",
    )
    lead_receive(workspace=workspace, contact=LEAD, arrival=arrival())
    known.refresh_from_db()
    assert known.consent_status == "confirmed"
    latest = known.consent_entries.order_by("-id").first()
    assert (latest.status, latest.source) == ("confirmed", "lead_source")
    assert "Granted again" in latest.note
    # An arrival without consent leaves a new lead's consent unknown.
    other = {**LEAD, "email": "bob@initech.com"}
    received = lead_receive(
        workspace=workspace, contact=other, arrival=arrival(consent_granted=False)
    )
    assert received.contact.consent_status == "unknown"


def test_the_default_owner_is_given_only_while_a_member(workspace, make_member, fast_allowed):
    seller = make_member("sales")
    received = lead_receive(
        workspace=workspace, contact=LEAD, arrival=arrival(default_owner_id=seller.user_id)
    )
    assert received.owner_id == seller.user_id == received.contact.owner_id
    seller.delete()
    other = {**LEAD, "email": "bob@initech.com"}
    received = lead_receive(
        workspace=workspace, contact=other, arrival=arrival(default_owner_id=seller.user_id)
    )
    assert received.owner_id is None and received.contact.owner_id is None


def test_bad_values_name_each_field_and_write_nothing(workspace, fast_allowed):
    with pytest.raises(ValidationFailed) as failure, transaction.atomic():
        lead_receive(
            workspace=workspace,
            contact={"email": "not an email", "first_name": 5},
            arrival=arrival(),
        )
    assert {error.field for error in failure.value.errors} == {"email", "first_name"}
    assert not Contact.objects.exists() and not Activity.objects.exists()


def test_a_new_tag_is_created_on_either_path(workspace, fast_allowed):
    assert not Tag.objects.filter(workspace=workspace, name="brand-new").exists()
    lead = {**LEAD, "tags": ["brand-new"]}
    received = lead_receive(workspace=workspace, contact=lead, arrival=arrival())
    assert list(received.contact.tags.values_list("name", flat=True)) == ["brand-new"]


@pytest.mark.skipif(not ON_POSTGRES, reason="the fast path is PostgreSQL's")
def test_the_fast_path_announces_the_activities_it_inserts(
    workspace, settings, django_capture_on_commit_callbacks
):
    settings.LEADFLOW_CAPTURE_FAST_PATH = True
    heard = []
    ANNOUNCEMENT_SUBSCRIBERS.append(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            received = lead_receive(workspace=workspace, contact=LEAD, arrival=arrival())
    finally:
        ANNOUNCEMENT_SUBSCRIBERS.remove(heard.append)
    assert received.fast
    highest = Activity.objects.filter(contact_id=received.contact_id).order_by("-id").first()
    assert [(a.workspace_id, a.contact_ids, a.up_to_id) for a in heard] == [
        (workspace.pk, frozenset({received.contact_id}), highest.pk)
    ]


def test_the_writer_keeps_its_named_keys_over_an_ad_networks_attribution():
    data = form_submitted_data(
        attribution={"ad_id": "1", "values": "spoofed", "form": "spoofed"},
        form="Facebook lead form Spring",
        lead_source_id=3,
        lead_source="Facebook ads",
        delivery_id=9,
        lead_id="L1",
        values={"email": "ann@initech.com"},
    )
    assert data["form"] == "Facebook lead form Spring"
    assert data["values"] == {"email": "ann@initech.com"}
    assert set(data) - {"ad_id"} == LEAD_SOURCE_KEYS
    assert set(data) - {"ad_id"} <= set(FORM_SUBMITTED_FIELDS)


@pytest.mark.parametrize(
    "path",
    [
        "form JSON",
        "form JSON, fast path allowed",
        "form HTML",
        "inbound webhook",
        "inbound webhook, fast path allowed",
    ],
)
def test_every_way_in_writes_one_arrival_with_the_writers_keys(
    lead_form, make_source, team_size_field, settings, path
):
    """Whatever the door, a new lead has one ``form.submitted`` whose keys are the typed
    writer's (the capture group for a form, the lead source group for a webhook)."""
    settings.LEADFLOW_CAPTURE_FAST_PATH = path.endswith("fast path allowed")
    fields = {"email": "ann@initech.com", "interest": "Demo", "consent": True}
    with CaptureQueriesContext(connection) as queries:
        expected = arrive(path, lead_form, make_source, fields)
    fast_ran = any("WITH gate AS" in query["sql"] for query in queries.captured_queries)
    assert fast_ran == (path.endswith("fast path allowed") and ON_POSTGRES)
    (contact,) = Contact.objects.all()
    arrivals = Activity.objects.filter(contact=contact, kind="form.submitted")
    assert arrivals.count() == 1
    assert set(arrivals.get().data) == expected
    assert Activity.objects.filter(contact=contact, kind="contact.created").count() == 1


def arrive(path, lead_form, make_source, fields) -> set[str]:
    """Send one new lead through ``path``; the keys its arrival activity must have."""
    from django.test import Client

    from tests.capture.conftest import PublicClient
    from tests.inbound.conftest import GENERIC_MAPPING, leadflow_headers, post, sample_bytes

    if path.startswith("form JSON"):
        assert PublicClient(lead_form).submit(fields).status_code == 201
        expected = CAPTURE_KEYS
    elif path == "form HTML":
        response = Client(REMOTE_ADDR="198.51.100.4").post(
            f"/f/{lead_form.key}",
            {**fields, "consent": "1", "_lf_hp": ""},
            headers={"Origin": "https://www.acme-widgets.com"},
        )
        assert response.status_code == 201
        expected = CAPTURE_KEYS
    else:  # the custom field of the full mapping takes the general path
        mapping = GENERIC_MAPPING
        if path.endswith("fast path allowed"):
            mapping = {**mapping, "fields": {"contact.email": "email", "contact.name": "full_name"}}
        source = make_source("generic", mapping=mapping)
        body = sample_bytes("generic_lead")
        assert post(source, body, leadflow_headers(body, source.secret)).status_code == 201
        expected = LEAD_SOURCE_KEYS | {"campaign"}  # the source's mapped attribution
    return expected


@pytest.fixture
def lead_form(workspace, owner_actor):
    from leadflow.capture.services import form_create
    from tests.capture.conftest import lead_form_fields

    # No custom field on this form: a new lead by email may take the fast path.
    fields = [f for f in lead_form_fields() if not f.get("maps_to", "").startswith("custom")]
    return form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Book a demo", "fields": fields, "min_fill_seconds": 0, "tags": ["demo"]},
    )


@pytest.fixture
def make_source(workspace, owner_actor):
    from leadflow.inbound.services import lead_source_create

    def make(source_format: str, **data):
        return lead_source_create(
            workspace=workspace,
            data={"format": source_format, "name": "Partner portal", **data},
            actor=owner_actor,
        )

    return make


@pytest.fixture
def team_size_field(workspace):
    from leadflow.contacts.models import CustomField

    return CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )
