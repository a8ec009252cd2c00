"""The lifecycle rules of docs/lifecycle.md, one test per rule, through every entry point
that moves a stage: a form submission, a lead source's webhook, the API upsert, the API
PATCH, the contact page and the bulk action."""

import json
from itertools import product

import pytest
from django.test import Client

from leadflow.capture import services as capture_services
from leadflow.contacts import services
from leadflow.contacts.models import STAGE_RANK, Activity, Contact, LifecycleStage
from leadflow.core.actors import Actor
from leadflow.inbound import services as inbound_services
from tests.capture.conftest import PublicClient
from tests.inbound.conftest import leadflow_headers, post
from tests.web.conftest import url

FUNNEL = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"]
PARKED = ["nurture", "disqualified"]


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def submit(workspace, owner_actor, api):
    """Send a new lead with ``email`` asking for ``stage`` through one entry point that
    takes new submissions: a form, a lead source (webhook) or the API upsert."""
    forms, sources = {}, {}

    def by_form(email: str, stage: str) -> None:
        if stage not in forms:
            forms[stage] = capture_services.form_create(
                workspace=workspace,
                actor=owner_actor,
                data={
                    "name": f"Form giving {stage}",
                    "fields": [
                        {"name": "email", "type": "email", "label": "Email", "maps_to": "email"}
                    ],
                    "lifecycle_stage": stage,
                    "min_fill_seconds": 0,
                },
            )
        response = PublicClient(forms[stage]).submit({"email": email})
        assert response.status_code == 201, response.content

    def by_lead_source(email: str, stage: str) -> None:
        if stage not in sources:
            sources[stage] = inbound_services.lead_source_create(
                workspace=workspace,
                actor=owner_actor,
                data={
                    "format": "generic",
                    "name": f"Ads giving {stage}",
                    "mapping": {"fields": {"email": "email"}},
                    "default_lifecycle_stage": stage,
                },
            )
        body = json.dumps({"email": email}).encode()
        source = sources[stage]
        response = post(source, body, leadflow_headers(body, source.secret))
        assert response.status_code in (200, 201), response.content

    def by_api_upsert(email: str, stage: str) -> None:
        response = api.post("/contacts", {"email": email, "lifecycle_stage": stage})
        assert response.status_code in (200, 201), response.content

    return {"form": by_form, "lead source": by_lead_source, "API upsert": by_api_upsert}


ENTRY_POINTS = ["form", "lead source", "API upsert"]


def known(workspace, email: str, stage: str) -> Contact:
    contact = services.contact_upsert(
        workspace=workspace, data={"email": email}, actor=Actor.system()
    ).contact
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=stage)
    return contact


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stage_of(contact: Contact) -> str:
    contact.refresh_from_db()
    return contact.lifecycle_stage


def test_the_funnel_order_lives_on_the_lifecycle_stage():
    assert [stage for stage, _ in sorted(STAGE_RANK.items(), key=lambda item: item[1])] == FUNNEL
    assert [LifecycleStage.funnel_rank(stage) for stage in FUNNEL] == list(range(6))
    assert all(LifecycleStage.funnel_rank(stage) is None for stage in PARKED)


@pytest.mark.parametrize(("current", "requested"), list(product(LifecycleStage.values, repeat=2)))
def test_a_submission_moves_only_forward_inside_the_funnel(current, requested):
    inside = current in FUNNEL and requested in FUNNEL
    expected = inside and FUNNEL.index(requested) > FUNNEL.index(current)
    assert LifecycleStage.submission_moves(current, requested) is expected


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_rule_1_a_new_contact_starts_at_the_stage_its_entry_point_gives(entry, submit, workspace):
    submit[entry]("new@initech.com", "mql")
    contact = Contact.objects.get(workspace=workspace, email="new@initech.com")
    assert contact.lifecycle_stage == "mql"


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_rule_2_a_submission_moves_a_known_contact_forward_and_says_why(entry, submit, workspace):
    contact = known(workspace, "ann@initech.com", "lead")
    submit[entry]("ann@initech.com", "sql")
    assert stage_of(contact) == "sql"
    change = Activity.objects.get(contact=contact, kind="stage.changed")
    assert (change.data["from"], change.data["to"]) == ("lead", "sql")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_rule_3_a_submission_never_moves_a_contact_back(entry, submit, workspace):
    contact = known(workspace, "ann@initech.com", "customer")
    submit[entry]("ann@initech.com", "lead")
    submit[entry]("ann@initech.com", "subscriber")
    assert stage_of(contact) == "customer"
    assert not Activity.objects.filter(contact=contact, kind="stage.changed").exists()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("parked", PARKED)
def test_rule_4_a_submission_never_takes_a_parked_contact_back_into_the_funnel(
    entry, parked, submit, workspace
):
    contact = known(workspace, "ann@initech.com", parked)
    submit[entry]("ann@initech.com", "mql")
    assert stage_of(contact) == parked
    assert not Activity.objects.filter(contact=contact, kind="stage.changed").exists()
    # The submission itself is on the timeline for the owner to see.
    assert Activity.objects.filter(contact=contact).exclude(kind="contact.created").exists()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("parked", PARKED)
def test_rule_5_a_submission_never_parks_a_known_contact(entry, parked, submit, workspace):
    contact = known(workspace, "ann@initech.com", "mql")
    submit[entry]("ann@initech.com", parked)
    assert stage_of(contact) == "mql"


def test_rule_6_an_upsert_that_keeps_the_stage_says_so_on_the_timeline(workspace, api):
    contact = known(workspace, "ann@initech.com", "mql")
    response = api.post("/contacts", {"email": "ann@initech.com", "lifecycle_stage": "lead"})
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "mql"
    updated = Activity.objects.get(contact=contact, kind="contact.updated")
    assert updated.data["stage_kept"] == {"requested": "lead", "kept": "mql"}


def test_rule_6_the_new_contact_form_on_a_known_email_does_not_downgrade_it(owner, workspace):
    owner_client = logged_in(owner)
    contact = known(workspace, "ann@initech.com", "mql")
    response = owner_client.post(
        url(workspace, "contacts/new/"),
        {"email": "ann@initech.com", "lifecycle_stage": "lead", "temperature": "cold"},
    )
    assert response.status_code == 302
    assert stage_of(contact) == "mql"
    page = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert "Stage kept at Marketing-qualified lead" in page


def test_rule_7_an_explicit_edit_may_move_back_and_the_move_is_recorded_as_backward(
    workspace, api, owner
):
    owner_client = logged_in(owner)
    contact = known(workspace, "ann@initech.com", "sql")
    response = api.patch(f"/contacts/{contact.pk}", {"lifecycle_stage": "lead"})
    assert response.status_code == 200
    assert stage_of(contact) == "lead"
    change = Activity.objects.get(contact=contact, kind="stage.changed")
    assert change.data == {"from": "sql", "to": "lead", "direction": "backward"}
    page = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert "Moved back in the funnel" in page


@pytest.mark.parametrize(
    ("before", "after", "direction"),
    [
        ("lead", "mql", "forward"),
        ("mql", "subscriber", "backward"),
        ("sql", "disqualified", "parked"),
        ("nurture", "mql", "reopened"),
    ],
)
def test_rule_7_every_explicit_move_names_its_direction(
    before, after, direction, workspace, owner_actor
):
    contact = known(workspace, "ann@initech.com", before)
    services.contact_update(
        workspace=workspace,
        contact_id=contact.pk,
        data={"lifecycle_stage": after},
        actor=owner_actor,
    )
    change = Activity.objects.get(contact=contact, kind="stage.changed")
    assert change.data["direction"] == direction


def test_rule_7_the_bulk_action_records_where_each_contact_came_from(workspace, owner_actor):
    customer = known(workspace, "c@initech.com", "customer")
    subscriber = known(workspace, "s@initech.com", "subscriber")
    services.contacts_bulk_action(
        workspace=workspace,
        contact_ids=[customer.pk, subscriber.pk],
        action="set_stage",
        value="lead",
        actor=owner_actor,
    )
    changes = {
        activity.contact_id: activity.data
        for activity in Activity.objects.filter(kind="stage.changed")
    }
    assert changes[customer.pk] == {
        "from": "customer",
        "to": "lead",
        "direction": "backward",
        "bulk": True,
    }
    assert changes[subscriber.pk]["direction"] == "forward"
